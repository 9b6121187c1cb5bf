"""One typed settings object, read from ``OMNILAKE_*`` environment variables (and ``SPARK_REMOTE``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from omnilake.errors import ConfigError

# Marked as a development value on purpose: refused when OMNILAKE_ENV=prod.
DEV_PSEUDONYM_KEY = "omnilake-development-key-NOT-FOR-PRODUCTION"
# The shortest routine vacuum retention: a day's run reads what the previous one wrote (gate scopes,
# the previous gold release), so a file must outlive at least one day between runs.
VACUUM_RETENTION_FLOOR_HOURS = 24


class LakeRoot:
    """The lake root: a local path or an object-store URI (``s3://bucket/prefix``)."""

    def __init__(self, uri: str) -> None:
        parsed = urlparse(uri)
        if parsed.scheme in ("", "file") or len(parsed.scheme) == 1:  # one letter: a Windows drive
            self.scheme = "file"
            self.uri = str(Path(parsed.path if parsed.scheme == "file" else uri).expanduser().resolve())
        elif parsed.scheme in ("s3", "s3a", "gs", "abfss", "az"):
            self.scheme = parsed.scheme
            self.uri = uri.rstrip("/")
        else:
            raise ConfigError(f"OMNILAKE_HOME={uri!r}: use a local path or an s3://, gs:// or abfss:// URI")

    @property
    def is_local(self) -> bool:
        return self.scheme == "file"

    @property
    def local_path(self) -> Path:
        if not self.is_local:
            raise ConfigError(f"{self.uri} is an object-store URI; this operation needs a local lake root")
        return Path(self.uri)

    def join(self, *parts: str) -> str:
        return "/".join([self.uri, *parts])

    def __str__(self) -> str:
        return self.uri

    def __repr__(self) -> str:
        return f"LakeRoot({self.uri!r})"


class Settings(BaseSettings):
    """Everything configurable, with its environment variable in ``Field(description=...)``."""

    model_config = SettingsConfigDict(env_prefix="OMNILAKE_", extra="ignore")

    home: str = Field(".omnilake", description="Lake root: a local path or s3://… URI")
    env: Literal["dev", "test", "prod"] = Field("dev", description="Deployment environment")
    engine: Literal["sail", "remote", "spark-local"] = Field(
        "sail",
        description="sail (embedded), remote (SPARK_REMOTE), spark-local (classic Spark + delta-spark)",
    )
    spark_remote: str | None = Field(
        None,
        validation_alias=AliasChoices("SPARK_REMOTE", "OMNILAKE_SPARK_REMOTE"),
        description="Spark Connect URL of a cluster, e.g. sc://host:15002; selects the remote engine",
    )
    spark_jars: str | None = Field(None, description="Comma-separated local Delta jars for spark-local")
    sail_memory_limit: str | None = Field(
        "8GiB", description="Cap on Sail's memory pool (greedy pool); empty for unbounded"
    )
    shuffle_partitions: int = Field(4, description="spark.sql.shuffle.partitions for local engines")
    pseudonym_key: SecretStr = Field(
        SecretStr(DEV_PSEUDONYM_KEY), description="HMAC-SHA256 key for pseudonymising identifiers"
    )
    timezone: str = Field("UTC", description="Session time zone of the engine")
    analyst_role: Literal["analyst", "privileged"] = Field(
        "analyst", description="Warehouse readers: analyst (masked views) or privileged (unmasked marts)"
    )
    dbt_docs: bool = Field(
        True,
        description="Generate dbt docs (catalog and manifest) with the gold build (once per multi-date run, on its last date)",
    )
    dbt_memory_limit: str = Field(
        "1GiB",
        description="DuckDB memory limit of the gold build (dbt); beyond it its in-memory staging tables "
        "spill to <warehouse build>.tmp, removed after each build ('80%' of RAM is DuckDB's own default)",
    )
    feeds: str | None = Field(
        None,
        description="The retailer's feeds declaration (YAML: sources, cadence, kind); default schemas/feeds.yaml",
    )
    restatement_days: int = Field(
        3,
        ge=0,
        description="Lateness window: a run also revises the dated snapshots of this many business dates before it",
    )
    snapshot_diff: bool = Field(
        True, description="Ingest full-snapshot feeds as changes (off: every snapshot whole, for comparison)"
    )
    lock_lease_seconds: float = Field(
        60.0,
        gt=0,
        description="Object-store lakes: the writer lock's lease; a holder not renewing it for this long is taken over",
    )
    local_dir: str | None = Field(
        None,
        description="Object-store lakes: local folder for the warehouse build, dbt artifacts and ingestion staging (default: the system temp folder)",
    )
    task_retries: int = Field(
        2, description="Retries of each Airflow task (exponential backoff from 2 minutes)"
    )
    access_personal_rows_per_day: int = Field(
        10000,
        ge=0,
        description="Unusual access: one reader returning more personal rows in a UTC day through omnilake sql",
    )
    alert_webhook: str | None = Field(
        None,
        description="URL alerts (failed gate or task, flagged access) are POSTed to as JSON; unset: none",
    )
    alert_timeout_seconds: float = Field(5.0, gt=0, description="How long an alert's POST may take")
    merge_max_files: int = Field(
        16,
        ge=1,
        description="A merge target, or an unpartitioned table written, with more data files is compacted "
        "first (Sail schedules a MERGE's scan of every file at once: keep well below the cluster's "
        "workers x task slots)",
    )

    maintenance_interval_days: int = Field(
        7,
        ge=1,
        description="The pipeline's maintain_tables step vacuums, compacts and cleans the logs of every "
        "Delta table when this many landing dates have passed since it last did (omnilake maintain: any time)",
    )
    vacuum_retention_hours: int = Field(
        168,
        ge=VACUUM_RETENTION_FLOOR_HOURS,
        description="Routine vacuum: a data file the table stopped using is deleted this long after; "
        f"at least {VACUUM_RETENTION_FLOOR_HOURS} (a quality gate compares with the version the "
        "previous run checked; apps read the previous gold release). Erasure always uses zero",
    )
    log_retention_hours: int = Field(
        720,
        ge=VACUUM_RETENTION_FLOOR_HOURS,
        description="Routine log cleanup: commits older than this are removed up to a checkpoint "
        "(never shorter than vacuum_retention_hours: a version whose files are kept stays readable; "
        "delta-rs's own checkpoints also remove commits past the table's delta.logRetentionDuration, 30 days)",
    )
    compact_min_files: int = Field(
        8,
        ge=2,
        description="Routine compaction: a partition with this many small data files or more is "
        "rewritten into few; fewer are left as they are (an unpartitioned table: past merge_max_files, "
        "the writes' own bound)",
    )

    @model_validator(mode="after")
    def _log_outlives_files(self) -> Settings:
        if self.log_retention_hours < self.vacuum_retention_hours:
            raise ValueError(
                "OMNILAKE_LOG_RETENTION_HOURS must be at least OMNILAKE_VACUUM_RETENTION_HOURS "
                f"({self.log_retention_hours} < {self.vacuum_retention_hours})"
            )
        return self

    @field_validator("spark_remote")
    @classmethod
    def _check_remote(cls, value: str | None) -> str | None:
        if value and not value.startswith("sc://"):
            raise ValueError("SPARK_REMOTE must look like sc://host:port")
        return value or None

    @model_validator(mode="after")
    def _remote_selects_engine(self) -> Settings:
        if self.spark_remote and self.engine == "sail":
            self.engine = "remote"
        if self.engine == "remote" and not self.spark_remote:
            raise ValueError("OMNILAKE_ENGINE=remote needs SPARK_REMOTE=sc://host:port")
        return self

    @property
    def lake(self) -> LakeRoot:
        return LakeRoot(self.home)

    def require_production_safe(self) -> None:
        """Refuse development defaults in production."""
        if self.env == "prod" and self.pseudonym_key.get_secret_value() == DEV_PSEUDONYM_KEY:
            raise ConfigError(
                "OMNILAKE_ENV=prod refuses the development pseudonymisation key: set OMNILAKE_PSEUDONYM_KEY"
            )


@cache
def get_settings() -> Settings:
    try:
        settings = Settings()
    except ValueError as exc:
        raise ConfigError(f"invalid settings: {exc}") from None
    settings.require_production_safe()
    return settings


def reset_settings() -> None:
    """Forget cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
