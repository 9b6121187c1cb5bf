{#
    Weekly sales by region and category for partners, k-anonymous: every published row covers
    at least var partner_min_customers (k, default 10) distinct known customers.

    - week_start: the Monday of the line's business date; region: the state of the line's
      location (the store, or the online fulfilment location), 'online' when an online line has
      none; category: the product's, 'unknown' for a sku missing from the product master.
    - A (week, region, category) group with fewer than k distinct customers is merged into the
      week and region's 'other' category; when 'other' itself still has fewer than k distinct
      customers it is suppressed (not published). Customers are counted again after merging (a
      customer in two merged categories counts once).
    - Only known customers count towards k: anonymous baskets and unresolved buyers add to the
      sales figures but never make a group publishable.
#}
{%- set k = partner_min_customers() %}
with

sales as (

    select * from {{ ref('fct_sales') }}

),

products as (

    select * from {{ ref('stg_silver__products') }}

),

locations as (

    select * from {{ ref('stg_silver__locations') }}

),

lines as (

    select
        cast({{ dbt.date_trunc('week', 'sales.business_date') }} as date) as week_start,
        coalesce(locations.state, case when sales.location_id is null then 'online' else 'unknown' end) as region,
        coalesce(products.category, 'unknown') as category,
        sales.customer_key,
        sales.order_id,
        sales.line_type,
        sales.quantity,
        sales.net_amount
    from sales
    left join products
        on sales.sku = products.sku
    left join locations
        on sales.location_id = locations.location_id

),

grouped_lines as (

    {{ k_grouped('lines', ['week_start', 'region'], 'category', k) }}

),

aggregated as (

    select
        week_start,
        region,
        published_category as category,
        count(distinct category) as categories,
        count(distinct customer_key) as customers,
        count(distinct case when line_type = 'sale' then order_id end) as baskets,
        sum(case when line_type = 'sale' then quantity else 0 end) as units_sold,
        sum(net_amount) as net_sales
    from grouped_lines
    group by week_start, region, published_category

),

final as (

    select
        cast(week_start as date) as week_start,
        cast(region as {{ dbt.type_string() }}) as region,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(categories as int) as categories,
        cast(customers as bigint) as customers,
        cast(baskets as bigint) as baskets,
        cast(units_sold as bigint) as units_sold,
        cast(net_sales as decimal(14, 2)) as net_sales
    from aggregated
    where customers >= {{ k }}

)

select * from final
