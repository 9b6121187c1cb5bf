"""The engine: one function hands out the SparkSession every job uses.

- ``sail`` (default): an embedded Sail Spark Connect server on a free loopback port, started once per
  process and stopped at exit. No JVM. Sail reads its own ``SAIL_*`` variables when it starts:
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
    _server: object | None = None
    _shuffle_partitions: int | None = None

    def stop(self) -> None:
        # The client must go before the embedded server, or the interpreter hangs at exit.
        try:
            self.spark.stop()
        finally:
            if self._server is not None:
                self._server.stop()  # type: ignore[attr-defined]
                self._server = None


_lock = threading.Lock()
_engine: Engine | None = None


def _quiet_pyspark() -> None:
    warnings.filterwarnings("ignore", module="pyspark")
    logging.getLogger("py4j").setLevel(logging.WARNING)


def _configure(spark: SparkSession, settings: Settings) -> None:
    spark.conf.set("spark.sql.session.timeZone", settings.timezone)
    if settings.engine != "remote":
        spark.conf.set("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))


EMBEDDED_SESSION_TIMEOUT_SECONDS = 30 * 24 * 3600


def _start_sail(settings: Settings) -> Engine:
    if settings.sail_memory_limit:
        # Sail's memory pool is unbounded by default; cap it unless the operator already chose.
        os.environ.setdefault("SAIL_RUNTIME__MEMORY_POOL__TYPE", "greedy")
        os.environ.setdefault(
            "SAIL_RUNTIME__MEMORY_POOL__GREEDY__MAX_SIZE", str(parse_size(settings.sail_memory_limit))
        )
    os.environ.setdefault("RUST_LOG", "error")
    # Sail ends a Spark Connect session idle for 15 minutes; a run that spends longer in dbt (or a
    # worker between tasks) would then find its session gone. The embedded server serves this
    # process only, so its session lives as long as the process does.
    os.environ.setdefault("SAIL_SPARK__SESSION_TIMEOUT_SECS", str(EMBEDDED_SESSION_TIMEOUT_SECONDS))
    try:
        from pysail.spark import SparkConnectServer
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - the lock file installs both
        raise EngineError(f"the sail engine needs pysail and pyspark[connect]: {exc}") from exc
    server = SparkConnectServer("127.0.0.1", 0)
    server.start(background=True)
    host, port = server.listening_address
    url = f"sc://{host}:{port}"
    spark = SparkSession.builder.remote(url).getOrCreate()
    # Reattachable execution lets a client resume a result stream after a dropped connection; over
    # loopback to a server in this process there is none to resume, and it costs a ReleaseExecute
    # call per response batch (about half of a pipeline's Spark Connect calls).
    spark.client.disable_reattachable_execute()
    log.info("started embedded Sail at %s", url)
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
    global _engine
    with _lock:
        if _engine is None:
            settings = settings or get_settings()
            _quiet_pyspark()
            _engine = _STARTERS[settings.engine](settings)
            _configure(_engine.spark, settings)
            atexit.register(stop_engine)
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
