with

source as (

    select * from {{ source('silver', 'events') }}

),

renamed as (

    select

        -- ids
        message_id as event_id,
        session_id,
        customer_key,
        product_sku as sku,
        order_id,

        -- strings
        event_type,
        event_name,
        journey_stage,
        channel,
        device_type,
        page_path,

        -- numerics
        cast(revenue as decimal(12, 2)) as revenue,

        -- dates
        cast(event_date as date) as event_date,
        cast(coalesce(received_on, event_date) as date) as received_on,

        -- timestamps
        cast(event_at as timestamp) as event_at

    from source

)

select * from renamed
