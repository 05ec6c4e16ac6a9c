-- Equity returns between consecutive trading days, per ticker and for the equal-weight basket.
with bars as (
    select
        date,
        ticker,
        close,
        lag(close) over (partition by ticker order by date) as prev_close,
        lag(date) over (partition by ticker order by date) as prev_date
    from staging.stg_equity_prices
),

ticker_returns as (
    select date, prev_date, ticker, close / prev_close - 1 as return_1d
    from bars
    where prev_close is not null
)

select
    date,
    min(prev_date) as prev_trading_date,
    count(*) as n_tickers,
    avg(return_1d) as basket_return_1d
from ticker_returns
group by date
