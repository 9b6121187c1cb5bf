"""A tamper-evident audit trail: one hash-chained JSON line per pipeline run (and per erasure, per
``omnilake maintain`` pass, per identity split and per ``omnilake sql`` query: ``omnilake.governance``).

``<lake>/_ops/audit/audit.jsonl`` grows by one entry at the end of every ``omnilake run`` and every
DAG run (``record_run``), and of every erasure (``record_erasure``). An entry says what went in (the
landing files of the run's dates with their SHA-256 from ``ops.ingestion_ledger``), what came out
(the Delta version of every table, the SHA-256 of the warehouse file), what the quality gates found
(checks, failures and warnings by name, from ``ops.quality_results``), and who or what ran it (user,
host, command, package versions, settings without secrets).

The chain: every entry carries ``seq`` (1, 2, …), ``prev_hash`` (the previous entry's
``entry_hash``; 64 zeros for the first) and ``entry_hash``, the SHA-256 of the entry's canonical JSON
without ``entry_hash`` (keys sorted, no spaces, UTF-8). ``verify`` recomputes it and names the first
entry whose content, link or sequence number does not hold: editing, reordering or deleting an
entry shows. Rewriting the whole chain from some entry on does not, unless the head hash was kept
elsewhere: ``omnilake audit show`` prints it, and the DAG log keeps it.

An entry is never edited, so it must never hold personal data: no identifier, no observed value of a
check, no ``customer_key``, only names of files, tables and checks, counts, hashes and versions.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import logging
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from omnilake.errors import OmnilakeError
from omnilake.storage.filesystem import filesystem_for
from omnilake.storage.warehouse import current_pointer

if TYPE_CHECKING:
    from omnilake.lake import Lake
    from omnilake.pipeline import RunContext

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
AUDIT_PARTS = ("_ops", "audit", "audit.jsonl")
PACKAGES = (
    "omnilake",
    "pyspark",
    "pysail",
    "deltalake",
    "duckdb",
    "dbt-core",
    "dbt-duckdb",
    "great-expectations",
    "apache-airflow",
)
# Command-line options whose value is personal data (``omnilake erase --email …``) or may quote it.
_PERSONAL_OPTIONS = (
    "--email",
    "--phone",
    "--customer-key",
    "--loyalty-card",
    "--identifier",  # a pseudonym (``omnilake identity split``)
    "--reason",  # an operator's free text
)
_HASH_CHUNK = 1 << 20
_APPEND_ATTEMPTS = 20


class AuditError(OmnilakeError):
    """The audit trail cannot be read or extended, or it does not verify."""


@dataclass(frozen=True)
class AuditVerification:
    """The outcome of recomputing the chain."""

    ok: bool
    entries: int
    head_hash: str | None
    first_broken: int | None = None  # seq (= line number) of the first entry that does not hold
    reason: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"audit trail intact: {self.entries} entries, head {self.head_hash}"
        return f"audit trail broken at entry {self.first_broken}: {self.reason}"


# --- the chain -----------------------------------------------------------------------------------


def audit_path(lake: Lake) -> Path | str:
    """The trail's file: a local path, or an ``s3://`` URI on an object-store lake."""
    return Path(lake.root.local_path, *AUDIT_PARTS) if lake.root.is_local else lake.path(*AUDIT_PARTS)


def _read_trail(path: Path | str) -> str | None:
    fs = filesystem_for(path)
    if fs.stat(str(path)) is None:
        return None
    return fs.read_bytes(str(path)).decode("utf-8")


def canonical(entry: Mapping[str, Any]) -> bytes:
    """The bytes an entry's hash is taken over: sorted keys, no whitespace, UTF-8."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 of the entry's canonical JSON, its own ``entry_hash`` left out."""
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "entry_hash"})).hexdigest()


def _plain(value: Any) -> Any:
    """JSON-able, and stable through a JSON round trip (the hash is recomputed from the parsed line)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 3)
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def read_entries(lake: Lake) -> list[dict[str, Any]]:
    """Every entry, parsed (AuditError on a line that is not JSON: run ``verify`` for the details)."""
    path = audit_path(lake)
    text = _read_trail(path)
    if text is None:
        return []
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            entries.append(json.loads(line))
        except ValueError:
            raise AuditError(f"{path} line {number} is not JSON: run `omnilake audit verify`") from None
    return entries


def append_entry(lake: Lake, kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Append one entry of ``kind`` to the chain (under a file lock) and return it."""
    path = audit_path(lake)
    if not isinstance(path, Path):
        return _append_object(path, kind, body)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            last = _last_line(handle)
            entry = _next_entry([last] if last is not None else [], path, kind, body)
            handle.seek(0, os.SEEK_END)
            handle.write(canonical(entry) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    log.info("audit entry %d (%s) appended, hash %s", entry["seq"], kind, entry["entry_hash"])
    return entry


def _last_line(handle: IO[bytes]) -> bytes | None:
    """The trail's last non-blank line, read from the end: the next entry chains to it alone, so an
    append reads one entry, not the whole trail of every run so far."""
    position = handle.seek(0, os.SEEK_END)
    tail = b""
    while position > 0:
        step = min(_HASH_CHUNK, position)
        position -= step
        handle.seek(position)
        tail = handle.read(step) + tail
        lines = [line for line in tail.splitlines() if line.strip()]
        if len(lines) >= 2 or (lines and position == 0):  # the last line is whole
            return lines[-1]
    return None


def _next_entry(lines: list[bytes], path: object, kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The entry that follows the trail's ``lines``, chained to the last one (refused if damaged)."""
    if not lines:
        return _new_entry(GENESIS_HASH, 1, kind, body)
    try:
        last = json.loads(lines[-1])
        previous, seq = last["entry_hash"], int(last["seq"]) + 1
    except (ValueError, KeyError, TypeError):
        raise AuditError(
            f"the last entry of {path} is damaged; run `omnilake audit verify` before appending"
        ) from None
    return _new_entry(previous, seq, kind, body)


def _new_entry(previous: str, seq: int, kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "seq": seq,
        "prev_hash": previous,
        "kind": kind,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **_plain(dict(body)),
    }
    entry["entry_hash"] = entry_hash(entry)
    return entry


def _append_object(path: str, kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Append on object storage, which cannot append: rewrite the object with the entry added, on
    the condition that it is still the version read (``If-Match``), retrying if another writer
    appended in between; the first entry is created only if no trail exists (``If-None-Match``)."""
    fs = filesystem_for(path)
    for _ in range(_APPEND_ATTEMPTS):
        found = fs.stat(path)
        data = fs.read_bytes(path) if found is not None else b""
        lines = [line for line in data.splitlines() if line.strip()]
        entry = _next_entry(lines, path, kind, body)
        content = b"".join(line + b"\n" for line in lines) + canonical(entry) + b"\n"
        written = (
            fs.put_if_absent(path, content)
            if found is None
            else fs.put_if_match(path, content, found.version)
        )
        if written is not None:
            log.info("audit entry %d (%s) appended, hash %s", entry["seq"], kind, entry["entry_hash"])
            return entry
    raise AuditError(f"could not append to {path}: it kept changing under {_APPEND_ATTEMPTS} attempts")


def verify(lake: Lake) -> AuditVerification:
    """Recompute the chain; name the first entry whose content, link or sequence does not hold."""
    text = _read_trail(audit_path(lake))
    if text is None:
        return AuditVerification(True, 0, None)
    previous = GENESIS_HASH
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):

        def broken(reason: str, number: int = number) -> AuditVerification:
            return AuditVerification(False, len(lines), None, number, reason)

        try:
            entry = json.loads(line)
        except ValueError:
            return broken("the line is not JSON")
        if not isinstance(entry, dict):
            return broken("the line is not a JSON object")
        label = f"{entry.get('kind', '?')} {entry.get('run_id') or entry.get('request_id') or ''}".strip()
        if entry.get("seq") != number:
            return broken(
                f"{label}: seq is {entry.get('seq')!r}, expected {number} (an entry was removed or moved)"
            )
        if entry.get("prev_hash") != previous:
            return broken(
                f"{label}: prev_hash does not match entry {number - 1} (entries removed, moved or rewritten)"
            )
        if entry.get("entry_hash") != entry_hash(entry):
            return broken(f"{label}: its content does not match its entry_hash (the entry was edited)")
        previous = entry["entry_hash"]
    return AuditVerification(True, len(lines), previous if lines else None)


# --- what a run entry says -----------------------------------------------------------------------


def _field(outcome: Any, name: str) -> Any:
    return outcome.get(name) if isinstance(outcome, Mapping) else getattr(outcome, name, None)


def sanitised_command(argv: Iterable[str] | None = None) -> list[str]:
    """``sys.argv`` with the values of personal options (``--email x``) replaced by ``<redacted>``."""
    args = list(sys.argv if argv is None else argv)
    out: list[str] = []
    redact_next = False
    for arg in args:
        if redact_next:
            out.append("<redacted>")
            redact_next = False
            continue
        option, equals, _ = arg.partition("=")
        if option in _PERSONAL_OPTIONS:
            if equals:
                out.append(f"{option}=<redacted>")
            else:
                out.append(arg)
                redact_next = True
            continue
        out.append("<redacted>" if "@" in arg else arg)
    if args:
        out[0] = Path(out[0]).name
    return out


def _git_commit() -> str | None:
    repo = Path(__file__).resolve().parent.parent
    if not (repo / ".git").exists():
        return None
    try:
        completed = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() or None


def actor(argv: Iterable[str] | None = None) -> dict[str, Any]:
    """Who and what ran: user, host, command, package versions, and the settings minus secrets."""
    from omnilake.settings import get_settings

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    settings = get_settings()
    return {
        "user": user,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "command": sanitised_command(argv),
        "airflow": {
            k: os.environ[v]
            for k, v in (("dag_id", "AIRFLOW_CTX_DAG_ID"), ("run_id", "AIRFLOW_CTX_DAG_RUN_ID"))
            if v in os.environ
        },
        "code_commit": _git_commit(),
        "versions": versions,
        "settings": {"env": settings.env, "engine": settings.engine, "home": settings.home},
    }


def _delta_rows(path: str, columns: list[str], filters: list[tuple] | None = None) -> list[dict[str, Any]]:
    """Rows of a Delta table through delta-rs; ``filters`` (DNF, as pyarrow takes them) are applied
    while reading, so an entry costs what the run touched, not the whole ledger's history."""
    from deltalake import DeltaTable

    if not DeltaTable.is_deltatable(path):
        return []
    return DeltaTable(path).to_pyarrow_table(columns=columns, filters=filters).to_pylist()


def run_inputs(lake: Lake, landing_dates: Iterable[date]) -> list[dict[str, Any]]:
    """The landing files of ``landing_dates`` the ledger knows, with their SHA-256 and what became of them."""
    dates = set(landing_dates)
    rows = _delta_rows(
        lake.table("ops.ingestion_ledger").path,
        [
            "path",
            "file_hash",
            "source",
            "landing_date",
            "status",
            "records",
            "bronze_rows",
            "quarantined_rows",
        ],
        [("landing_date", "in", sorted(dates))] if dates else None,
    )
    picked = [r for r in rows if r["landing_date"] in dates]
    return [
        {
            "path": r["path"],
            "sha256": r["file_hash"],
            "source": r["source"],
            "landing_date": r["landing_date"],
            "status": r["status"],
            "records": r["records"],
            "bronze_rows": r["bronze_rows"],
            "quarantined_rows": r["quarantined_rows"],
        }
        for r in sorted(picked, key=lambda r: (r["path"], r["file_hash"]))
    ]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def lake_outputs(lake: Lake) -> dict[str, Any]:
    """The Delta version of every table of the lake, and the SHA-256 of the published warehouse."""
    from deltalake import DeltaTable

    tables = {
        table.qualified_name: DeltaTable(table.path).version()
        for table in sorted(lake.tables(), key=lambda t: t.qualified_name)
        if DeltaTable.is_deltatable(table.path)
    }
    if not lake.root.is_local:  # the pointer names the published version and its digest
        pointer = current_pointer(lake.root)
        published = (
            {
                "path": pointer["path"].rsplit("/", 1)[-1],
                "sha256": pointer["sha256"],
                "bytes": pointer["bytes"],
            }
            if pointer
            else None
        )
        return {"tables": tables, "warehouse": published}
    warehouse = Path(lake.warehouse_path)
    published = (
        {"path": warehouse.name, "sha256": _file_sha256(warehouse), "bytes": warehouse.stat().st_size}
        if warehouse.exists()
        else None
    )
    return {"tables": tables, "warehouse": published}


def gate_summaries(lake: Lake, run_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Per gate run of ``run_ids``: checks, and the names of failed and warned checks (never values)."""
    wanted = set(run_ids)
    rows = [
        r
        for r in _delta_rows(
            lake.table("ops.quality_results").path,
            ["run_id", "layer", "landing_date", "suite", "expectation", "severity", "success"],
            [("run_id", "in", sorted(wanted))] if wanted else None,
        )
        if r["run_id"] in wanted
    ]
    gates: dict[tuple[str, str], dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: (r["run_id"], r["layer"], r["suite"], r["expectation"])):
        gate = gates.setdefault(
            (r["run_id"], r["layer"]),
            {
                "run_id": r["run_id"],
                "layer": r["layer"],
                "landing_date": r["landing_date"],
                "checks": 0,
                "failed": [],
                "warned": [],
            },
        )
        gate["checks"] += 1
        if not r["success"]:
            gate["failed" if r["severity"] == "fail" else "warned"].append(
                f"{r['suite']}: {r['expectation']}"
            )
    return list(gates.values())


def _step(outcome: Any) -> dict[str, Any]:
    result = _field(outcome, "result")
    step = {
        "step": _field(outcome, "step"),
        "landing_date": _field(outcome, "landing_date"),
        "seconds": _field(outcome, "seconds"),
        "status": _field(outcome, "status") or "succeeded",
        "gate_run_id": result.get("run_id") if isinstance(result, Mapping) and "checks" in result else None,
    }
    if isinstance(result, Mapping) and result.get("due"):  # table maintenance: its counts
        step["maintenance"] = {k: v for k, v in result.items() if isinstance(v, int | float) and k != "due"}
    return step


def record_run(
    context: RunContext,
    outcomes: Iterable[Any],
    *,
    error: BaseException | None = None,
    argv: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Append the audit entry of a pipeline run and return it.

    ``outcomes`` are the run's ``StepOutcome``s (or mappings with ``step``, ``landing_date``,
    ``seconds``, ``result`` and optionally ``status``, as a DAG collects them from XComs); ``error``
    is the exception that stopped the run, if one did (only its type and the step it stopped after
    are kept: a message can quote data). The run failed if ``error`` is given or a step's status is
    not ``succeeded``.
    """
    lake = context.lake
    steps = [_step(o) for o in outcomes]
    dates = sorted({s["landing_date"] for s in steps if s["landing_date"]} | {context.landing_date} - {None})
    run_ids = {context.run_id} | {s["gate_run_id"] for s in steps if s["gate_run_id"]}
    body = {
        "run_id": context.run_id,
        "landing_dates": dates,
        "status": "failed"
        if error is not None or any(s["status"] != "succeeded" for s in steps)
        else "succeeded",
        "error": {"type": type(error).__name__, "after_step": steps[-1]["step"] if steps else None}
        if error is not None
        else None,
        "steps": [{k: v for k, v in s.items() if k != "gate_run_id"} for s in steps],
        "inputs": run_inputs(lake, dates),
        "outputs": lake_outputs(lake),
        "gates": gate_summaries(lake, run_ids),
        "actor": actor(argv),
    }
    return append_entry(lake, "run", body)


def record_erasure(
    lake: Lake, receipt: Mapping[str, Any], argv: Iterable[str] | None = None
) -> dict[str, Any]:
    """Append the audit entry of an erasure: its receipt (no personal data) and the lake's new versions."""
    return append_entry(
        lake,
        "erasure",
        {
            "request_id": receipt.get("request_id"),
            "receipt": receipt,
            "outputs": lake_outputs(lake),
            "actor": actor(argv),
        },
    )


def record_maintenance(
    lake: Lake, run_id: str, summary: Mapping[str, Any], argv: Iterable[str] | None = None
) -> dict[str, Any]:
    """Append the audit entry of an ``omnilake maintain`` pass: its counts and the lake's new versions
    (a pipeline run's pass is a step of that run's entry)."""
    return append_entry(
        lake,
        "maintenance",
        {"run_id": run_id, "summary": dict(summary), "outputs": lake_outputs(lake), "actor": actor(argv)},
    )


# --- command bodies (the CLI wires them; they print) ---------------------------------------------


def audit_verify_command(lake: Lake | None = None) -> AuditVerification:
    """``omnilake audit verify``: print the outcome; AuditError (exit 1) when the chain is broken."""
    from rich.console import Console

    from omnilake.lake import get_lake

    result = verify(lake or get_lake())
    if not result.ok:
        raise AuditError(str(result))
    Console().print(f"[green]✓[/] {result}", highlight=False)
    return result


def audit_show_command(limit: int = 20, lake: Lake | None = None) -> None:
    """``omnilake audit show [--limit N]``: the last entries, one line each, then the head hash."""
    from rich.console import Console
    from rich.table import Table as RichTable

    from omnilake.lake import get_lake

    lake = lake or get_lake()
    entries = read_entries(lake)
    table = RichTable(
        "seq",
        "recorded",
        "kind",
        "run / request",
        "status",
        "inputs",
        "by",
        "hash",
        title=f"audit trail {audit_path(lake)}",
    )
    for entry in entries[-limit:] if limit > 0 else entries:
        who = entry.get("actor", {})
        table.add_row(
            str(entry.get("seq")),
            str(entry.get("recorded_at")),
            str(entry.get("kind")),
            str(entry.get("run_id") or entry.get("request_id") or ""),
            str(entry.get("status") or ""),
            str(len(entry.get("inputs") or [])),
            f"{who.get('user', '?')}@{who.get('host', '?')}",
            str(entry.get("entry_hash", ""))[:12],
        )
    console = Console()
    console.print(table)
    head = entries[-1].get("entry_hash") if entries else None
    console.print(f"{len(entries)} entries; head hash {head} (keep it elsewhere to detect a rewritten chain)")
