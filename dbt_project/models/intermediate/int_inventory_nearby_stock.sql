{#
    For every inventory position, the other stores in the same city (and state) that have the
    sku available to sell that day: the stores that could fulfil an online order for it nearby.
#}
with

available as (

    select * from {{ ref('int_inventory_available') }}

),

nearby_stores as (

    select
        here.snapshot_date,
        here.sku,
        here.location_id,
        other.location_id as nearby_store_id
    from available as here
    inner join available as other
        on here.snapshot_date = other.snapshot_date
        and here.sku = other.sku
        and here.city = other.city
        and here.state = other.state
        and here.location_id != other.location_id
    where other.location_type = 'store'
        and other.available_to_sell_qty > 0

),

listed as (

    select
        snapshot_date,
        sku,
        location_id,
        count(*) as nearby_stores_with_stock,
        {{ sorted_list('nearby_store_id') }} as nearby_store_ids
    from nearby_stores
    group by snapshot_date, sku, location_id

)

select * from listed
