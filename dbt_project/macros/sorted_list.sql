{#
    The values of `column` in a group, sorted and joined with `delimiter`. dbt's
    listagg cannot promise the order on Spark (collect_list has none), so Spark sorts the
    collected array instead.
#}
{% macro sorted_list(column, delimiter=',') -%}
    {{ return(adapter.dispatch('sorted_list', 'omnilake')(column, delimiter)) }}
{%- endmacro %}

{% macro default__sorted_list(column, delimiter) -%}
    {{ dbt.listagg(column, "'" ~ delimiter ~ "'", 'order by ' ~ column) }}
{%- endmacro %}

{% macro spark__sorted_list(column, delimiter) -%}
    array_join(array_sort(collect_list({{ column }})), '{{ delimiter }}')
{%- endmacro %}
