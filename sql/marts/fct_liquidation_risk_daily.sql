-- One row per (date, asset): how much leverage is stacked up and how exposed it is to a move.
-- Components, each scaled to 0..1 at the `*_full` value of seed_risk_model and weighted:
-- funding z-score, open-interest z-score (30 days), OI / market cap, share of OI within 10% of
-- estimated long liquidation, long/short account ratio, OI / exchange reserves. A missing
-- component is left out and the other weights renormalised. See docs/methodology.md.
with p as (select * from staging.seed_risk_model),

base as (
    select
        d.date,
        d.asset,
        d.open_interest_usd,
        d.funding_rate_annualized,
        d.long_short_ratio,
        a.market_cap_usd,
        a.close_usd,
        f.reserve_usd
    from marts.fct_derivatives_daily as d
    join marts.fct_asset_daily as a on a.date = d.date and a.asset = d.asset
    left join marts.fct_exchange_flows_daily as f on f.date = d.date and f.asset = d.asset
),

stats as (
    select
        b.*,
        avg(funding_rate_annualized) over w30 as funding_mean,
        stddev_samp(funding_rate_annualized) over w30 as funding_sd,
        count(funding_rate_annualized) over w30 as funding_n,
        avg(open_interest_usd) over w30 as oi_mean,
        stddev_samp(open_interest_usd) over w30 as oi_sd,
        count(open_interest_usd) over w30 as oi_n
    from base as b
    window w30 as (partition by asset order by date range between interval 29 days preceding and current row)
),

levels as (
    select
        l.date,
        l.asset,
        sum(l.est_notional_usd) filter (where l.side = 'long' and l.price_level >= b.close_usd * 0.95) as long_5,
        sum(l.est_notional_usd) filter (where l.side = 'long' and l.price_level >= b.close_usd * 0.90) as long_10,
        sum(l.est_notional_usd) filter (where l.side = 'long' and l.price_level >= b.close_usd * 0.80) as long_20,
        sum(l.est_notional_usd) filter (where l.side = 'short' and l.price_level <= b.close_usd * 1.05) as short_5,
        sum(l.est_notional_usd) filter (where l.side = 'short' and l.price_level <= b.close_usd * 1.10) as short_10,
        sum(l.est_notional_usd) filter (where l.side = 'short' and l.price_level <= b.close_usd * 1.20) as short_20
    from marts.fct_liquidation_levels as l
    join base as b on b.date = l.date and b.asset = l.asset
    group by l.date, l.asset
),

measures as (
    select
        s.date,
        s.asset,
        s.open_interest_usd,
        s.open_interest_usd / nullif(s.market_cap_usd, 0) as oi_to_market_cap,
        s.open_interest_usd / nullif(s.reserve_usd, 0) as estimated_leverage_ratio,
        case when s.funding_n >= p.min_history_days and s.funding_sd > 0
            then (s.funding_rate_annualized - s.funding_mean) / s.funding_sd end as funding_z_30d,
        case when s.oi_n >= p.min_history_days and s.oi_sd > 0
            then (s.open_interest_usd - s.oi_mean) / s.oi_sd end as oi_z_30d,
        s.long_short_ratio,
        coalesce(l.long_5, 0) as est_long_liq_usd_5pct,
        coalesce(l.long_10, 0) as est_long_liq_usd_10pct,
        coalesce(l.long_20, 0) as est_long_liq_usd_20pct,
        coalesce(l.short_5, 0) as est_short_liq_usd_5pct,
        coalesce(l.short_10, 0) as est_short_liq_usd_10pct,
        coalesce(l.short_20, 0) as est_short_liq_usd_20pct
    from stats as s
    cross join p
    left join levels as l on l.date = s.date and l.asset = s.asset
),

components as (
    select m.date, m.asset, c.name, c.weight, least(greatest(c.value / c.full_at, 0), 1) as scaled, c.label
    from measures as m
    cross join p
    cross join lateral (
        values
            ('funding_z', p.weight_funding_z, m.funding_z_30d, p.funding_z_full,
                format('funding z {:+.1f}', m.funding_z_30d)),
            ('oi_z', p.weight_oi_z, m.oi_z_30d, p.oi_z_full,
                format('open interest z {:+.1f}', m.oi_z_30d)),
            ('oi_to_cap', p.weight_oi_to_cap, m.oi_to_market_cap, p.oi_to_cap_full,
                format('OI {:.1f}% of market cap', 100 * m.oi_to_market_cap)),
            ('liq10_share', p.weight_liq10_share,
                m.est_long_liq_usd_10pct / nullif(m.open_interest_usd, 0), p.liq10_share_full,
                format('{:.0f}% of OI within 10% of long liquidation',
                    100 * m.est_long_liq_usd_10pct / nullif(m.open_interest_usd, 0))),
            ('long_short', p.weight_long_short, m.long_short_ratio - 1, p.long_short_full - 1,
                format('long/short accounts {:.2f}', m.long_short_ratio)),
            ('leverage_ratio', p.weight_leverage_ratio, m.estimated_leverage_ratio,
                p.leverage_ratio_full,
                format('OI {:.0f}% of exchange reserves', 100 * m.estimated_leverage_ratio))
    ) as c(name, weight, value, full_at, label)
    where c.value is not null
),

scores as (
    select
        date,
        asset,
        100 * sum(weight * scaled) / sum(weight) as risk_score,
        string_agg(label, '; ' order by weight * scaled desc) filter (where scaled > 0) as drivers
    from components
    group by date, asset
)

select
    m.date,
    m.asset,
    m.open_interest_usd,
    m.oi_to_market_cap,
    m.estimated_leverage_ratio,
    m.funding_z_30d,
    m.oi_z_30d,
    m.long_short_ratio,
    m.est_long_liq_usd_5pct,
    m.est_long_liq_usd_10pct,
    m.est_long_liq_usd_20pct,
    m.est_short_liq_usd_5pct,
    m.est_short_liq_usd_10pct,
    m.est_short_liq_usd_20pct,
    round(s.risk_score, 1) as risk_score,
    case
        when s.risk_score >= p.tier_extreme then 'extreme'
        when s.risk_score >= p.tier_high then 'high'
        when s.risk_score >= p.tier_elevated then 'elevated'
        else 'low'
    end as risk_tier,
    array_to_string(list_slice(string_split(coalesce(s.drivers, ''), '; '), 1, 3), '; ') as top_drivers
from measures as m
cross join p
left join scores as s on s.date = m.date and s.asset = m.asset
order by m.date, m.asset
