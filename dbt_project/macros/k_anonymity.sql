{#
    k-anonymity of the partner marts: one rule, so every published aggregate applies it the same way.

    partner_min_customers(): k, the var partner_min_customers (default 10); below 1 is refused.

    k_grouped(relation, within, group_column, k): the rows of `relation` with
    `published_<group_column>`: the row's own group when its (within..., group) group has at least
    k distinct customer_key, 'other' otherwise. The mart then aggregates by the published group
    and keeps only groups of at least k distinct customers, which suppresses an 'other' still
    below k (customers are counted again after merging: one in two merged groups counts once).
#}
{% macro partner_min_customers() -%}
    {%- set k = var('partner_min_customers') | int -%}
    {%- if k < 1 -%}
        {{ exceptions.raise_compiler_error("partner_min_customers must be 1 or more, got " ~ k) }}
    {%- endif -%}
    {{- return(k) -}}
{%- endmacro %}


{% macro k_grouped(relation, within, group_column, k) -%}
    {%- set keys = within + [group_column] -%}
    select
        grouped.*,
        case when group_customers.customers >= {{ k }} then grouped.{{ group_column }} else 'other' end
            as published_{{ group_column }}
    from {{ relation }} as grouped
    inner join (
        select
            {{ keys | join(', ') }},
            count(distinct customer_key) as customers
        from {{ relation }}
        group by {{ keys | join(', ') }}
    ) as group_customers
        on {% for column in keys %}grouped.{{ column }} = group_customers.{{ column }}{% if not loop.last %}
        and {% endif %}{% endfor %}
{%- endmacro %}
