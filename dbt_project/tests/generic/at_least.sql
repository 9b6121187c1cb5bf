{#
    The column is at least `minimum` on every row (e.g. a published aggregate's distinct
    customers against the k of k-anonymity). Fails with one row per row below it; nulls fail too,
    as an unknown count cannot prove the minimum.
#}
{% test at_least(model, column_name, minimum) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} is null
    or {{ column_name }} < {{ minimum }}

{% endtest %}
