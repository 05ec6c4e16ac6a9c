-- Funding per venue and day, annualised: rate * 24 / interval_hours * 365, averaged over the
-- day's settlements (a venue settling every 4 hours counts six settlements, each annualised).
select
    date,
    venue,
    asset,
    avg(funding_rate * 24 / interval_hours * 365) as funding_annualized,
    count(*) as n_settlements
from staging.stg_funding_rates
group by date, venue, asset
