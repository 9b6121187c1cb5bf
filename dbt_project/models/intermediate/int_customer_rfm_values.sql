{#
    Recency, frequency and monetary value of every customer with at least one purchase on or
    before a snapshot date, for each snapshot this run writes (a revision):

    - known_at: the run's landing date L (rfm_snapshot_date); only sales lines as known at L count
      (int_sales_line_versions), so rerunning L at any later time scores exactly what L scored;
    - snapshot_date: L and the restatement_days() business dates before it, each revised with the
      late data delivered by L;
    - recency_days: days from the last purchase (business date of a sale line) to the snapshot;
    - frequency: distinct purchase orders and store baskets (orders with a sale line);
    - monetary: net amount of all sales lines, returns deducted.

    Customer keys go through the identity merges known at L (two merges deep, as
    int_customer_key_map): a merge found later restates the snapshots known from its date on.
    Lines dated after the snapshot date are ignored.
#}
with

sales_line_versions as (

    select * from {{ ref('int_sales_line_versions') }}

),

merges as (

    select * from {{ ref('stg_silver__customer_key_merges') }}

),

known_at as (

    select {{ rfm_snapshot_date(ref('int_sales_line_versions')) }} as known_at

),

merges_known as (

    select merges.*
    from merges
    {% if run_landing_date() %}
    cross join known_at
    where merges.merged_on <= known_at.known_at
    {% endif %}

),

key_map_known as (

    select
        first_merge.merged_key,
        coalesce(second_merge.surviving_key, first_merge.surviving_key) as surviving_key
    from merges_known as first_merge
    left join merges_known as second_merge
        on first_merge.surviving_key = second_merge.merged_key

),

snapshots as (

    {% for days_back in range(restatement_days() + 1) %}
    select
        cast({{ dbt.dateadd('day', -days_back, 'known_at') }} as date) as snapshot_date,
        known_at
    from known_at
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

lines_known as (

    select
        coalesce(key_map_known.surviving_key, sales_line_versions.customer_key) as customer_key,
        sales_line_versions.line_type,
        sales_line_versions.order_id,
        sales_line_versions.net_amount,
        sales_line_versions.business_date,
        known_at.known_at
    from sales_line_versions
    cross join known_at
    left join key_map_known
        on sales_line_versions.customer_key = key_map_known.merged_key
    {% if run_landing_date() %}
    where sales_line_versions.known_from <= known_at.known_at
        and (sales_line_versions.known_to is null or sales_line_versions.known_to > known_at.known_at)
    {% else %}
    where sales_line_versions.known_to is null
    {% endif %}

),

-- Per person and business date: their sales lines' net amount and whether one was a sale; and the
-- orders counted from that date on (an order counts from the first business date of its sale lines).
daily_lines as (

    select
        customer_key,
        business_date,
        known_at,
        max(case when line_type = 'sale' then 1 else 0 end) as has_sale,
        sum(net_amount) as net_amount
    from lines_known
    where customer_key is not null
    group by customer_key, business_date, known_at

),

first_sales as (

    select
        customer_key,
        order_id,
        known_at,
        min(business_date) as first_sale_date
    from lines_known
    where customer_key is not null
        and line_type = 'sale'
        and order_id is not null
    group by customer_key, order_id, known_at

),

daily_orders as (

    select
        customer_key,
        first_sale_date as business_date,
        known_at,
        count(*) as orders
    from first_sales
    group by customer_key, first_sale_date, known_at

),

daily as (

    select
        daily_lines.customer_key,
        daily_lines.business_date,
        daily_lines.known_at,
        case when daily_lines.has_sale = 1 then daily_lines.business_date end as purchase_date,
        coalesce(daily_orders.orders, 0) as orders,
        daily_lines.net_amount
    from daily_lines
    left join daily_orders
        on daily_lines.customer_key = daily_orders.customer_key
        and daily_lines.business_date = daily_orders.business_date
        and daily_lines.known_at = daily_orders.known_at

),

-- Every snapshot holds all that is dated before the earliest one: added up once, not per snapshot.
first_snapshot as (

    select min(snapshot_date) as snapshot_date from snapshots

),

before_snapshots as (

    select
        daily.customer_key,
        daily.known_at,
        max(daily.purchase_date) as last_purchase_date,
        sum(daily.orders) as frequency,
        sum(daily.net_amount) as monetary
    from daily
    cross join first_snapshot
    where daily.business_date < first_snapshot.snapshot_date
    group by daily.customer_key, daily.known_at

),

within_snapshots as (

    select
        daily.customer_key,
        snapshots.snapshot_date,
        daily.known_at,
        max(daily.purchase_date) as last_purchase_date,
        sum(daily.orders) as frequency,
        sum(daily.net_amount) as monetary
    from daily
    cross join first_snapshot
    inner join snapshots
        on daily.business_date <= snapshots.snapshot_date
    where daily.business_date >= first_snapshot.snapshot_date
    group by daily.customer_key, snapshots.snapshot_date, daily.known_at

),

parts as (

    select
        before_snapshots.customer_key,
        snapshots.snapshot_date,
        before_snapshots.known_at,
        before_snapshots.last_purchase_date,
        before_snapshots.frequency,
        before_snapshots.monetary
    from before_snapshots
    cross join snapshots

    union all

    select * from within_snapshots

),

customer_values as (

    select
        customer_key,
        snapshot_date,
        known_at,
        max(last_purchase_date) as last_purchase_date,
        cast(sum(frequency) as bigint) as frequency,
        sum(monetary) as monetary
    from parts
    group by customer_key, snapshot_date, known_at

),

buyers as (

    select
        snapshot_date,
        known_at,
        customer_key,
        last_purchase_date,
        {{ dbt.datediff('last_purchase_date', 'snapshot_date', 'day') }} as recency_days,
        frequency,
        monetary
    from customer_values
    where frequency > 0

)

select * from buyers
