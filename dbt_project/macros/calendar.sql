{#
    Calendar helpers in portable SQL (dbt's cross-database macros only), so the models compile for
    DuckDB and Spark alike.

    day_of_week(date_expr): 0 Monday .. 6 Sunday, counted from Monday 1900-01-01 (no adapter's own
    dayofweek, whose numbering differs: DuckDB 0 = Sunday, Spark 1 = Sunday).
#}
{% macro day_of_week(date_expr) -%}
    ({{ dbt.datediff("cast('1900-01-01' as date)", "cast(" ~ date_expr ~ " as date)", "day") }} % 7)
{%- endmacro %}


{# true on Saturday and Sunday. #}
{% macro is_weekend(date_expr) -%}
    ({{ day_of_week(date_expr) }} >= 5)
{%- endmacro %}


{#
    The part of the day of a timestamp (its hour as stored, UTC): night 0-5, morning 6-11,
    afternoon 12-17, evening 18-23.
#}
{% macro part_of_day(timestamp_expr) -%}
    case
        when extract(hour from {{ timestamp_expr }}) < 6 then 'night'
        when extract(hour from {{ timestamp_expr }}) < 12 then 'morning'
        when extract(hour from {{ timestamp_expr }}) < 18 then 'afternoon'
        else 'evening'
    end
{%- endmacro %}
