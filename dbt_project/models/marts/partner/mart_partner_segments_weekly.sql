{#
    Weekly RFM segment counts by region for partners, k-anonymous like mart_partner_sales_weekly
    (var partner_min_customers, k, default 10).

    - A week's counts are those of its latest RFM snapshot (mart_customer_rfm); week_start is that
      snapshot's Monday.
    - region: the state of the customer's home store (dim_customer), 'online' without one.
    - A segment with fewer than k customers in a week and region is merged into that week and
      region's 'other' segment; 'other' with fewer than k customers is suppressed.
#}
{%- set k = partner_min_customers() %}
with

rfm as (

    select * from {{ ref('mart_customer_rfm') }}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

locations as (

    select * from {{ ref('stg_silver__locations') }}

),

weeks as (

    select
        cast({{ dbt.date_trunc('week', 'snapshot_date') }} as date) as week_start,
        max(snapshot_date) as snapshot_date
    from rfm
    group by cast({{ dbt.date_trunc('week', 'snapshot_date') }} as date)

),

scored as (

    select
        weeks.week_start,
        weeks.snapshot_date,
        rfm.customer_key,
        rfm.segment,
        coalesce(locations.state, case when customers.home_store_id is null then 'online' else 'unknown' end) as region
    from rfm
    inner join weeks
        on rfm.snapshot_date = weeks.snapshot_date
    left join customers
        on rfm.customer_key = customers.customer_key
    left join locations
        on customers.home_store_id = locations.location_id

),

grouped as (

    {{ k_grouped('scored', ['week_start', 'region'], 'segment', k) }}

),

aggregated as (

    select
        week_start,
        max(snapshot_date) as snapshot_date,
        region,
        published_segment as segment,
        count(distinct segment) as segments,
        count(distinct customer_key) as customers
    from grouped
    group by week_start, region, published_segment

),

final as (

    select
        cast(week_start as date) as week_start,
        cast(snapshot_date as date) as snapshot_date,
        cast(region as {{ dbt.type_string() }}) as region,
        cast(segment as {{ dbt.type_string() }}) as segment,
        cast(segments as int) as segments,
        cast(customers as bigint) as customers
    from aggregated
    where customers >= {{ k }}

)

select * from final
