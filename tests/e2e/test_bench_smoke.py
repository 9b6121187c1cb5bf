"""The pipeline benchmark runs end to end at a tiny scale and reports every stage (structure, not speed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.pipeline_bench import STAGES, run_benchmark

pytestmark = pytest.mark.e2e


def test_benchmark_reports_every_stage_the_incremental_day_and_the_floor(tmp_path: Path):
    record = run_benchmark(0.02, 1, tmp_path)

    run, incremental, baseline = record["run"], record["incremental"], record["baseline"]
    assert run["dates"] == ["2026-01-01"]
    assert incremental["dates"] == baseline["dates"] == ["2026-01-02"]
    for summary in (run, incremental, baseline):
        assert list(summary["stages"]) == list(STAGES)
        for stage in summary["stages"].values():
            assert stage["seconds"] > 0
            assert stage["peak_rss_bytes"] > 0
        assert summary["stages"]["ingest"]["input_rows"] > 0
        assert summary["stages"]["publish"]["input_rows"] > 0
        assert summary["engine_start_seconds"] > 0
    # Same delivery on both lakes: ingestion reads the same records.
    assert incremental["stages"]["ingest"]["input_rows"] == baseline["stages"]["ingest"]["input_rows"]
    # One dbt process: the project parsed once, then the build and its docs on that parse.
    assert [c["command"] for c in run["dbt_commands"]] == ["parse", "build", "generate"]

    assert record["floor"]["files"] >= 8  # at least one file per source for the day
    assert record["floor"]["rows"] > 0
    assert record["floor_ratio"] > 0
    assert record["incremental_ratio"] > 0
    assert 0 < record["gates_share"] < 1
    assert record["machine"]["cores"] >= 1
    assert record["versions"]["pysail"] and record["versions"]["duckdb"]

    lines = (tmp_path / "pipeline.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [json.loads(json.dumps(record))]
    summary_table = (tmp_path / "pipeline.md").read_text()
    assert "## Scale 0.02" in summary_table and "| dbt |" in summary_table
    assert (tmp_path / "pipeline_stages.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not any((tmp_path / "tmp").iterdir())  # the lakes are removed
