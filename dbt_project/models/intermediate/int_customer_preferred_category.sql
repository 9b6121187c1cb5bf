{#
    Each customer's preferred category: the product category with the highest net spend (sales
    less returns, both channels); a tie goes to the category name first in alphabetical order.
    Lines of skus missing from the product master have no category and are left out.
#}
with

sales_lines as (

    select * from {{ ref('int_sales_lines') }}
    where customer_key is not null

),

products as (

    select * from {{ ref('stg_silver__products') }}

),

category_spend as (

    select
        sales_lines.customer_key,
        products.category,
        sum(sales_lines.net_amount) as net_spend
    from sales_lines
    inner join products
        on sales_lines.sku = products.sku
    group by sales_lines.customer_key, products.category

),

ranked as (

    select
        *,
        row_number() over (partition by customer_key order by net_spend desc, category) as category_rank
    from category_spend

),

preferred as (

    select
        customer_key,
        category as preferred_category
    from ranked
    where category_rank = 1

)

select * from preferred
