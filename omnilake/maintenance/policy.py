"""How much history maintenance keeps and when compaction is worth a rewrite."""

from __future__ import annotations

from dataclasses import dataclass

from omnilake.settings import Settings, get_settings

# delta-rs compacts files smaller than its target into files of about that size; the lake's files
# are far smaller, so in practice every file of a compacted partition is rewritten.
TARGET_FILE_BYTES = 128 * 2**20


@dataclass(frozen=True)
class Policy:
    """What one maintenance pass does; ``from_settings`` is the configured one. Tests and benchmarks
    build others (a zero retention, as erasure's, is never a setting: ``Settings`` refuses it)."""

    vacuum_retention_hours: float = 168
    log_retention_hours: float = 720
    compact_min_files: int = 8
    # An unpartitioned table is compacted only past the writes' own bound (``merge_max_files``):
    # below it the next write compacts it anyway, and each compaction of a whole table makes the
    # next gate check the whole table again. Past it: tables delta-rs appends to outside
    # ``omnilake.delta``, such as gold's accumulating marts.
    compact_unpartitioned_min_files: int = 17
    target_file_bytes: int = TARGET_FILE_BYTES

    def __post_init__(self) -> None:
        if self.vacuum_retention_hours < 0 or self.log_retention_hours < 0:
            raise ValueError("retention cannot be negative")
        if self.log_retention_hours < self.vacuum_retention_hours:
            raise ValueError("the log must be kept at least as long as the files its versions need")
        if min(self.compact_min_files, self.compact_unpartitioned_min_files) < 2:
            raise ValueError("compacting fewer than two files removes none")

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Policy:
        settings = settings or get_settings()
        return cls(
            vacuum_retention_hours=settings.vacuum_retention_hours,
            log_retention_hours=settings.log_retention_hours,
            compact_min_files=settings.compact_min_files,
            compact_unpartitioned_min_files=settings.merge_max_files + 1,
        )
