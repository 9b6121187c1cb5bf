{#
    Online order lines the store system's stock could not cover: one row per online sale line
    whose units went beyond the physical on-hand of its location on the day it was accepted.

    - Location: the line's fulfilment location (fct_sales location_id); a line without one is
      placed at the warehouse when there is exactly one non-store location (the web shop ships
      from it, as int_inventory_daily_demand assumes), and left out otherwise.
    - Judged only on a day the store system counted the location (any sku with an on_hand_qty):
      a sku it did not count there that day has nothing on hand; a day it sent nothing for the
      location says nothing about its stock, so its lines are not judged.
    - The day's online lines of a sku at a location take the counted on-hand in the order they
      were accepted (transacted_at, then sales_line_id); the first line whose running total passes
      it, and every later one, is an incident, short by the units beyond the on-hand (at most its
      own quantity).
#}
with

sales as (

    select * from {{ ref('fct_sales') }}
    where channel = 'online'
        and line_type = 'sale'

),

positions as (

    select * from {{ ref('mart_inventory_position') }}

),

locations as (

    select * from {{ ref('stg_silver__locations') }}

),

products as (

    select * from {{ ref('stg_silver__products') }}

),

sole_warehouse as (

    select max(location_id) as location_id
    from locations
    where location_type != 'store'
    having count(*) = 1

),

counted_days as (

    select distinct
        location_id,
        snapshot_date
    from positions
    where on_hand_qty is not null

),

placed as (

    select
        sales.*,
        coalesce(sales.location_id, sole_warehouse.location_id) as placed_location_id,
        sales.location_id is null as is_location_inferred
    from sales
    left join sole_warehouse
        on 1 = 1

),

accepted as (

    select
        placed.sales_line_id,
        placed.order_id,
        placed.sku,
        placed.placed_location_id as location_id,
        placed.is_location_inferred,
        placed.business_date,
        placed.transacted_at,
        placed.quantity,
        positions.on_hand_qty,
        positions.listed_qty,
        coalesce(positions.on_hand_qty, 0) as covering_qty,
        sum(placed.quantity) over (
            partition by placed.sku, placed.placed_location_id, placed.business_date
            order by placed.transacted_at, placed.sales_line_id
            rows between unbounded preceding and current row
        ) as running_qty
    from placed
    inner join counted_days
        on placed.placed_location_id = counted_days.location_id
        and placed.business_date = counted_days.snapshot_date
    left join positions
        on placed.sku = positions.sku
        and placed.placed_location_id = positions.location_id
        and placed.business_date = positions.snapshot_date

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
        cast(incidents.is_location_inferred as boolean) as is_location_inferred,
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
