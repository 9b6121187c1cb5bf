with

source as (

    select * from {{ silver_source('order_lines') }}

),

renamed as (

    select

        -- ids
        order_id,
        line_id,
        sku,

        -- numerics
        cast(quantity as int) as quantity,
        cast(refunded_quantity as int) as refunded_quantity,
        cast(unit_price as decimal(12, 2)) as unit_price,
        cast(discount_amount as decimal(12, 2)) as discount_amount,
        cast(net_amount as decimal(12, 2)) as net_amount,

        -- booleans
        is_known_sku,

        -- dates
        cast(business_date as date) as business_date

    from source

)

select * from renamed
