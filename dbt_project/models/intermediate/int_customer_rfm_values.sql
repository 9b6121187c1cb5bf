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

lines_to_date as (

    select
        lines_known.*,
        snapshots.snapshot_date
    from lines_known
    inner join snapshots
        on lines_known.business_date <= snapshots.snapshot_date
    where lines_known.customer_key is not null

),

customer_values as (

    select
        customer_key,
        snapshot_date,
        known_at,
        max(case when line_type = 'sale' then business_date end) as last_purchase_date,
        count(distinct case when line_type = 'sale' then order_id end) as frequency,
        sum(net_amount) as monetary
    from lines_to_date
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
