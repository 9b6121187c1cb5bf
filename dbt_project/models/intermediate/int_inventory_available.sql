{#
    Inventory positions with their location and what can be promised to a new order:
    available_to_sell_qty = greatest(on_hand_qty - reserved_qty, 0), where a position the store
    system did not count (on_hand_qty null) has nothing available and a missing reservation
    counts as none.
#}
with

positions as (

    select * from {{ ref('stg_silver__inventory_positions') }}

),

locations as (

    select * from {{ ref('stg_silver__locations') }}

),

joined as (

    select
        positions.snapshot_date,
        positions.sku,
        positions.location_id,
        locations.location_type,
        locations.city,
        locations.state,
        positions.on_hand_qty,
        coalesce(positions.reserved_qty, 0) as reserved_qty,
        greatest(coalesce(positions.on_hand_qty, 0) - coalesce(positions.reserved_qty, 0), 0) as available_to_sell_qty,
        positions.listed_qty,
        positions.deviation_qty,
        positions.is_known_sku
    from positions
    left join locations
        on positions.location_id = locations.location_id

)

select * from joined
