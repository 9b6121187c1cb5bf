{#
    The customer tags that follow from one value each (macros, so that mart_customer_tags writes
    them the same way whether it computes a row or carries it forward, int_customer_tag_carried_rows).
#}

{% macro customer_tag_purchase_frequency(f_score) -%}
    case
        when {{ f_score }} is null then 'none'
        when {{ f_score }} >= 4 then 'frequent'
        when {{ f_score }} >= 2 then 'repeat'
        else 'one_time'
    end
{%- endmacro %}


{% macro customer_tag_recency_band(recency_days) -%}
    case
        when {{ recency_days }} is null then null
        when {{ recency_days }} <= 30 then 'active'
        when {{ recency_days }} <= 90 then 'cooling'
        when {{ recency_days }} <= 180 then 'lapsing'
        else 'lapsed'
    end
{%- endmacro %}


{% macro customer_tag_value_tier(m_score) -%}
    case
        when {{ m_score }} is null then null
        when {{ m_score }} = 5 then 'top'
        when {{ m_score }} = 4 then 'high'
        when {{ m_score }} = 3 then 'medium'
        else 'low'
    end
{%- endmacro %}


{% macro customer_tag_is_churn_risk(segment) -%}
    coalesce({{ segment }} in ('At Risk', 'Cannot Lose Them', 'About To Sleep'), false)
{%- endmacro %}


{# the journey stage rank purchases alone give: loyalty from two orders, purchase from one #}
{% macro customer_tag_purchase_stage_rank(orders) -%}
    case
        when {{ orders }} >= 2 then 5
        when {{ orders }} = 1 then 4
        else 0
    end
{%- endmacro %}


{# Purchases place everyone on the journey; the browsing stages need profiling consent. #}
{% macro customer_tag_lifecycle_stage_rank(profiling_consent, deepest_stage_rank, purchase_stage_rank) -%}
    case
        when {{ profiling_consent }} and {{ deepest_stage_rank }} > {{ purchase_stage_rank }} then {{ deepest_stage_rank }}
        else {{ purchase_stage_rank }}
    end
{%- endmacro %}


{% macro customer_tag_lifecycle_stage(rank) -%}
    case {{ rank }}
        when 1 then 'awareness'
        when 2 then 'interest'
        when 3 then 'decision'
        when 4 then 'purchase'
        when 5 then 'loyalty'
    end
{%- endmacro %}


{% macro customer_tag_engagement_level(sessions_30d) -%}
    case
        when {{ sessions_30d }} >= 4 then 'high'
        when {{ sessions_30d }} >= 2 then 'medium'
        when {{ sessions_30d }} = 1 then 'low'
        else 'none'
    end
{%- endmacro %}
