with

source as (

    select * from {{ silver_source('pos_lines') }}

),

renamed as (

    select

        -- ids
        store_id,
        register_id,
        transaction_id,
        cast(line_no as int) as line_no,
        sku,
        customer_key,
        original_transaction_id,

        -- strings
        line_type,
        tender,

        -- numerics
        cast(quantity as int) as quantity,
        cast(unit_price as decimal(12, 2)) as unit_price,
        cast(discount_amount as decimal(12, 2)) as discount_amount,
        cast(net_amount as decimal(12, 2)) as net_amount,

        -- booleans
        is_known_sku,

        -- dates
        cast(business_date as date) as business_date,
        cast(coalesce(received_on, business_date) as date) as received_on,

        -- timestamps
        cast(transaction_at as timestamp) as transaction_at

    from source

)

select * from renamed
