{#
    One row per sku x location x day as known last: of each snapshot date's revisions
    (mart_inventory_position_revisions), the one with the latest known_at. "As known at L" is
    inventory_position_as_known_at(L).
#}
with

latest as (

    {{ latest_revision(ref('mart_inventory_position_revisions'), 'snapshot_date') }}

),

final as (

    select
        snapshot_date,
        sku,
        location_id,
        location_type,
        city,
        on_hand_qty,
        reserved_qty,
        available_to_sell_qty,
        listed_qty,
        deviation_qty,
        units_sold_28d,
        days_of_cover,
        is_stockout,
        is_oversell_risk,
        nearby_stores_with_stock,
        nearby_store_ids,
        is_known_sku
    from latest

)

select * from final
