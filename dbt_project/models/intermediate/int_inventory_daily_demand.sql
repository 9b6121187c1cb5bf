{#
    Units sold per sku, location and business date: the demand that days of cover is computed
    from. A store's demand is its own till sales. Online orders carry no fulfilment location in
    silver, so every warehouse (any location that is not a store) is given the whole online demand
    for the sku: a conservative (short) cover when there are several warehouses. Returns do not
    reduce demand. As known at the run's landing date: the sales line versions known then.

    Only the business dates of the trailing window (var cover_window_days) of a snapshot date the
    run revises (int_inventory_available), the only ones int_inventory_trailing_demand sums.
#}
with

sales_line_versions as (

    select * from {{ ref('int_sales_line_versions') }}

),

known_at as (

    select {{ run_known_at(ref('int_sales_line_versions'), 'known_from') }} as known_at

),

known_sales_lines as (

    select sales_line_versions.*
    from sales_line_versions
    cross join known_at
    where sales_line_versions.line_type = 'sale'
        and {{ version_known_at('sales_line_versions.known_from', 'sales_line_versions.known_to', 'known_at.known_at') }}

),

revised_snapshot_dates as (

    select distinct snapshot_date
    from {{ ref('int_inventory_available') }}

),

demand_dates as (

    select distinct business_dates.business_date
    from (select distinct business_date from known_sales_lines) as business_dates
    inner join revised_snapshot_dates
        on business_dates.business_date <= revised_snapshot_dates.snapshot_date
        and business_dates.business_date > cast({{ dbt.dateadd('day', -var('cover_window_days'), 'revised_snapshot_dates.snapshot_date') }} as date)

),

sales_lines as (

    select known_sales_lines.*
    from known_sales_lines
    inner join demand_dates
        on known_sales_lines.business_date = demand_dates.business_date

),

locations as (

    select * from {{ ref('stg_silver__locations') }}

),

store_demand as (

    select
        sku,
        location_id,
        business_date,
        sum(quantity) as units_sold
    from sales_lines
    where channel = 'store'
    group by sku, location_id, business_date

),

online_demand as (

    select
        sku,
        business_date,
        sum(quantity) as units_sold
    from sales_lines
    where channel = 'online'
    group by sku, business_date

),

warehouse_demand as (

    select
        online_demand.sku,
        locations.location_id,
        online_demand.business_date,
        online_demand.units_sold
    from online_demand
    cross join locations
    where locations.location_type != 'store'

),

unioned as (

    select * from store_demand
    union all
    select * from warehouse_demand

)

select * from unioned
