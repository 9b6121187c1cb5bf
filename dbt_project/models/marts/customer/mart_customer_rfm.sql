{#
    RFM scores and segment per customer and snapshot date. Scores are quintiles (ntile(5)) over
    the customers of the snapshot, 5 the best: R by recency_days descending (most recent last, so
    5), F by frequency and M by monetary ascending; ties are broken by customer_key so a rerun
    gives the same scores. The segment comes from the R and F scores (macro rfm_segment).
#}
with

customer_values as (

    select * from {{ ref('int_customer_rfm_values') }}

),

scored as (

    select
        *,
        ntile(5) over (partition by snapshot_date order by recency_days desc, customer_key) as r_score,
        ntile(5) over (partition by snapshot_date order by frequency, customer_key) as f_score,
        ntile(5) over (partition by snapshot_date order by monetary, customer_key) as m_score
    from customer_values

),

segmented as (

    select
        *,
        {{ dbt.concat([
            "cast(r_score as " ~ dbt.type_string() ~ ")",
            "cast(f_score as " ~ dbt.type_string() ~ ")",
            "cast(m_score as " ~ dbt.type_string() ~ ")"
        ]) }} as rfm_cell,
        {{ rfm_segment('r_score', 'f_score') }} as segment
    from scored

),

final as (

    select
        cast(snapshot_date as date) as snapshot_date,
        cast(customer_key as {{ dbt.type_string() }}) as customer_key,
        cast(last_purchase_date as date) as last_purchase_date,
        cast(recency_days as int) as recency_days,
        cast(frequency as bigint) as frequency,
        cast(monetary as decimal(14, 2)) as monetary,
        cast(r_score as int) as r_score,
        cast(f_score as int) as f_score,
        cast(m_score as int) as m_score,
        cast(rfm_cell as {{ dbt.type_string() }}) as rfm_cell,
        cast(segment as {{ dbt.type_string() }}) as segment
    from segmented

)

select * from final
