"""The dbt delta plugin's table paths (omnilake.gold.delta_source): relative to the lake root, so
that nothing in the parsed project names the lake."""

from __future__ import annotations

import pytest

from omnilake.gold.delta_source import table_location


@pytest.mark.parametrize(
    ("path", "home", "expected"),
    [
        ("silver/events", "/lakes/one", "/lakes/one/silver/events"),
        ("silver/events", "s3://bucket/lake", "s3://bucket/lake/silver/events"),
        ("/elsewhere/events", "/lakes/one", "/elsewhere/events"),
        ("s3://other/events", "/lakes/one", "s3://other/events"),
    ],
)
def test_a_relative_table_path_is_under_the_lake_root(monkeypatch, path, home, expected):
    monkeypatch.setenv("OMNILAKE_HOME", home)
    assert table_location(path) == expected
