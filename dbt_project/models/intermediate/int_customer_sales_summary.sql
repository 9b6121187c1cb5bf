{#
    One row per customer with a counted sales line: orders and net revenue per channel, the first
    and last purchase, and the share of the list value given away as discounts.
#}
with

sales_lines as (

    select * from {{ ref('int_sales_lines') }}
    where customer_key is not null

),

summarised as (

    select
        customer_key,

        count(distinct case when channel = 'online' and line_type = 'sale' then order_id end) as online_orders,
        count(distinct case when channel = 'store' and line_type = 'sale' then order_id end) as store_orders,
        sum(case when channel = 'online' then net_amount else 0 end) as online_revenue,
        sum(case when channel = 'store' then net_amount else 0 end) as store_revenue,

        sum(case when line_type = 'sale' then quantity * unit_price else 0 end) as gross_sales_amount,
        sum(case when line_type = 'sale' then discount_amount else 0 end) as sales_discount_amount,

        min(case when line_type = 'sale' then transacted_at end) as first_purchase_at,
        max(case when line_type = 'sale' then transacted_at end) as last_purchase_at,
        min(transacted_at) as first_sales_line_at,
        max(transacted_at) as last_sales_line_at

    from sales_lines
    group by customer_key

),

with_shares as (

    select
        *,
        {{ safe_divide('sales_discount_amount', 'gross_sales_amount') }} as discount_share,
        {{ safe_divide('online_orders', 'online_orders + store_orders') }} as online_order_share
    from summarised

)

select * from with_shares
