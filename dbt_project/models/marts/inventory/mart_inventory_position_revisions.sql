{#
    Every revision of every day's inventory positions: a run for landing date L writes, known at
    L, the positions of each snapshot date of its lateness window (restatement_days() dates before
    L, and later) and of any older date a part of whose positions arrived on L (macro is_revised),
    from the positions and sales known at L (int_inventory_available holds the positions of exactly
    those dates; int_inventory_daily_demand).
    Revisions accumulate (delete+insert on known_at); mart_inventory_position is each day's latest.

    One row per sku x location x day. available_to_sell_qty = greatest(on_hand_qty - reserved_qty, 0)
    (see int_inventory_available); days_of_cover = on_hand_qty / average daily units sold over the
    trailing window (var cover_window_days, 28), null without sales in the window.
#}
with

available as (

    select * from {{ ref('int_inventory_available') }}

),

trailing_demand as (

    select * from {{ ref('int_inventory_trailing_demand') }}

),

nearby_stock as (

    select * from {{ ref('int_inventory_nearby_stock') }}

),

joined as (

    select
        available.*,
        trailing_demand.units_sold_window,
        {{ safe_divide('trailing_demand.units_sold_window', var('cover_window_days')) }} as avg_daily_units,
        coalesce(nearby_stock.nearby_stores_with_stock, 0) as nearby_stores_with_stock,
        nearby_stock.nearby_store_ids
    from available
    left join trailing_demand
        on available.snapshot_date = trailing_demand.snapshot_date
        and available.sku = trailing_demand.sku
        and available.location_id = trailing_demand.location_id
    left join nearby_stock
        on available.snapshot_date = nearby_stock.snapshot_date
        and available.sku = nearby_stock.sku
        and available.location_id = nearby_stock.location_id

),

flagged as (

    select
        *,
        case
            when on_hand_qty <= 0 then 0
            else {{ safe_divide('on_hand_qty', 'avg_daily_units') }}
        end as days_of_cover,
        available_to_sell_qty = 0 as is_stockout,
        coalesce(listed_qty > available_to_sell_qty, false) as is_oversell_risk
    from joined

),

final as (

    select
        cast(snapshot_date as date) as snapshot_date,
        cast(known_at as date) as known_at,
        cast(sku as {{ dbt.type_string() }}) as sku,
        cast(location_id as {{ dbt.type_string() }}) as location_id,
        cast(location_type as {{ dbt.type_string() }}) as location_type,
        cast(city as {{ dbt.type_string() }}) as city,
        cast(on_hand_qty as int) as on_hand_qty,
        cast(reserved_qty as int) as reserved_qty,
        cast(available_to_sell_qty as int) as available_to_sell_qty,
        cast(listed_qty as int) as listed_qty,
        cast(deviation_qty as int) as deviation_qty,
        cast(units_sold_window as int) as units_sold_28d,
        cast(round(days_of_cover, 1) as double) as days_of_cover,
        cast(is_stockout as boolean) as is_stockout,
        cast(is_oversell_risk as boolean) as is_oversell_risk,
        cast(nearby_stores_with_stock as int) as nearby_stores_with_stock,
        cast(nearby_store_ids as {{ dbt.type_string() }}) as nearby_store_ids,
        cast(is_known_sku as boolean) as is_known_sku
    from flagged

)

select * from final
where {{ unrecorded('final.known_at') }}
