{#
    The order of the journey stages, so that "reached a stage" means "went at least that deep".
#}
{% macro journey_stage_rank(stage) -%}
    case {{ stage }}
        when 'awareness' then 1
        when 'interest' then 2
        when 'decision' then 3
        when 'purchase' then 4
        when 'loyalty' then 5
    end
{%- endmacro %}
