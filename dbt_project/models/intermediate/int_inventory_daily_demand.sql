{#
    Units sold per sku, location and business date: the demand that days of cover is computed
    from. A store's demand is its own till sales. Online orders carry no fulfilment location in
    silver, so every warehouse (any location that is not a store) is given the whole online demand
    for the sku: a conservative (short) cover when there are several warehouses. Returns do not
    reduce demand.
#}
with

sales_lines as (

    select * from {{ ref('int_sales_lines') }}
    where line_type = 'sale'

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
