{#
    numerator / denominator as a double, null when the denominator is 0 or null (never an error,
    on DuckDB and Spark alike).
#}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0))
{%- endmacro %}
