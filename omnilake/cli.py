"""The ``omnilake`` command. The only module that prints; errors become one line and exit 1."""

from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.table import Table as RichTable

from omnilake.errors import OmnilakeError, StorageError, add_context

app = typer.Typer(
    help="Omnilake: an omnichannel retail lakehouse (Spark jobs -> Delta Lake -> dbt marts).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


# An unexpected error (a bug) exits with EX_SOFTWARE, apart from the user's errors (1).
BUG_EXIT_CODE = 70
_BUG_MESSAGE_MAX = 300


def _friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our errors into one line and a non-zero exit instead of a traceback.

    A full disk or a read-only lake surfaces as an OSError (or as the engine's error text): the
    operator's to fix, so it becomes one line too. Anything else is a bug: one line says so, names
    the step (and source and file when known), and where its traceback was written.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
            error = exc if isinstance(exc, OmnilakeError) else StorageError.from_failure(exc)
            if error is None:
                err_console.print(_report_bug(exc, command.__name__), highlight=False, soft_wrap=True)
                raise typer.Exit(BUG_EXIT_CODE) from None
            err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(error.exit_code) from None

    return wrapper


def _report_bug(exc: BaseException, command_name: str) -> str:
    """Write the traceback of an unexpected error to the run's log file; the one line to print."""
    import traceback
    from datetime import UTC, datetime

    from rich.markup import escape

    from omnilake.pipeline import new_run_id

    where = dict(getattr(exc, "omnilake_context", None) or {})
    step = where.get("step") or command_name.replace("_", " ")
    run_id = str(where.get("run_id") or new_run_id(command_name.replace("_", "-")))
    details = ", ".join(f"{key} {where[key]}" for key in ("source", "file", "landing_date") if where.get(key))
    first_line = (str(exc).strip().splitlines() or [""])[0]
    if len(first_line) > _BUG_MESSAGE_MAX:
        first_line = first_line[: _BUG_MESSAGE_MAX - 1] + "…"
    header = (
        f"{datetime.now(UTC).isoformat()} unexpected error in step {step}"
        + (f" ({details})" if details else "")
        + f", command {' '.join(sys.argv[1:]) or command_name}\n"
    )
    log_path = _write_bug_log(run_id, header + "".join(traceback.format_exception(exc)))
    what = f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__
    at = f" ({details})" if details else ""
    kept = f"the full traceback is in {log_path}" if log_path else "the traceback could not be written"
    return (
        f"[bold red]bug:[/] unexpected error in step {escape(str(step))}{escape(at)}: {escape(what)}. "
        f"This is a bug in Omnilake, not in your data or settings; {escape(kept)}"
    )


def _write_bug_log(run_id: str, text: str) -> Path | None:
    """``<lake>/_ops/logs/<run_id>.log``, or a temporary folder when the lake cannot take it."""
    import tempfile

    folders = []
    try:
        from omnilake.settings import get_settings

        lake_root = get_settings().lake
        if lake_root.is_local:
            folders.append(lake_root.local_path / "_ops" / "logs")
        else:
            from omnilake.storage.filesystem import append_text

            return append_text(lake_root.join("_ops", "logs", f"{run_id}.log"), text)
    except Exception:  # settings themselves may be what is broken, or the object store unreachable
        pass
    folders.append(Path(tempfile.gettempdir()) / "omnilake-logs")
    for folder in folders:
        path = folder / f"{run_id}.log"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as handle:
                handle.write(text)
        except OSError:
            continue
        return path
    return None


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.command()
@_friendly_errors
def doctor() -> None:
    """Start the engine, write, read and merge a scratch Delta table, and report versions."""
    from omnilake.doctor import run_doctor

    with console.status("starting the engine and probing Delta…"):
        report = run_doctor()
    console.print(
        f"[bold]engine[/]     {report.engine}" + (f" ({report.engine_url})" if report.engine_url else "")
    )
    console.print(f"[bold]lake root[/]  {report.lake_root}")
    versions = RichTable("package", "version", box=None)
    for package, package_version in report.versions.items():
        versions.add_row(package, package_version)
    console.print(versions)
    checks = RichTable("check", "result", box=None)
    for name, result in report.checks:
        checks.add_row(f"[green]✓[/] {name}", result)
    console.print(checks)
    console.print(f"[bold green]healthy[/] in {report.seconds:.1f}s")


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise OmnilakeError(f"invalid date {value!r}: use YYYY-MM-DD") from None


@app.command()
@_friendly_errors
def ingest(
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Landing source(s); all by default.")
    ] = None,
    landing_date: Annotated[
        str | None, typer.Option("--date", "-d", help="Only this delivery date (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Ingest new landing files into bronze, exactly once per file, quarantining bad records."""
    from jobs.bronze.ingest import ingest as run_ingest

    day = _parse_date(landing_date)
    with console.status("ingesting landing files…"):
        reports = run_ingest(source or None, day)
    table = RichTable(
        "source",
        "new",
        "skipped",
        "dup",
        "refused",
        "records",
        "bronze",
        "quarantined",
        "seconds",
        title="bronze ingestion (files, then rows)",
    )
    for r in reports:
        if not r.declared:
            table.add_row(r.source, "[dim]not a declared feed: skipped[/]", *[""] * 7)
            continue
        table.add_row(
            r.source,
            str(r.files_new),
            str(r.files_skipped),
            str(r.files_duplicate),
            str(r.files_quarantined),
            f"{r.records:,}",
            f"{r.bronze_rows:,}",
            f"{r.quarantined_rows:,}",
            f"{r.seconds:.1f}",
        )
    console.print(table)
    for r in reports:
        if r.quarantine_reasons:
            reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(r.quarantine_reasons.items()))
            console.print(f"[yellow]quarantined[/] {r.source}: {reasons}", highlight=False)
        for note in r.drift:
            console.print(f"[yellow]schema drift[/] {r.source}: {note}", highlight=False)
    unbalanced = [f for r in reports for f in r.unbalanced_files]
    if unbalanced:
        raise OmnilakeError(
            f"reconciliation failed for {len(unbalanced)} file(s): {', '.join(unbalanced[:5])}"
        )


def _date_range(start: str | None, end: str | None, landing_root) -> list[date]:
    """Dates to run: the given range, or every delivery date found in the landing zone."""
    from datetime import timedelta

    first, last = _parse_date(start), _parse_date(end)
    if first is None:
        from omnilake.landing import landing_dates

        days = landing_dates(landing_root)
        if not days:
            raise OmnilakeError(
                f"no deliveries under {landing_root}: run `omnilake generate` first, or pass --start-date"
            )
        first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    last = last or first
    if last < first:
        raise OmnilakeError(f"--end-date {last} is before --start-date {first}")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _describe(result: Any) -> str:
    """One short line for a step's summary dict (ingest, silver tables, gate, publish)."""
    if not isinstance(result, dict):
        return "" if result is None else str(result)
    if result.get("due") is False:  # table maintenance, not due
        return f"not due (last pass {result.get('last_maintained')})"
    if "bytes_freed" in result:  # table maintenance
        return (
            f"{result['files_compacted']} files compacted into {result['files_written']}, "
            f"{result['files_vacuumed']:,} vacuumed, {_megabytes(result['bytes_freed'])} freed"
        )
    if "checks" in result:
        return f"{result['checks']} checks, {len(result['failed'])} failed, {len(result['warned'])} warned"
    if "tables" in result:
        return "; ".join(
            f"{t['table']} +{t.get('inserted', 0):,} ~{t.get('updated', 0):,}" for t in result["tables"]
        )
    if result.get("declared") is False:
        ignored = result.get("files_ignored", 0)
        return "not a declared feed: skipped" + (f" ({ignored} file(s) left in landing)" if ignored else "")
    if "records" in result:
        return (
            f"{result['files_new']} new file(s), {result['records']:,} records, "
            f"{result['quarantined_rows']:,} quarantined"
        )
    if "revisions" in result:  # gold build: what this run's revisions changed, per dated mart
        from omnilake.gold.revisions import describe_changes

        return describe_changes(result["revisions"])
    shown = [f"{k} {v:,}" for k, v in result.items() if isinstance(v, int) and not isinstance(v, bool)]
    return ", ".join(shown[:4])


@app.command()
@_friendly_errors
def run(
    start_date: Annotated[
        str | None, typer.Option(help="First landing date (YYYY-MM-DD); default: the earliest delivered.")
    ] = None,
    end_date: Annotated[
        str | None, typer.Option(help="Last landing date; default: start date, or the latest delivered.")
    ] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another run's writer lock.")] = 0.0,
    sample: Annotated[
        bool,
        typer.Option("--sample", help="Generate the sample data set first if the landing zone is empty."),
    ] = False,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="Recompute identity, customers and events from all of bronze (on the first date), "
            "not only from the new batches; gold follows.",
        ),
    ] = False,
) -> None:
    """Run the whole pipeline (the same steps as the Airflow DAG) for each landing date in order."""
    from omnilake.audit import record_run
    from omnilake.lake import get_lake
    from omnilake.lock import writer_lock
    from omnilake.pipeline import RunContext, new_run_id, run_pipeline

    lake = get_lake()
    from omnilake.landing import landing_dates

    if sample and not landing_dates(lake.landing):
        generate(
            start_date=SAMPLE["start_date"], days=SAMPLE["days"], scale=SAMPLE["scale"], seed=42, clean=False
        )
    dates = _date_range(start_date, end_date if start_date else None, lake.landing)
    if end_date and not start_date:
        dates = [d for d in dates if d <= _parse_date(end_date)]
    table = RichTable("date", "step", "seconds", "result", title="omnilake run")
    run_id = new_run_id("run")
    with (
        writer_lock(lake, wait_seconds=wait, run_id=run_id),
        console.status("running the pipeline…") as status,
    ):
        done = []

        def progress(outcome) -> None:
            done.append(outcome)
            status.update(f"{outcome.landing_date} {outcome.step} done")
            summary = _describe(outcome.result)
            table.add_row(str(outcome.landing_date), outcome.step, f"{outcome.seconds:.1f}", summary)

        audited = RunContext(run_id, dates[-1], lake)
        try:
            outcomes = run_pipeline(dates, lake, on_step=progress, rebuild=rebuild)
        except BaseException as exc:
            record_run(audited, done, error=exc)
            _alert_failure(exc, audited, done)
            raise
        record_run(audited, outcomes)
    console.print(table)
    total = sum(o.seconds for o in outcomes)
    console.print(f"[bold green]done[/]: {len(dates)} date(s), {len(outcomes)} steps in {total:.1f}s")
    _print_feed_gaps()
    _print_lake_summary(lake)
    _print_flagged_access(lake, audited.run_id)


def _alert_failure(exc: BaseException, context, done: list) -> None:
    """Alert the stopped run (OMNILAKE_ALERT_WEBHOOK), naming the step after the last one done."""
    from omnilake.ops.alerts import alert_failure
    from omnilake.pipeline import build_steps, topological

    if not isinstance(exc, Exception):
        return  # interrupted by the operator: nothing to tell them
    names = [s.name for s in topological(build_steps())]
    step = (getattr(exc, "omnilake_context", None) or {}).get("step")
    if step is None:
        step = names[(names.index(done[-1].step) + 1) % len(names)] if done else names[0]
    alert_failure(exc, run_id=context.run_id, step=step, landing_date=done[-1].landing_date if done else None)


def _print_flagged_access(lake, run_id: str) -> None:
    from omnilake.ops.alerts import alert_flagged_access

    for flag in alert_flagged_access(lake, run_id):
        console.print(f"[bold red]unusual access[/]: {flag.describe()}", highlight=False, soft_wrap=True)


def _print_feed_gaps() -> None:
    """Say which marts have no feed (built empty) or lack one of their feeds, per the declaration."""
    from omnilake.feeds import load_feeds

    feeds = load_feeds()
    for mart, sources in feeds.marts_without_feed().items():
        console.print(
            f"[yellow]no feed[/]: {mart} is empty: it needs {' or '.join(sources)}, "
            f"which {feeds.path.name} does not declare",
            highlight=False,
            soft_wrap=True,
        )
    for mart, missing in feeds.marts_partly_fed().items():
        console.print(
            f"[yellow]partial feed[/]: {mart} is built without {', '.join(missing)} (not declared)",
            highlight=False,
            soft_wrap=True,
        )


@app.command()
@_friendly_errors
def rebuild(
    landing_date: Annotated[
        str | None, typer.Option(help="The run's landing date; default: the latest delivered.")
    ] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another run's writer lock.")] = 0.0,
) -> None:
    """Recompute silver identity, customers and events from all of bronze, then gold (a full run).

    The daily steps take in only new bronze batches; this is the full recompute they must equal.
    """
    from omnilake.lake import get_lake

    last = _date_range(landing_date, landing_date, get_lake().landing)[-1].isoformat()
    run(start_date=last, end_date=last, wait=wait, sample=False, rebuild=True)


# `make run` / `omnilake run --sample`: three days of a small retailer, enough for every mart to fill.
SAMPLE = {"start_date": "2026-01-01", "days": 3, "scale": 0.2}

SUMMARY_QUERIES = {
    "customers by RFM segment (latest snapshot)": (
        "select segment, count(*) as customers from mart_customer_rfm "
        "where snapshot_date = (select max(snapshot_date) from mart_customer_rfm) group by segment order by 2 desc"
    ),
    "largest online-vs-physical stock deviations (latest day)": (
        "select location_id, sku, listed_qty, on_hand_qty, deviation_qty from mart_inventory_position "
        "where snapshot_date = (select max(snapshot_date) from mart_inventory_position) "
        "and deviation_qty is not null order by abs(deviation_qty) desc limit 5"
    ),
}


def _print_lake_summary(lake) -> None:
    """Rows per layer, a glimpse of the marts, and how to query them."""
    from deltalake import DeltaTable

    from omnilake.sql import run_query

    table = RichTable("layer", "tables", "rows", title="the lake now")
    for layer in ("bronze", "quarantine", "silver", "gold"):
        counts = [DeltaTable(t.path).count() for t in lake.tables(layer) if DeltaTable.is_deltatable(t.path)]
        table.add_row(layer, str(len(counts)), f"{sum(counts):,}")
    console.print(table)
    from omnilake.storage.warehouse import current_pointer

    if not (Path(lake.warehouse_path).exists() if lake.root.is_local else current_pointer(lake.root)):
        return
    for title, query in SUMMARY_QUERIES.items():
        console.print(f"[bold]{title}[/]")
        console.print(run_query(query), highlight=False)
    console.print(
        f'Query the marts: [bold]uv run omnilake sql "select * from dim_customer limit 10"[/] '
        f"or open {lake.warehouse_path if lake.root.is_local else 'the version warehouse/CURRENT.json names'} "
        "read-only with any DuckDB client."
    )


@app.command()
@_friendly_errors
def sql(
    query: Annotated[str, typer.Argument(help="One read-only SQL statement over the gold marts.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """Query the published warehouse read-only (writes are refused); every query is audited."""
    from omnilake.governance.access_audit import audited_query

    typer.echo(audited_query(query, fmt))


@app.command()
@_friendly_errors
def generate(
    start_date: Annotated[str, typer.Option(help="First delivery date (YYYY-MM-DD).")] = "2026-01-01",
    days: Annotated[int, typer.Option(help="Number of daily deliveries.")] = 7,
    scale: Annotated[float, typer.Option(help="Volume multiplier; 1 is a small retailer.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = 42,
    clean: Annotated[bool, typer.Option("--clean", help="Turn every defect off.")] = False,
) -> None:
    """Write realistic omnichannel landing files (with defects) under $OMNILAKE_HOME/landing."""
    from omnilake.generate import DefectRates
    from omnilake.generate import generate as run_generate
    from omnilake.lake import get_lake
    from omnilake.storage.filesystem import upload_tree
    from omnilake.storage.local import local_dir

    first = _parse_date(start_date)
    lake = get_lake()
    # On an object-store lake the files are written locally, then delivered (uploaded) to landing.
    written_to = Path(lake.landing) if lake.root.is_local else local_dir(lake.root, "landing")
    with console.status("generating…") as status:
        summary = run_generate(
            written_to,
            first,
            days,
            scale,
            seed,
            DefectRates.none() if clean else None,
            on_day=lambda day, done, total: status.update(f"generated {day} ({done}/{total})"),
        )
        if not lake.root.is_local:
            status.update(f"delivering to {lake.landing}")
            upload_tree(written_to, lake.landing)
    table = RichTable(*summary.TABLE_COLUMNS, title=f"landing data under {lake.landing}")
    for row in summary.table_rows():
        table.add_row(*row)
    console.print(table)
    console.print(
        f"{summary.persons:,} people; {summary.seconds:.1f}s ({summary.rows_per_second():,.0f} rows/s); "
        f"defects injected: {sum(summary.defects.values()):,}"
    )


@app.command()
@_friendly_errors
def transform(
    landing_date: Annotated[
        str | None,
        typer.Option("--date", "-d", help="Take deliveries up to this date; all pending by default."),
    ] = None,
) -> None:
    """Bronze -> silver: the pipeline's silver steps (identity, customers, orders, POS, events, inventory)."""
    from omnilake.lake import get_lake
    from omnilake.pipeline import RunContext, build_steps, new_run_id, run_step, topological

    lake = get_lake()
    context = RunContext(new_run_id("transform"), _parse_date(landing_date), lake)
    table = RichTable("table", "rows in", "inserted", "updated", "seconds", title="silver")
    with console.status("transforming bronze into silver…") as status:
        for step in topological(build_steps()):
            if not step.name.startswith("silver_"):
                continue
            status.update(f"{step.name}…")
            started = time.perf_counter()
            outcome = run_step(step, context)
            for row in outcome.get("tables", [{"table": step.name.removeprefix("silver_"), **outcome}]):
                table.add_row(
                    row["table"],
                    *(f"{row.get(k, 0):,}" for k in ("rows_in", "inserted", "updated")),
                    f"{row.get('seconds', time.perf_counter() - started):.1f}",
                )
    console.print(table)


@app.command()
@_friendly_errors
def gate(
    layer: Annotated[str, typer.Argument(help="bronze, silver or gold")],
    landing_date: Annotated[
        str | None, typer.Option("--date", "-d", help="Landing date to check (bronze).")
    ] = None,
) -> None:
    """Run one layer's quality gate now; exit 1 if a `fail` check is breached."""
    day = _parse_date(landing_date)
    from omnilake.pipeline import new_run_id
    from quality.gates import run_gate  # GE's import alone takes seconds: after the arguments are checked

    run_id = new_run_id("gate")
    with console.status(f"running the {layer} gate…"):
        try:
            report = run_gate(layer, run_id, day)
        except Exception as exc:
            if not isinstance(exc, OmnilakeError):
                add_context(exc, step=f"gate_{layer}", run_id=run_id)
            raise
    _print_gate(report)


def _print_gate(report) -> None:
    table = RichTable("check", "severity", "observed", "result", title=report.summary())
    for result in report.results:
        verdict = (
            "[green]pass[/]"
            if result.success
            else ("[red]FAIL[/]" if result.severity == "fail" else "[yellow]warn[/]")
        )
        table.add_row(result.label, result.severity, str(result.observed), verdict)
    console.print(table)
    if report.data_docs:
        console.print(f"Data Docs: {report.data_docs}")


@app.command("identity-eval")
@_friendly_errors
def identity_eval() -> None:
    """Score identity resolution against the generator's truth (pairwise precision, recall, F1)."""
    from jobs.silver.identity import evaluate

    with console.status("scoring identity resolution…"):
        score = evaluate()
    table = RichTable("measure", "value", title="identity resolution against the generator's truth")
    for key, value in score.as_dict().items():
        table.add_row(
            key,
            f"{value:.4f}"
            if isinstance(value, float)
            else f"{value:,}"
            if isinstance(value, int)
            else str(value),
        )
    console.print(table)


@app.command()
@_friendly_errors
def fingerprint(
    output: Annotated[
        Path | None, typer.Option(help="Also write the fingerprints as JSON here, to compare later.")
    ] = None,
) -> None:
    """Row count and content digest of every bronze, quarantine, silver and gold table and warehouse
    mart (lineage columns left out): compare two runs or two environments table by table."""
    import json

    from omnilake.fingerprint import all_fingerprints
    from omnilake.lake import get_lake

    lake = get_lake()
    prints = all_fingerprints(lake)
    table = RichTable("table", "rows", "digest", title=f"content fingerprints of {lake.root}")
    for name, value in prints.items():
        table.add_row(name, f"{value.rows:,}", value.digest or "absent")
    console.print(table)
    if output is not None:
        output.write_text(
            json.dumps({k: {"rows": v.rows, "digest": v.digest} for k, v in prints.items()}, indent=2) + "\n"
        )


@app.command()
@_friendly_errors
def erase(
    email: Annotated[str | None, typer.Option(help="Erase the person with this e-mail.")] = None,
    phone: Annotated[str | None, typer.Option(help="Erase the person with this phone number.")] = None,
    customer_key: Annotated[str | None, typer.Option(help="Erase the person with this customer_key.")] = None,
    request_id: Annotated[
        str | None, typer.Option(help="Your reference for the request (kept in the receipt).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be removed; change nothing.")
    ] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another run's writer lock.")] = 0.0,
) -> None:
    """Remove a person from every layer, landing copies and the warehouse; vacuum; write a receipt."""
    from omnilake.erasure import erase_command

    erase_command(email, phone, customer_key, request_id=request_id, dry_run=dry_run, wait=wait)


@app.command()
@_friendly_errors
def maintain(
    table: Annotated[
        list[str] | None,
        typer.Option("--table", help="Only this table (e.g. silver.event_attribution); repeat for more."),
    ] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another run's writer lock.")] = 0.0,
) -> None:
    """Compact, vacuum and trim the logs of the lake's Delta tables now (the pipeline's
    maintain_tables step does it every OMNILAKE_MAINTENANCE_INTERVAL_DAYS landing dates)."""
    from omnilake.audit import record_maintenance
    from omnilake.lake import get_lake
    from omnilake.lock import writer_lock
    from omnilake.maintenance import Policy, maintain_lake
    from omnilake.maintenance.run import record
    from omnilake.pipeline import new_run_id

    lake = get_lake()
    chosen = [lake.table(name) for name in table] if table else None
    policy = Policy.from_settings()
    run_id = new_run_id("maintain")
    with writer_lock(lake, wait_seconds=wait, run_id=run_id), console.status("maintaining the lake…"):
        result = maintain_lake(lake, policy, tables=chosen)
        record(lake, run_id, None, result)
        record_maintenance(lake, run_id, result.summary())
    shown = RichTable(
        "table", "compacted", "vacuumed", "freed", "log files", "seconds", title=f"omnilake maintain {run_id}"
    )
    for done in result.tables:
        if done.files_compacted or done.files_vacuumed or done.log_files_removed:
            shown.add_row(
                done.table_name,
                f"{done.files_compacted} -> {done.files_written}" if done.files_compacted else "",
                f"{done.files_vacuumed:,}",
                _megabytes(done.bytes_vacuumed + done.log_bytes_removed),
                f"{done.log_files_removed:,}",
                f"{done.seconds:.2f}",
            )
    console.print(shown)
    summary = result.summary()
    console.print(
        f"[bold green]done[/]: {summary['tables_maintained']} tables; {summary['files_compacted']} files compacted into "
        f"{summary['files_written']}, {summary['files_vacuumed']:,} data files vacuumed "
        f"(retention {policy.vacuum_retention_hours:g} h), {summary['log_files_removed']:,} log files removed "
        f"(retention {policy.log_retention_hours:g} h): {_megabytes(summary['bytes_freed'])} freed"
    )


def _megabytes(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


audit_app = typer.Typer(help="The tamper-evident audit trail of runs and erasures.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
@_friendly_errors
def audit_verify() -> None:
    """Recompute the hash chain; name the first entry that was edited, moved or removed."""
    from omnilake.audit import audit_verify_command

    audit_verify_command()


@audit_app.command("show")
@_friendly_errors
def audit_show(limit: Annotated[int, typer.Option(help="How many of the latest entries.")] = 20) -> None:
    """The latest entries, one line each, then the head hash to keep elsewhere."""
    from omnilake.audit import audit_show_command

    audit_show_command(limit)


from omnilake.governance.commands import register as _register_governance  # noqa: E402

_register_governance(app, audit_app, _friendly_errors)


@app.command()
@_friendly_errors
def bench(
    scale: Annotated[float, typer.Option(help="Data scale (1 is a small retailer).")] = 0.5,
    days: Annotated[int, typer.Option(help="Days in the run; one more runs incrementally.")] = 3,
    history: Annotated[
        bool,
        typer.Option(
            "--history",
            help="History mode: CPU seconds per step per landing date over --days dates and each step's "
            "slope per day of history (bench/history_bench.py).",
        ),
    ] = False,
) -> None:
    """Benchmark the pipeline per stage on fresh lakes; results under bench/results/."""
    from bench.pipeline_bench import RESULTS_DIR, run_benchmark

    if history:
        from bench.history_bench import MARKDOWN_NAME, REPO, run_history

        if days < 3:
            raise OmnilakeError("--history needs --days 3 or more (the first date is left out of the fit)")
        with console.status(f"history benchmark, scale {scale:g}, {days} dates…"):
            run_history(scale, days, {"current": REPO}, out_dir=RESULTS_DIR)
        console.print(f"results: {RESULTS_DIR / MARKDOWN_NAME}")
        return
    with console.status(f"benchmarking scale {scale:g}…") as status:
        run_benchmark(scale, days, RESULTS_DIR, on_progress=status.update)
    console.print(f"results: {RESULTS_DIR / 'pipeline.md'} and {RESULTS_DIR / 'pipeline_stages.png'}")
