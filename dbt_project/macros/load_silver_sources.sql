{#
    DuckDB only: load every silver source (delta-rs -> Arrow -> a view in schema silver) before
    the models run, one after the other. dbt-duckdb otherwise loads a source while the first model
    using it compiles, and parallel loads race on creating the schema and on the list of
    registered Arrow tables. Each staging model later reloads only its own source.
#}
{% macro load_silver_sources() %}
    {% if execute and target.type == 'duckdb' %}
        {% for node in graph.sources.values() if node.source_name == 'silver' %}
            {% for model in graph.nodes.values() if node.unique_id in model.depends_on.nodes %}
                {% if loop.first %}
                    {% do source(node.source_name, node.name) %}
                {% endif %}
            {% endfor %}
        {% endfor %}
    {% endif %}
    select 1
{% endmacro %}
