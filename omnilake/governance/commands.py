"""The governance subcommands of ``omnilake``: ``identity explain``, ``identity split``, ``audit access``.

``omnilake.cli`` registers them with ``register``; like the rest of the CLI they print, and turn our
errors into one line through the CLI's own wrapper.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table as RichTable

console = Console()


def _day(timestamp: str | None) -> str:
    return (timestamp or "")[:10]


def _explanation_tables(explanation: Any) -> tuple[RichTable, RichTable]:
    """The identifiers with the guard's decision, then the observations that join them (each once)."""
    from omnilake.governance.identity_review import short

    identifiers = RichTable(
        "identifier", "strength", "decision", "first seen", "last seen",
        title=f"customer {explanation.customer_key}: identifiers",
    )  # fmt: skip
    observations: dict[tuple, None] = {}
    for item in explanation.identifiers:
        decision = item.decision + (" (split)" if "; split " in item.reason else "")
        identifiers.add_row(
            short(item.node), item.strength, decision, _day(item.first_seen_at), _day(item.last_seen_at)
        )
        for e in item.evidence:
            joined = tuple(sorted({short(item.node), *e.links}))
            observations[(e.source, e.kind, _day(e.first_seen_at), _day(e.last_seen_at), joined, e.named)] = (
                None
            )
    evidence = RichTable(
        "source", "kind", "first seen", "last seen", "identifiers seen together", "name",
        title="evidence: observations linking them",
    )  # fmt: skip
    for source, kind, first, last, joined, named in sorted(observations, key=lambda o: (o[2], o[0], o[4])):
        evidence.add_row(source, kind, first, last, "\n".join(joined), "yes" if named else "no")
    return identifiers, evidence


def register(app: typer.Typer, audit_app: typer.Typer, friendly: Callable[..., Any]) -> None:
    identity_app = typer.Typer(
        help="Why identity resolution joined a person's identifiers, and how to split a wrong link.",
        no_args_is_help=True,
    )
    app.add_typer(identity_app, name="identity")

    @identity_app.command("explain")
    @friendly
    def identity_explain(
        customer_key: Annotated[str | None, typer.Option(help="The person's customer_key.")] = None,
        email: Annotated[str | None, typer.Option(help="Or an e-mail of the person.")] = None,
        phone: Annotated[str | None, typer.Option(help="Or a phone of the person.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON (full pseudonyms).")] = False,
    ) -> None:
        """Every identifier of a person with the evidence that joined it and the guard's decision."""
        from omnilake.engine import get_spark
        from omnilake.governance.identity_review import explain, resolve_key
        from omnilake.lake import get_lake

        spark, lake = get_spark(), get_lake()
        key, merged = resolve_key(spark, lake, customer_key, email, phone)
        with console.status("re-observing bronze…"):
            explanation = explain(spark, lake, key, merged)
        if as_json:
            typer.echo(json.dumps(explanation.as_dict(), indent=2, ensure_ascii=False))
            return
        for table in _explanation_tables(explanation):
            console.print(table)
        from omnilake.governance.identity_review import DECISIONS

        shown = sorted({i.decision for i in explanation.identifiers})
        console.print("; ".join(f"{d}: {DECISIONS[d]}" for d in shown), highlight=False, soft_wrap=True)
        if merged:
            console.print(f"merged into it: {', '.join(merged)}", highlight=False)
        for split in explanation.splits:
            console.print(
                f"split {split['split_id']} by {split['actor']} at {split['split_at']}", highlight=False
            )

    @identity_app.command("split")
    @friendly
    def identity_split(
        customer_key: Annotated[str, typer.Option(help="The person whose identifiers are split.")],
        reason: Annotated[str, typer.Option(help="Why (kept with the rule, not in the audit trail).")],
        email: Annotated[list[str] | None, typer.Option(help="An e-mail to split off (repeatable).")] = None,
        phone: Annotated[list[str] | None, typer.Option(help="A phone to split off (repeatable).")] = None,
        identifier: Annotated[
            list[str] | None,
            typer.Option(
                help="<type>:<pseudonym> to split off, as `identity explain --json` prints (repeatable)."
            ),
        ] = None,
        actor: Annotated[str | None, typer.Option(help="Who decides; default user@host.")] = None,
        wait: Annotated[float, typer.Option(help="Seconds to wait for another run's writer lock.")] = 0.0,
    ) -> None:
        """Declare that some identifiers do not belong with the rest of a person; the next run splits them."""
        from omnilake.engine import get_spark
        from omnilake.governance.identity_review import hash_of, parse_identifier, split
        from omnilake.lake import get_lake
        from omnilake.lock import writer_lock

        spark, lake = get_spark(), get_lake()
        apart = [parse_identifier(i) for i in identifier or []]
        apart += [("email", hash_of(spark, "email", e)) for e in email or []]
        apart += [("phone", hash_of(spark, "phone", p)) for p in phone or []]
        with writer_lock(lake, wait_seconds=wait):
            receipt = split(spark, lake, customer_key, apart, reason=reason, actor=actor)
        console.print(
            f"[green]✓[/] split {receipt.split_id} recorded by {receipt.actor}: {receipt.apart} identifier(s) "
            f"leave {receipt.customer_key}, {receipt.stays} stay; the next `omnilake run` applies it "
            "(silver, then the marts)",
            highlight=False,
        )

    @audit_app.command("access")
    @friendly
    def audit_access(
        days: Annotated[int, typer.Option(help="Days to summarise, today included.")] = 7,
    ) -> None:
        """Who queried the warehouse through `omnilake sql`: per day and reader, rows and personal rows."""
        from omnilake.governance.access_audit import audit_access_command

        audit_access_command(days)
