"""The ``omnilake`` command. The only module that prints; errors become one line and exit 1."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.table import Table as RichTable

from omnilake.errors import OmnilakeError

app = typer.Typer(
    help="Omnilake: an omnichannel retail lakehouse (Spark jobs -> Delta Lake -> dbt marts).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


def _friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our errors into one line and a non-zero exit instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except OmnilakeError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr.")) -> None:
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
