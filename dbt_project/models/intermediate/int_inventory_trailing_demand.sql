{#
    Units sold over the trailing window (var `cover_window_days`, default 28 days, the snapshot
    day included) for every inventory position, both as known at the run's landing date.
#}
with

positions as (

    select * from {{ ref('int_inventory_available') }}

),

daily_demand as (

    select * from {{ ref('int_inventory_daily_demand') }}

),

units_in_window as (

    select
        positions.snapshot_date,
        positions.sku,
        positions.location_id,
        coalesce(sum(daily_demand.units_sold), 0) as units_sold_window
    from positions
    left join daily_demand
        on positions.sku = daily_demand.sku
        and positions.location_id = daily_demand.location_id
        and daily_demand.business_date <= positions.snapshot_date
        and daily_demand.business_date > cast({{ dbt.dateadd('day', -var('cover_window_days'), 'positions.snapshot_date') }} as date)
    group by positions.snapshot_date, positions.sku, positions.location_id

)

select * from units_in_window
