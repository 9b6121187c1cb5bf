"""The unusual-access rule in the gold gate: no reader returns more personal rows a day than allowed.

One row per reader and UTC day (yesterday and today) of ``omnilake sql`` access entries in the audit
trail (``omnilake.governance.access_audit``), with the personal rows returned; a ``warn`` check
bounds them by ``OMNILAKE_ACCESS_PERSONAL_ROWS_PER_DAY``. A warning, not a failure: who read the
marts says nothing about the marts, and analysts keep reading yesterday's while it is looked into.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from quality import expectations
from quality.checks import GateContext, Suite, warn

E = expectations
SUITE = "gold.access"
CHECK = "personal_rows_per_reader_per_day"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def access_suite() -> Suite:
    from omnilake.governance.access_audit import access_entries, personal_rows_threshold, reader_days

    def data(ctx: GateContext) -> str | None:
        if not ctx.lake.root.is_local:
            return None
        since = datetime.now(UTC).date() - timedelta(days=1)
        days = reader_days(access_entries(ctx.lake, since))
        if not days:
            return "select null::varchar as reader, null::date as day, 0::bigint as personal_rows where false"
        values = ", ".join(
            f"({_literal(d.reader)}, date '{d.day.isoformat()}', {int(d.personal_rows)}::bigint)"
            for d in days
        )
        return f"select * from (values {values}) as access(reader, day, personal_rows)"

    return Suite(
        name=SUITE,
        checks=(
            warn(
                CHECK,
                E.ExpectColumnValuesToBeBetween(
                    column="personal_rows", min_value=0, max_value=personal_rows_threshold()
                ),
                notes="Unusual access: one reader returning more personal rows in a UTC day than "
                "OMNILAKE_ACCESS_PERSONAL_ROWS_PER_DAY through omnilake sql.",
            ),
        ),
        data=data,
        engine="duckdb",
        row_id=("reader", "day"),
        unit="reader-days",
        description="omnilake sql access per reader and day, from the audit trail",
    )
