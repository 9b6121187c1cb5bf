"""A silver Delta table as the files its log holds now, for the gold build's DuckDB mirrors.

Delta never changes a data file in place: a table's rows are the rows of its live files (with
their partition values), so a copy kept per file follows the table by the files its log gained and
lost since. That holds only while no reader feature changes rows without changing files (deletion
vectors, column mapping): such a table is not mirrored (``live_files`` returns None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.dataset as pds
from deltalake import DeltaTable

if TYPE_CHECKING:
    from omnilake.lake import Lake

SOURCE_FILE = "_source_file"


@dataclass(frozen=True)
class LiveFiles:
    """A silver table as its log has it now: its Delta id, version and live files (as Arrow
    fragments of delta-rs's dataset, which carry the partition values)."""

    table_id: str
    version: int
    dataset: pds.FileSystemDataset
    fragments: dict[str, pds.Fragment]

    @property
    def schema(self) -> pa.Schema:
        return self.dataset.schema

    def rows_of(self, paths: list[str], columns: tuple[str, ...] | None = None) -> pa.Table:
        """The rows of the files ``paths`` (``columns``, default all), each with its file's path in
        ``_source_file``."""
        names = list(columns) if columns is not None else self.dataset.schema.names
        tables = []
        for path in paths:
            one = pds.FileSystemDataset(
                [self.fragments[path]], self.dataset.schema, self.dataset.format, self.dataset.filesystem
            ).to_table(columns=names)
            tables.append(one.append_column(SOURCE_FILE, pa.array([path] * one.num_rows, pa.string())))
        if not tables:
            schema = pa.schema([self.dataset.schema.field(c) for c in names]).append(
                pa.field(SOURCE_FILE, pa.string())
            )
            return schema.empty_table()
        return pa.concat_tables(tables)


def live_files(lake: Lake, name: str) -> LiveFiles | None:
    """``silver.<name>`` as its live files; None when it is missing or uses a reader feature that
    changes rows without changing files."""
    path = lake.path("silver", name)
    if not DeltaTable.is_deltatable(path):
        return None
    table = DeltaTable(path)
    if table.protocol().min_reader_version > 1:  # deletion vectors, column mapping
        return None
    dataset = table.to_pyarrow_dataset()
    fragments = {fragment.path: fragment for fragment in dataset.get_fragments()}
    return LiveFiles(table.metadata().id, table.version(), dataset, fragments)
