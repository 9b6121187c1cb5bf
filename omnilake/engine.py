"""The engine: one function hands out the SparkSession every job uses.

- ``sail`` (default): a Sail Spark Connect server of our own on a free loopback port, in a child
  process started on first use and stopped at exit (or when the parent dies). No JVM. Its own
  process, because Sail 0.7.2 never frees the parser it builds for each SQL or expression string
  it parses (``docs/sail_issues/parser_memory_per_call.py``): only a process exit returns that
  memory, so a multi-date run starts a fresh server between dates (``recycle_engine``). Sail
  reads its own ``SAIL_*`` variables when it starts:
  ``SAIL_MODE=local-cluster`` (with ``SAIL_CLUSTER__WORKER_INITIAL_COUNT=2``) runs each plan's stages
  on in-process workers that shuffle over Arrow Flight, as a cluster would.
- ``remote``: ``SPARK_REMOTE=sc://host:port`` points the same jobs at an Apache Spark or Databricks
  cluster (Delta there comes from ``delta-spark`` on the cluster).
- ``spark-local``: classic local Spark with ``delta-spark`` jars (needs Java, and Maven or
  ``OMNILAKE_SPARK_JARS``).

Jobs use only the DataFrame/SQL API that works over Spark Connect.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import subprocess
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from omnilake.errors import EngineError
from omnilake.settings import Settings, get_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_size(text: str) -> int:
    """'8GiB' -> bytes."""
    match = _SIZE.match(text)
    if not match:
        raise EngineError(f"cannot read the size {text!r}; write it like 8GiB or 512MB")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "b").lower()])


@dataclass
class Engine:
    """A running engine: the session plus what is needed to stop it."""

    name: str
    spark: SparkSession
    remote_url: str | None = None
    _server: subprocess.Popen | None = None
    _shuffle_partitions: int | None = None

    def stop(self) -> None:
        try:
            self.spark.stop()
        finally:
            if self._server is not None:
                _stop_server(self._server)
                self._server = None


_lock = threading.Lock()
_engine: Engine | None = None
_stop_registered = False


def _quiet_pyspark() -> None:
    warnings.filterwarnings("ignore", module="pyspark")
    logging.getLogger("py4j").setLevel(logging.WARNING)


def _configure(spark: SparkSession, settings: Settings) -> None:
    spark.conf.set("spark.sql.session.timeZone", settings.timezone)
    if settings.engine != "remote":
        spark.conf.set("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))


EMBEDDED_SESSION_TIMEOUT_SECONDS = 30 * 24 * 3600


# The server process: prints its address, then serves until its stdin closes, which happens when
# the parent stops it or dies in any way (so no server outlives its pipeline process).
_SERVER_MAIN = """
import os, sys
from pysail.spark import SparkConnectServer
server = SparkConnectServer("127.0.0.1", 0)
server.start(background=True)
host, port = server.listening_address
print(f"{host} {port}", flush=True)
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing more is read from the pipe: never fill it
sys.stdin.read()
os._exit(0)
"""

SERVER_START_TIMEOUT_SECONDS = 120


def _start_server() -> tuple[subprocess.Popen, str]:
    """A Sail server in a child process, with the environment as it is now; its ``sc://`` URL."""
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER_MAIN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    address: list[str] = []
    reader = threading.Thread(target=lambda: address.append(server.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(SERVER_START_TIMEOUT_SECONDS)
    if not address or not address[0].strip():
        _stop_server(server)
        raise EngineError(
            f"the Sail server did not start (exit code {server.returncode}); its errors are above"
        )
    server.stdout.close()  # type: ignore[union-attr]
    host, port = address[0].split()
    return server, f"sc://{host}:{port}"


def _stop_server(server: subprocess.Popen) -> None:
    try:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        server.kill()
        server.wait()


def _start_sail(settings: Settings) -> Engine:
    if settings.sail_memory_limit:
        # Sail's memory pool is unbounded by default; cap it unless the operator already chose.
        os.environ.setdefault("SAIL_RUNTIME__MEMORY_POOL__TYPE", "greedy")
        os.environ.setdefault(
            "SAIL_RUNTIME__MEMORY_POOL__GREEDY__MAX_SIZE", str(parse_size(settings.sail_memory_limit))
        )
    os.environ.setdefault("RUST_LOG", "error")
    # Sail ends a Spark Connect session idle for 15 minutes; a run that spends longer in dbt (or a
    # worker between tasks) would then find its session gone. The server serves this process only,
    # so its session lives as long as the process does.
    os.environ.setdefault("SAIL_SPARK__SESSION_TIMEOUT_SECS", str(EMBEDDED_SESSION_TIMEOUT_SECONDS))
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - the lock file installs it
        raise EngineError(f"the sail engine needs pyspark[connect]: {exc}") from exc
    server, url = _start_server()
    try:
        spark = SparkSession.builder.remote(url).getOrCreate()
    except Exception:
        _stop_server(server)
        raise
    # Reattachable execution lets a client resume a result stream after a dropped connection; over
    # loopback to a server of our own there is none to resume, and it costs a ReleaseExecute call
    # per response batch (about half of a pipeline's Spark Connect calls).
    spark.client.disable_reattachable_execute()
    log.info("started Sail at %s (process %d)", url, server.pid)
    return Engine("sail", spark, url, server)


def _start_remote(settings: Settings) -> Engine:
    from pyspark.sql import SparkSession

    try:
        spark = SparkSession.builder.remote(settings.spark_remote).getOrCreate()
        spark.sql("select 1").collect()
    except Exception as exc:
        raise EngineError(f"cannot reach the Spark Connect server at {settings.spark_remote}: {exc}") from exc
    return Engine("remote", spark, settings.spark_remote)


def _start_spark_local(settings: Settings) -> Engine:
    from pyspark.sql import SparkSession

    # A Spark Connect session earlier in this process leaves this switch on; classic needs it off.
    os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)

    builder = (
        SparkSession.builder.master("local[*]")
        .appName("omnilake")
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.ui.enabled", "false")
    )
    if settings.spark_jars:
        builder = builder.config("spark.jars", settings.spark_jars)
    else:
        try:
            from delta import configure_spark_with_delta_pip
        except ImportError as exc:
            raise EngineError(
                "OMNILAKE_ENGINE=spark-local needs delta-spark: uv sync --extra spark-local"
            ) from exc
        builder = configure_spark_with_delta_pip(builder)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:
        raise EngineError(
            f"classic local Spark did not start (Java present? jars reachable?): {exc}"
        ) from exc
    return Engine("spark-local", spark)


_STARTERS = {"sail": _start_sail, "remote": _start_remote, "spark-local": _start_spark_local}


def get_engine(settings: Settings | None = None) -> Engine:
    """The process-wide engine, started on first use and stopped at interpreter exit."""
    global _engine, _stop_registered
    with _lock:
        if _engine is None:
            settings = settings or get_settings()
            _quiet_pyspark()
            _engine = _STARTERS[settings.engine](settings)
            _configure(_engine.spark, settings)
            if not _stop_registered:
                atexit.register(stop_engine)
                _stop_registered = True
        return _engine


def get_spark(settings: Settings | None = None) -> SparkSession:
    """The SparkSession every job uses."""
    return get_engine(settings).spark


def shuffle_partitions(spark: SparkSession) -> int:
    """``spark.sql.shuffle.partitions`` of ``spark``: asked of the engine once per process for the
    process-wide session (a Config round trip each time otherwise), every time for any other."""
    engine = _engine
    if engine is None or engine.spark is not spark:
        return int(spark.conf.get("spark.sql.shuffle.partitions", "4"))
    if engine._shuffle_partitions is None:
        engine._shuffle_partitions = int(spark.conf.get("spark.sql.shuffle.partitions", "4"))
    return engine._shuffle_partitions


def stop_engine() -> None:
    global _engine
    with _lock:
        if _engine is not None:
            engine, _engine = _engine, None
            engine.stop()


def engine_started() -> bool:
    """Whether this process holds an engine session now (``get_spark`` was called and not stopped)."""
    with _lock:
        return _engine is not None


def recycle_engine() -> None:
    """Stop this process's own Sail server so that the next ``get_spark`` starts a fresh one.

    A multi-date run calls this between dates: the memory Sail leaks per parsed string (about
    0.1 MiB per SQL statement) goes back to the system with the old process, as it does between
    Airflow tasks. A remote or classic engine is left running: nothing of it leaks here."""
    with _lock:
        engine = _engine
    if engine is not None and engine._server is not None:
        stop_engine()
