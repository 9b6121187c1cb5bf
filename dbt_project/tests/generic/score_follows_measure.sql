{#
    A score depends only on its measure within each group of `within` columns (e.g. one RFM
    snapshot revision): one measure value never maps to two scores, and a better value never
    scores lower. `better`: 'higher' or 'lower' (recency: fewer days is better). Fails with one
    row per measure value that breaks either rule.
#}
{% test score_follows_measure(model, column_name, measure, within, better='higher') %}

{% if better not in ('higher', 'lower') %}
    {{ exceptions.raise_compiler_error("score_follows_measure: better must be 'higher' or 'lower', got " ~ better) }}
{% endif %}

with

scores_per_value as (

    select
        {{ within | join(', ') }},
        {{ measure }} as measure_value,
        min({{ column_name }}) as lowest_score,
        max({{ column_name }}) as highest_score
    from {{ model }}
    group by {{ within | join(', ') }}, {{ measure }}

),

ordered as (

    select
        *,
        max(highest_score) over (
            partition by {{ within | join(', ') }}
            order by measure_value {{ 'asc' if better == 'higher' else 'desc' }}
            rows between unbounded preceding and 1 preceding
        ) as highest_score_of_worse_values
    from scores_per_value

)

select *
from ordered
where lowest_score != highest_score
    or lowest_score < highest_score_of_worse_values

{% endtest %}
