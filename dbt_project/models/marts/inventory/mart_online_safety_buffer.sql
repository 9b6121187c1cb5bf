{#
    A recommended online safety buffer per sku and location: the units the web shop should hold
    back from what the store system says is available, so that its usual over-listing no longer
    oversells. From the positions of the trailing var safety_buffer_window_days days (ending at the
    newest snapshot) that both systems reported:

        positive deviation of a day = greatest(listed_qty - on_hand_qty, 0)
        recommended_buffer_qty      = the var safety_buffer_percentile (0.95) nearest-rank
                                      percentile of those days' positive deviations: the k-th
                                      smallest, k = ceil(percentile x days observed)
        recommended_listed_qty      = greatest(newest available_to_sell_qty - buffer, 0)

    Nearest rank (not interpolation) keeps the buffer a number of units seen in the history, and
    the same on every engine.
#}
with

positions as (

    select * from {{ ref('mart_inventory_position') }}

),

newest as (

    select max(snapshot_date) as snapshot_date
    from positions

),

history as (

    select
        positions.sku,
        positions.location_id,
        positions.snapshot_date,
        case
            when positions.listed_qty > positions.on_hand_qty then positions.listed_qty - positions.on_hand_qty
            else 0
        end as positive_deviation
    from positions
    cross join newest
    where positions.listed_qty is not null
        and positions.on_hand_qty is not null
        and positions.snapshot_date > {{ dbt.dateadd('day', -var('safety_buffer_window_days'), 'newest.snapshot_date') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by sku, location_id
            order by positive_deviation, snapshot_date
        ) as deviation_rank,
        count(*) over (partition by sku, location_id) as days_observed
    from history

),

summarised as (

    select
        sku,
        location_id,
        max(days_observed) as days_observed,
        sum(case when positive_deviation > 0 then 1 else 0 end) as days_overlisted,
        max(positive_deviation) as max_positive_deviation,
        max(case
            when deviation_rank = cast(ceil({{ var('safety_buffer_percentile') }} * days_observed) as int)
                then positive_deviation
        end) as recommended_buffer_qty
    from ranked
    group by sku, location_id

),

latest_positions as (

    select positions.*
    from positions
    inner join newest
        on positions.snapshot_date = newest.snapshot_date

),

final as (

    select
        cast(newest.snapshot_date as date) as as_of_date,
        cast(summarised.sku as {{ dbt.type_string() }}) as sku,
        cast(summarised.location_id as {{ dbt.type_string() }}) as location_id,
        cast(summarised.days_observed as int) as days_observed,
        cast(summarised.days_overlisted as int) as days_overlisted,
        cast(summarised.max_positive_deviation as int) as max_positive_deviation,
        cast(summarised.recommended_buffer_qty as int) as recommended_buffer_qty,
        cast(latest_positions.available_to_sell_qty as int) as available_to_sell_qty,
        cast(case
            when latest_positions.available_to_sell_qty is null then null
            when latest_positions.available_to_sell_qty > summarised.recommended_buffer_qty
                then latest_positions.available_to_sell_qty - summarised.recommended_buffer_qty
            else 0
        end as int) as recommended_listed_qty
    from summarised
    cross join newest
    left join latest_positions
        on summarised.sku = latest_positions.sku
        and summarised.location_id = latest_positions.location_id

)

select * from final
