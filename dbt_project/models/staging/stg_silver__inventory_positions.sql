with

source as (

    select * from {{ silver_source('inventory_positions') }}

),

renamed as (

    select

        -- ids
        sku,
        location_id,

        -- numerics
        cast(on_hand_qty as int) as on_hand_qty,
        cast(listed_qty as int) as listed_qty,
        cast(reserved_qty as int) as reserved_qty,
        cast(deviation_qty as int) as deviation_qty,

        -- booleans
        is_known_sku,
        in_store_system,
        in_online_system,

        -- dates
        cast(snapshot_date as date) as snapshot_date,
        cast(case when in_online_system then coalesce(online_received_on, snapshot_date) end as date)
            as online_received_on,
        cast(case when in_store_system then coalesce(store_received_on, snapshot_date) end as date)
            as store_received_on

    from source

)

select * from renamed
