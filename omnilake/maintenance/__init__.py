"""Routine Delta maintenance: what keeps a long-lived lake's tables as cheap as a young one's.

Every write leaves something behind. A rewrite (a merge, a replace, an overwrite) keeps the files it
replaced for readers of older versions; every commit adds a file to ``_delta_log``; appends of late
data put small files into old partitions. Nothing in the pipeline removes them, so a table's disk
grows with its history (``silver.event_attribution`` held about 15 times its live bytes after 30
dates) and its log with every run. ``maintain_lake`` does, table by table and under the writer lock
(the one-writer rule: it runs as the pipeline's ``maintain_tables`` step after publish, or as
``omnilake maintain``):

1. **compaction** (``compaction``): a partition holding ``compact_min_files`` small files or
   more, or an unpartitioned table past the writes' own bound (``merge_max_files``), is rewritten
   into few by delta-rs (``OPTIMIZE``,
   ``dataChange`` false: the rows and their partition stay as they were); fewer are left alone,
   since each compaction costs a rewrite and makes the next gate check the rewritten rows again;
2. **vacuum** (``retention``): data files that no version younger than ``vacuum_retention_hours``
   needs are deleted, orphans of crashed writes too; files of the newer versions stay, so a reader
   of the previous gold release or a gate comparing with the version it checked yesterday still
   finds them;
3. **log cleanup** (``retention``): a checkpoint when one is due, then the commits and checkpoints
   older than ``log_retention_hours`` up to the newest checkpoint the kept versions start from.

Bitemporal reads use knowledge dates, not time travel (``dbt_project/README.md``), so no result
depends on versions older than the retention. Erasure keeps its own zero-retention purge
(``omnilake.erasure.purge_history``). Each maintained table is recorded in ``ops.maintenance_log``
(``run``), and the step's summary (files and bytes freed) goes to the run's outcome and audit entry.
"""

from omnilake.maintenance.policy import Policy
from omnilake.maintenance.run import LakeMaintenance, maintain_lake, maintain_step

__all__ = ["LakeMaintenance", "Policy", "maintain_lake", "maintain_step"]
