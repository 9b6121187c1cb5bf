{#
    Revisions of dated marts: one design for every snapshot a run writes "as known at" its landing
    date (see macros/run_context.sql for the run parameters).

    run_known_at(relation, column): the landing date the run's revisions are known at, as a SQL
    date: the run's landing date L when set, otherwise the latest value of `column` in `relation`
    (a bare `dbt build` reads everything, as known at its last knowledge date).
#}
{% macro run_known_at(relation, column) -%}
    {%- set landing_date = run_landing_date() -%}
    {%- if landing_date -%}
        cast('{{ landing_date }}' as date)
    {%- else -%}
        (select max({{ column }}) from {{ relation }})
    {%- endif -%}
{%- endmacro %}


{#
    known_by(knowledge_date, known_at): the condition "became known on or before known_at", true
    for every row of a bare build (no landing date: everything delivered counts).
#}
{% macro known_by(knowledge_date, known_at) -%}
    {%- if run_landing_date() -%}
        {{ knowledge_date }} <= {{ known_at }}
    {%- else -%}
        {{ knowledge_date }} is not null
    {%- endif -%}
{%- endmacro %}


{#
    is_revised(snapshot_date, known_at, has_news): whether the run known at `known_at` writes a
    revision of the snapshot of `snapshot_date`: a snapshot of the lateness window (the
    restatement_days() business dates before known_at, and any later), or an older one whose own
    data received something on known_at (`has_news`, a boolean expression). A snapshot of one day
    depends mostly on that day's data, so revising it when its data arrives costs one day and loses
    nothing late; what other days' late data changes in it (e.g. the trailing demand behind an
    inventory position's days of cover) is restated within the window only.
#}
{% macro is_revised(snapshot_date, known_at, has_news) -%}
    ({{ snapshot_date }} >= cast({{ dbt.dateadd('day', -restatement_days(), known_at) }} as date)
        or {{ has_news }})
{%- endmacro %}


{#
    latest_revision(revisions, snapshot_column): the rows of each snapshot's latest revision (the
    greatest known_at) of a revisions relation, the view analysts read by default. "As known at L"
    is the same over the revisions with known_at on or before L (the warehouse's *_as_known_at(L)
    table macros, omnilake.publish).

    In an incremental run of the mart (not a full refresh, not a recompute), only the snapshots
    this run revised (those with a revision known at the run's landing date): a snapshot's latest
    revision changes only when it gets a new one, so the mart replaces just those snapshots
    (delete+insert on the snapshot column; on Spark a dynamic partition overwrite) and equals the
    whole recompute.
#}
{% macro latest_revision(revisions, snapshot_column) -%}
    select revisions.*
    from {{ revisions }} as revisions
    inner join (
        select
            {{ snapshot_column }},
            max(known_at) as known_at
        from {{ revisions }}
        {% if revised_only() %}
        where {{ snapshot_column }} in (
            select revised.{{ snapshot_column }}
            from {{ revisions }} as revised
            where revised.known_at = {{ run_known_at(revisions, 'known_at') }}
        )
        {% endif %}
        group by {{ snapshot_column }}
    ) as latest_revisions
        on revisions.{{ snapshot_column }} = latest_revisions.{{ snapshot_column }}
        and revisions.known_at = latest_revisions.known_at
{%- endmacro %}


{#
    revised_only(): whether this run of an incremental latest-revision mart replaces only the
    snapshots revised by this run: an incremental run that is not a recompute (the `recompute`
    run parameter, set by `omnilake rebuild`, recomputes the mart from every revision).
#}
{% macro revised_only() -%}
    {{ return(is_incremental() and not (run_parameter('recompute', '') | string | lower in ['1', 'true'])) }}
{%- endmacro %}


{#
    version_known_at(known_from, known_to, known_at): the condition "this version was the one known
    at known_at" for a relation of versions valid from known_from until known_to (exclusive; null
    while current). A bare build (no landing date) reads the current versions.
#}
{% macro version_known_at(known_from, known_to, known_at) -%}
    {%- if run_landing_date() -%}
        {{ known_from }} <= {{ known_at }} and ({{ known_to }} is null or {{ known_to }} > {{ known_at }})
    {%- else -%}
        {{ known_to }} is null
    {%- endif -%}
{%- endmacro %}


{#
    unrecorded(known_at): the condition "no revision known at `known_at` is recorded yet". What was
    known at a landing date does not change afterwards, so a revision once recorded is kept as it
    is: rerunning a landing date after later ones reproduces it, even where silver has since
    overwritten a row in place (an order line's sku, an event's attribution). `--full-refresh`
    (`omnilake rebuild`) recomputes every revision from silver as it is now.
#}
{% macro unrecorded(known_at) -%}
    {%- if is_incremental() -%}
        {{ known_at }} not in (select distinct recorded.known_at from {{ this }} as recorded)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
