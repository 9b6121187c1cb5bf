with

source as (

    select * from {{ silver_source('order_status_history') }}

),

renamed as (

    select

        -- ids
        order_id,

        -- strings
        order_status,
        financial_status,
        fulfillment_status,

        -- dates
        cast(received_on as date) as received_on,

        -- timestamps
        cast(changed_at as timestamp) as changed_at

    from source

)

select * from renamed
