{#
    How far the online system's stock is from the store system's, per location, category and
    day. A position is compared when both systems reported it (listed_qty and on_hand_qty not
    null); positions only one system knows are counted apart.

        deviation_rate      = compared positions where listed_qty != on_hand_qty / compared positions
        unit_deviation_rate = sum(|listed_qty - on_hand_qty|) / sum(on_hand_qty)
#}
with

positions as (

    select * from {{ ref('mart_inventory_position') }}

),

products as (

    select * from {{ ref('stg_silver__products') }}

),

classified as (

    select
        positions.snapshot_date,
        positions.location_id,
        positions.location_type,
        coalesce(products.category, 'unknown') as category,
        positions.on_hand_qty,
        positions.listed_qty,
        positions.on_hand_qty is not null and positions.listed_qty is not null as is_compared
    from positions
    left join products
        on positions.sku = products.sku

),

counted as (

    select
        snapshot_date,
        location_id,
        max(location_type) as location_type,
        category,
        sum(case when is_compared then 1 else 0 end) as compared_positions,
        sum(case when is_compared and listed_qty != on_hand_qty then 1 else 0 end) as deviating_positions,
        sum(case when is_compared and listed_qty > on_hand_qty then 1 else 0 end) as overlisted_positions,
        sum(case when listed_qty is not null and on_hand_qty is null then 1 else 0 end) as online_only_positions,
        sum(case when on_hand_qty is not null and listed_qty is null then 1 else 0 end) as store_only_positions,
        sum(case when is_compared then on_hand_qty else 0 end) as on_hand_units,
        sum(case when is_compared then listed_qty else 0 end) as listed_units,
        sum(case
            when not is_compared then 0
            when listed_qty > on_hand_qty then listed_qty - on_hand_qty
            else on_hand_qty - listed_qty
        end) as absolute_deviation_units
    from classified
    group by snapshot_date, location_id, category

),

final as (

    select
        cast(snapshot_date as date) as snapshot_date,
        cast(location_id as {{ dbt.type_string() }}) as location_id,
        cast(location_type as {{ dbt.type_string() }}) as location_type,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(compared_positions as bigint) as compared_positions,
        cast(deviating_positions as bigint) as deviating_positions,
        cast(overlisted_positions as bigint) as overlisted_positions,
        cast(online_only_positions as bigint) as online_only_positions,
        cast(store_only_positions as bigint) as store_only_positions,
        cast(on_hand_units as bigint) as on_hand_units,
        cast(listed_units as bigint) as listed_units,
        cast(absolute_deviation_units as bigint) as absolute_deviation_units,
        cast(round({{ safe_divide('deviating_positions', 'compared_positions') }}, 4) as double) as deviation_rate,
        cast(round({{ safe_divide('absolute_deviation_units', 'on_hand_units') }}, 4) as double) as unit_deviation_rate
    from counted

)

select * from final
