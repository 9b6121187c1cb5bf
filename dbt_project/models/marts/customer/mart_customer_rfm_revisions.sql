{#
    Every revision of every RFM snapshot: a run for landing date L writes the snapshot of L and
    revises the snapshots of the restatement_days() business dates before it, all known at L.
    Scores are computed within one revision (snapshot_date, known_at) from the customer's own
    measures only, 5 the best:

    - R and M: tie-aware quintiles (macro rfm_quintile_score), R ordered by recency_days
      descending, M by monetary ascending;
    - F: business thresholds on the number of orders (macro rfm_frequency_score).

    The segment comes from the R and F scores (macro rfm_segment).
#}
with

customer_values as (

    select * from {{ ref('int_customer_rfm_values') }}

),

scored as (

    select
        *,
        {{ rfm_quintile_score('recency_days desc', 'snapshot_date, known_at') }} as r_score,
        {{ rfm_frequency_score('frequency') }} as f_score,
        {{ rfm_quintile_score('monetary', 'snapshot_date, known_at') }} as m_score
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
        cast(known_at as date) as known_at,
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
where {{ unrecorded('final.known_at') }}
