with

source as (

    select * from {{ silver_source('products') }}

),

renamed as (

    select

        -- ids
        sku,

        -- strings
        product_name,
        category,
        subcategory,
        brand,

        -- numerics
        cast(list_price as decimal(12, 2)) as list_price,

        -- booleans
        is_active

    from source

)

select * from renamed
