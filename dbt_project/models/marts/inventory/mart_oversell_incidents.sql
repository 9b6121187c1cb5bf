{#
    Online order lines the store system's stock could not cover: one row per online sale line
    fulfilled from a location (fct_sales location_id; lines without one cannot be placed) whose
    units went beyond that location's physical on-hand of the day. The day's online lines of a
    sku at a location take the counted on-hand in the order they were accepted (transacted_at,
    then sales_line_id); the first line whose running total passes it, and every later one, is
    an incident, short by the units beyond the on-hand (at most its own quantity). A position
    without a physical count covers nothing.
#}
with

sales as (

    select * from {{ ref('fct_sales') }}
    where channel = 'online'
        and line_type = 'sale'
        and location_id is not null

),

positions as (

    select * from {{ ref('mart_inventory_position') }}

),

products as (

    select * from {{ ref('stg_silver__products') }}

),

accepted as (

    select
        sales.sales_line_id,
        sales.order_id,
        sales.sku,
        sales.location_id,
        sales.business_date,
        sales.transacted_at,
        sales.quantity,
        positions.on_hand_qty,
        positions.listed_qty,
        coalesce(positions.on_hand_qty, 0) as covering_qty,
        sum(sales.quantity) over (
            partition by sales.sku, sales.location_id, sales.business_date
            order by sales.transacted_at, sales.sales_line_id
            rows between unbounded preceding and current row
        ) as running_qty
    from sales
    left join positions
        on sales.sku = positions.sku
        and sales.location_id = positions.location_id
        and sales.business_date = positions.snapshot_date

),

incidents as (

    select
        *,
        running_qty - quantity as accepted_before_qty,
        case
            when running_qty - covering_qty < quantity then running_qty - covering_qty
            else quantity
        end as units_short
    from accepted
    where running_qty > covering_qty

),

final as (

    select
        cast(incidents.business_date as date) as business_date,
        cast(incidents.sales_line_id as {{ dbt.type_string() }}) as sales_line_id,
        cast(incidents.order_id as {{ dbt.type_string() }}) as order_id,
        cast(incidents.sku as {{ dbt.type_string() }}) as sku,
        cast(products.category as {{ dbt.type_string() }}) as category,
        cast(incidents.location_id as {{ dbt.type_string() }}) as location_id,
        cast(incidents.transacted_at as timestamp) as accepted_at,
        cast(incidents.quantity as int) as ordered_qty,
        cast(incidents.accepted_before_qty as int) as accepted_before_qty,
        cast(incidents.on_hand_qty as int) as on_hand_qty,
        cast(incidents.listed_qty as int) as listed_qty,
        cast(incidents.units_short as int) as units_short
    from incidents
    left join products
        on incidents.sku = products.sku

)

select * from final
