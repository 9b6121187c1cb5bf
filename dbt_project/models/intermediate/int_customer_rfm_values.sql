{#
    Recency, frequency and monetary value of every customer with at least one purchase on or
    before the snapshot date (var `snapshot_date`, default the latest business date):

    - recency_days: days from the last purchase (business date of a sale line) to the snapshot;
    - frequency: distinct purchase orders and store baskets (orders with a sale line);
    - monetary: net amount of all sales lines, returns deducted.

    Lines dated after the snapshot date are ignored, so replaying an old date scores it as it was.
#}
with

sales_lines as (

    select * from {{ ref('int_sales_lines') }}
    where customer_key is not null

),

snapshot as (

    select {{ rfm_snapshot_date(ref('int_sales_lines')) }} as snapshot_date

),

lines_to_date as (

    select
        sales_lines.*,
        snapshot.snapshot_date
    from sales_lines
    cross join snapshot
    where sales_lines.business_date <= snapshot.snapshot_date

),

customer_values as (

    select
        customer_key,
        snapshot_date,
        max(case when line_type = 'sale' then business_date end) as last_purchase_date,
        count(distinct case when line_type = 'sale' then order_id end) as frequency,
        sum(net_amount) as monetary
    from lines_to_date
    group by customer_key, snapshot_date

),

buyers as (

    select
        snapshot_date,
        customer_key,
        last_purchase_date,
        {{ dbt.datediff('last_purchase_date', 'snapshot_date', 'day') }} as recency_days,
        frequency,
        monetary
    from customer_values
    where frequency > 0

)

select * from buyers
