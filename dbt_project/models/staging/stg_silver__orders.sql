with

source as (

    select * from {{ silver_source('orders') }}

),

renamed as (

    select

        -- ids
        order_id,
        customer_key,
        location_id,

        -- strings
        order_status,
        channel_source,
        currency,

        -- numerics
        cast(discount_amount as decimal(12, 2)) as order_discount_amount,
        cast(total_amount as decimal(12, 2)) as order_total_amount,
        cast(refunded_amount as decimal(12, 2)) as order_refunded_amount,

        -- dates
        cast(business_date as date) as business_date,

        -- timestamps
        cast(created_at as timestamp) as created_at,
        cast(cancelled_at as timestamp) as cancelled_at

    from source

)

select * from renamed
