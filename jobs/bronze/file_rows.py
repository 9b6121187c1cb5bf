"""A few columns of a bronze or quarantine table's rows from given landing files, read in this
process (delta-rs and pyarrow) rather than by the engine.

Reconciliation and a snapshot's state need only a hash, a line or a reason per row of this run's
files, which sit in their landing-date partitions: a lookup of a few thousand values, not engine
work. Through Spark Connect each such read was a plan of its own (a Delta log replay, a scan, a
collect and a Config call, 0.1-0.3 CPU-s per source on a small day); here it opens only the files
of those partitions.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import DeltaTable

from omnilake.landing import StagedFile


def rows_of_files(path: str, files: Sequence[StagedFile], columns: list[str]) -> pa.Table:
    """``columns`` of the rows of the table at ``path`` whose ``_file_hash`` is one of ``files``',
    in their ``_landing_date`` partitions (the table's partition column, where each file's rows are)."""
    dates = pa.array(sorted({f.file.landing_date for f in files}), pa.date32())
    hashes = pa.array(sorted({f.file_hash for f in files}), pa.string())
    partitions = [("_landing_date", "in", [d.isoformat() for d in dates.to_pylist()])]
    wanted = ds.field("_landing_date").isin(dates) & ds.field("_file_hash").isin(hashes)
    dataset = DeltaTable(path).to_pyarrow_dataset(partitions=partitions)
    return dataset.to_table(columns=columns, filter=wanted)
