{#
    Inventory positions with their location and what can be promised to a new order:
    available_to_sell_qty = greatest(on_hand_qty - reserved_qty, 0), where a position the store
    system did not count (on_hand_qty null) has nothing available and a missing reservation
    counts as none.

    As known at the run's landing date L (known_at): each system's part of a position counts
    from the landing date it arrived on (online_received_on, store_received_on), so a store
    count delivered after L is not on hand at L, and rerunning L at any later time reads the
    same positions. has_news: a part of the position arrived on L itself.

    Only the snapshot dates the run revises (macro is_revised: the lateness window, and older
    dates a part of whose positions arrived on L): its readers feed mart_inventory_position_revisions
    alone, which writes only those dates.
#}
with

positions as (

    select * from {{ ref('stg_silver__inventory_positions') }}

),

known_at as (

    select {{ run_known_at(
        ref('stg_silver__inventory_positions'),
        'greatest(coalesce(online_received_on, store_received_on), coalesce(store_received_on, online_received_on))'
    ) }} as known_at

),

parts_known as (

    select
        positions.*,
        known_at.known_at,
        coalesce({{ known_by('positions.online_received_on', 'known_at.known_at') }}, false) as online_known,
        coalesce({{ known_by('positions.store_received_on', 'known_at.known_at') }}, false) as store_known
    from positions
    cross join known_at

),

positions_known as (

    select
        snapshot_date,
        sku,
        location_id,
        known_at,
        case when store_known then on_hand_qty end as on_hand_qty,
        case when online_known then listed_qty end as listed_qty,
        case when online_known then reserved_qty end as reserved_qty,
        case when online_known and store_known then deviation_qty end as deviation_qty,
        is_known_sku,
        (online_known and online_received_on = known_at) or (store_known and store_received_on = known_at) as has_news
    from parts_known
    where online_known or store_known

),

news_dates as (

    select distinct snapshot_date
    from positions_known
    where has_news

),

revised_positions as (

    select positions_known.*
    from positions_known
    left join news_dates
        on positions_known.snapshot_date = news_dates.snapshot_date
    where {{ is_revised('positions_known.snapshot_date', 'positions_known.known_at', 'news_dates.snapshot_date is not null') }}

),

locations as (

    select * from {{ ref('stg_silver__locations') }}

),

joined as (

    select
        positions.snapshot_date,
        positions.known_at,
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
        positions.is_known_sku,
        positions.has_news
    from revised_positions as positions
    left join locations
        on positions.location_id = locations.location_id

)

select * from joined
