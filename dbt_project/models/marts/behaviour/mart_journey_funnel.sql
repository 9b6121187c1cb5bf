{#
    Sessions per day x channel x device reaching each journey stage, and stage-to-stage
    conversion, as known last: of each session date's revisions (mart_journey_funnel_revisions),
    the one with the latest known_at. "As known at L" is journey_funnel_as_known_at(L).
#}
with

latest as (

    {{ latest_revision(ref('mart_journey_funnel_revisions'), 'session_date') }}

),

final as (

    select
        session_date,
        channel,
        device_type,
        sessions,
        awareness_sessions,
        interest_sessions,
        decision_sessions,
        purchase_sessions,
        loyalty_sessions,
        awareness_to_interest_rate,
        interest_to_decision_rate,
        decision_to_purchase_rate,
        purchase_to_loyalty_rate,
        session_conversion_rate
    from latest

)

select * from final
