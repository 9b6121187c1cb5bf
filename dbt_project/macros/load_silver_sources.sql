{#
    DuckDB only: load every silver source (delta-rs -> Arrow -> a view in schema silver) before
    the models run, one after the other. dbt-duckdb otherwise loads a source while the first model
    using it compiles, and parallel loads race on creating the schema and on the list of
    registered Arrow tables. The sources' save_mode is `ignore`, so a staging model does not load
    its source again (each load opens the Delta table and replays its log); the hook first drops
    schema silver, so a view left by an earlier process (a bare `dbt build` on the warehouse) is
    not taken for this run's. The sources the event mirror stands for (macros/event_mirror.sql) are
    not loaded when the run reads the mirror, nor those the silver mirror holds (macros/silver_mirror.sql).
#}
{% macro load_silver_sources() %}
    {% if execute and target.type == 'duckdb' %}
        {% do run_query('drop schema if exists silver cascade') %}
        {% set mirrored = (['events', 'event_attribution'] if event_mirror() else []) + silver_mirrored() %}
        {% for node in graph.sources.values() if node.source_name == 'silver' and node.name not in mirrored %}
            {% for model in graph.nodes.values() if node.unique_id in model.depends_on.nodes %}
                {% if loop.first %}
                    {% do source(node.source_name, node.name) %}
                {% endif %}
            {% endfor %}
        {% endfor %}
    {% endif %}
    select 1
{% endmacro %}
