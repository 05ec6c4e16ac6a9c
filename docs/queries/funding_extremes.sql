-- Where is perpetual funding furthest from its own recent normal? The 10 (asset, day) pairs of
-- the last 30 days with the largest |z| of the annualised funding rate against the asset's
-- trailing 30 days (needs 7 days of history; positive = longs paying unusually much).
with funding as (
    select
        date,
        asset,
        funding_rate_annualized,
        avg(funding_rate_annualized) over w30 as mean_30d,
        stddev_samp(funding_rate_annualized) over w30 as stddev_30d,
        count(funding_rate_annualized) over w30 as n_days_30d
    from marts.fct_derivatives_daily
    window w30 as (
        partition by asset order by date
        range between interval 29 days preceding and current row
    )
),

latest as (
    select max(date) as last_day from marts.fct_derivatives_daily
)

select
    f.date,
    f.asset,
    f.funding_rate_annualized,
    f.mean_30d as funding_mean_30d,
    (f.funding_rate_annualized - f.mean_30d) / f.stddev_30d as funding_z
from funding as f
cross join latest
where f.date > latest.last_day - interval 30 days
    and f.n_days_30d >= 7
    and f.stddev_30d > 0
order by abs(funding_z) desc, f.date desc, f.asset
limit 10;
