{#
    The combination of `columns` is unique (a composite key). dbt-utils has the same test; this
    project keeps no package dependencies so that it builds offline.
#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(',\n    ') }},
    count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
