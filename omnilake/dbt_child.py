"""``python -m omnilake.dbt_child``: dbt in a child process that dies with its parent.

``omnilake.publish`` runs dbt in a child process. If the pipeline process is killed (an OOM kill, a
task timeout, a crash test), a dbt build left running would keep writing the staging warehouse and
holding its lock. On Linux the child asks the kernel for SIGKILL when its parent dies
(``PR_SET_PDEATHSIG``), here rather than in a ``preexec_fn``, which is unsafe in a parent that runs
threads (the Spark Connect client does).

Two forms:

- ``python -m omnilake.dbt_child <dbt args>``: one dbt command line, as ``dbt`` would run it;
- ``python -m omnilake.dbt_child --plan PLAN.json``: several dbt commands in this one interpreter
  (dbt's programmatic ``dbtRunner``), sharing one parse of the project, so a gold build and its docs
  pay one interpreter start and one (partial) parse. PLAN.json is ``{"commands": [[args], ...],
  "common": [args appended to each], "status": "path"}``; a command marked optional (``{"args":
  [...], "optional": true}``) may fail without stopping the plan. The status file receives each
  command's outcome, with its node results. The exit code is 0 when every required command succeeded, else 1.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    parent = int(os.environ.get("OMNILAKE_DBT_PARENT_PID", "0"))
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if parent and os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)


def _spare_dbt_overheads() -> None:
    """Two of dbt's per-call costs that buy nothing in a process whose environment never changes.

    - Every log line dbt writes (about 2,700 events, to the file and to stdout, at any level) is
      scrubbed of secrets that ``env_secrets()`` finds by walking the whole environment again: about
      10% of a gold build's CPU. The secrets are read once here; the lines scrub the same.
    - Jinja compiles a macro's source to Python on every call of ``get_template`` (about 570 per
      build: each model's compile renders the macros it calls anew). The code object depends only on
      the source and the environment's syntax, filters and tests, so it is kept by those; templates
      are still made per call, with their own globals.
    """
    import dbt_common.events.functions as event_functions
    from dbt_common.clients.jinja import MacroFuzzEnvironment

    secrets = event_functions.env_secrets()
    event_functions.env_secrets = lambda: secrets

    compiled: dict[tuple[Any, ...], Any] = {}
    compile_source = MacroFuzzEnvironment.compile

    def compile_cached(self, source, name=None, filename=None, raw=False, defer_init=False):
        if not isinstance(source, str):
            return compile_source(self, source, name, filename, raw, defer_init)
        key = (
            type(self),
            source,
            name,
            filename,
            raw,
            defer_init,
            self.is_async,
            self.optimized,
            self.finalize,
            self.newline_sequence,
            self.keep_trailing_newline,
            self.trim_blocks,
            self.lstrip_blocks,
            self.block_start_string,
            self.block_end_string,
            self.variable_start_string,
            self.variable_end_string,
            self.comment_start_string,
            self.comment_end_string,
            self.line_statement_prefix,
            self.line_comment_prefix,
            tuple(self.extensions),
            tuple((k, id(v)) for k, v in self.filters.items()),
            tuple((k, id(v)) for k, v in self.tests.items()),
        )
        code = compiled.get(key)
        if code is None:
            code = compiled[key] = compile_source(self, source, name, filename, raw, defer_init)
        return code

    MacroFuzzEnvironment.compile = compile_cached


def nodes_reading_no_source(nodes: dict[str, Any]) -> frozenset[str]:
    """The nodes whose queries can bind no source: none of their inputs is a source, or a view or
    ephemeral model that reads one (a table or incremental model holds its rows itself). An input
    of a kind not known here counts as reading sources."""
    reads: dict[str, bool] = {}

    def reads_sources(unique_id: str) -> bool:
        if unique_id not in reads:
            reads[unique_id] = False  # a cycle reads nothing through itself
            reads[unique_id] = any(
                not dep.startswith(("model.", "test.", "seed.", "snapshot."))
                or (
                    dep in nodes
                    and getattr(nodes[dep].config, "materialized", None) in ("view", "ephemeral")
                    and reads_sources(dep)
                )
                for dep in nodes[unique_id].depends_on.nodes
            )
        return reads[unique_id]

    return frozenset(uid for uid in nodes if not reads_sources(uid))


def _register_sources_only_where_read(manifest: Any) -> None:
    """dbt-duckdb registers every plugin source's Arrow dataset on each cursor it opens (about 160
    a build, one per node, 11 sources: ~5 ms a cursor), so that a query naming a source's view
    binds it. Only a node reading a source, itself or through views and ephemeral models, can bind
    one: the cursors of the other nodes (the tests of tables, most models) open without them.
    Connections not named after a node (hooks, the catalog, source loads) register as before; a
    node wrongly left out would fail loudly (DuckDB cannot find the dataset), never read other data.
    """
    import threading

    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.adapters.duckdb.environments.local import LocalEnvironment

    without = nodes_reading_no_source(manifest.nodes)
    opening = threading.local()
    open_connection = DuckDBConnectionManager.open.__func__
    initialize_cursor = LocalEnvironment.initialize_cursor.__func__

    def open_for_node(cls, connection):
        opening.bare = connection.name in without
        try:
            return open_connection(cls, connection)
        finally:
            opening.bare = False

    def initialize(cls, creds, cursor, plugins=None, registered_df=None):
        bare = getattr(opening, "bare", False)
        return initialize_cursor(cls, creds, cursor, plugins, {} if bare else (registered_df or {}))

    DuckDBConnectionManager.open = classmethod(open_for_node)
    LocalEnvironment.initialize_cursor = classmethod(initialize)


def run_plan(plan: dict[str, Any]) -> int:
    """Parse once, then run each command on that manifest; write the outcomes; return the exit code."""
    from dbt.cli.main import dbtRunner

    _spare_dbt_overheads()

    common = list(plan.get("common", []))
    outcomes: list[dict[str, Any]] = []
    parsed = dbtRunner().invoke(["parse", "--no-write-json", *common])
    manifest = parsed.result if parsed.success else None
    if manifest is None:
        outcomes.append({"command": "parse", "success": False, "error": str(parsed.exception or "")})
    else:
        _register_sources_only_where_read(manifest)
        for command in plan["commands"]:
            args = command["args"] if isinstance(command, dict) else command
            optional = bool(command.get("optional")) if isinstance(command, dict) else False
            result = dbtRunner(manifest=manifest).invoke([*args, *common])
            outcomes.append(
                {
                    "command": " ".join(args[:2] if args[:1] == ["docs"] else args[:1]),
                    "success": bool(result.success),
                    "optional": optional,
                    "error": str(result.exception) if result.exception else "",
                    "nodes": _node_results(result.result),
                }
            )
            if not result.success and not optional:
                break
    Path(plan["status"]).write_text(json.dumps(outcomes), encoding="utf-8")
    failed = [o for o in outcomes if not o["success"] and not o.get("optional")]
    return 1 if failed else 0


def _node_results(result: Any) -> list[dict[str, Any]]:
    """Each node's outcome as run_results.json has it (a later command overwrites that file)."""
    return [
        {
            "unique_id": r.node.unique_id,
            "status": str(getattr(r.status, "value", r.status)),
            "message": r.message or "",
            "execution_time": round(r.execution_time or 0.0, 2),
        }
        for r in getattr(result, "results", None) or []
        if getattr(r, "node", None) is not None
    ]


def main() -> None:
    _die_with_parent()
    args = sys.argv[1:]
    if args[:1] == ["--plan"]:
        code = run_plan(json.loads(Path(args[1]).read_text(encoding="utf-8")))
        sys.stdout.flush()
        sys.stderr.flush()
        # Skip interpreter teardown: pyarrow dataset scanners (the delta plugin's sources) can abort
        # the process on exit after dbt has finished (apache/arrow#34314, delta-rs#2184).
        os._exit(code)
    from dbt.cli.main import cli

    cli()


if __name__ == "__main__":
    main()
