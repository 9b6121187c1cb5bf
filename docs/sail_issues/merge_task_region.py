"""Minimal reproduction: on a Sail 0.7.2 cluster, a Delta ``MERGE`` needs a task slot per data file
of its target at once, so a target that gains a file per write eventually cannot be merged at all.

The physical plan of the MERGE scans the target with one file group per file (``DataSourceExec:
file_groups={N groups: [[part-1]], [[part-2]], ...}``) where a plain read groups the files into the
session's partitions, and the scans, the joins with the source and the writer form one task region
whose tasks are all scheduled together. In ``local-cluster`` (or ``kubernetes-cluster``) mode with
``W`` workers of ``S`` task slots the MERGE fails once the target has about ``W * S`` files:

    invalid argument: task region requires 20 worker task slots, but the configured maximum is 16
    given a maximum of 2 workers with 8 task slots per worker

A plain read of the same table (``count``, ``group by``) works with a single slot, and so does the
MERGE in local mode. Omnilake's workaround: ``omnilake.delta.bound_files_for_merge`` compacts a
target with more than ``OMNILAKE_MERGE_MAX_FILES`` files (delta-rs ``optimize.compact``) before
merging into it.

Run: ``uv run python docs/sail_issues/merge_task_region.py`` (prints one line per step; exits 1
while the bug is present).
"""

from __future__ import annotations

import os
import sys
import tempfile

FILES = 20

# The cluster settings are read when the server starts: two workers, 8 task slots each (the default).
os.environ.update(
    SAIL_MODE="local-cluster",
    SAIL_CLUSTER__WORKER_INITIAL_COUNT="2",
    SAIL_CLUSTER__WORKER_MAX_COUNT="2",
    SAIL_CLUSTER__WORKER_TASK_SLOTS="8",
)
os.environ.setdefault("RUST_LOG", "error")

from pysail.spark import SparkConnectServer  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402


def main() -> int:
    server = SparkConnectServer("127.0.0.1", 0)
    server.start(background=True)
    host, port = server.listening_address
    spark = SparkSession.builder.remote(f"sc://{host}:{port}").getOrCreate()
    failed = 0
    try:
        path = tempfile.mkdtemp() + "/target"
        for n in range(FILES):  # one small append per run, as a log table gets
            spark.createDataFrame([(n, "old")], "k int, v string").write.format("delta").mode("append").save(
                path
            )
        rows = spark.read.format("delta").load(path).groupBy("v").count().collect()
        print(f"ok      read of {FILES} files: {rows}")
        spark.createDataFrame([(1, "new"), (100, "new")], "k int, v string").createOrReplaceTempView("source")
        try:
            spark.sql(
                f"merge into delta.`{path}` as t using source as s on t.k = s.k "
                "when matched then update set * when not matched then insert *"
            ).collect()
            print(f"ok      merge into {FILES} files")
        except Exception as exc:  # the point is to show the engine's error
            failed += 1
            print(f"error   merge into {FILES} files: {str(exc).splitlines()[0]}")
    finally:
        spark.stop()
        server.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
