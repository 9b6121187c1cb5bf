import pytest
from typer.testing import CliRunner

from omnilake.cli import app

pytestmark = pytest.mark.integration


def test_doctor_writes_reads_and_merges_on_sail(lake):
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "engine     sail" in result.output
    assert "1 inserted, 1 updated, 4 rows" in result.output
    assert "extra column 'unexpected'" in result.output
    assert "healthy" in result.output


def test_cli_turns_our_errors_into_one_line(monkeypatch, lake_home):
    from omnilake.settings import reset_settings

    monkeypatch.setenv("OMNILAKE_HOME", "ftp://nowhere/lake")
    reset_settings()
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "error:" in result.output and "ftp://" in result.output
    assert "Traceback" not in result.output
