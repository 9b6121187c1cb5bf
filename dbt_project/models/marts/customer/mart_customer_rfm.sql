{#
    RFM per customer and snapshot date as known last: of each snapshot's revisions
    (mart_customer_rfm_revisions), the one with the latest known_at. "As known at L" is the
    revision with the latest known_at on or before L (analyst macro rfm_as_known_at).
#}
with

latest as (

    {{ latest_revision(ref('mart_customer_rfm_revisions'), 'snapshot_date') }}

),

final as (

    select
        snapshot_date,
        customer_key,
        last_purchase_date,
        recency_days,
        frequency,
        monetary,
        r_score,
        f_score,
        m_score,
        rfm_cell,
        segment
    from latest

)

select * from final
