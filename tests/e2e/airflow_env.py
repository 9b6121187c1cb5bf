"""A throwaway Airflow home (SQLite) for DAG tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DAGS = Path(__file__).resolve().parents[2] / "dags"


def airflow_env(home: Path, lake: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "OMNILAKE_HOME": str(lake),
        "OMNILAKE_TASK_RETRIES": "0",
    }


def airflow(env: dict[str, str], *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    airflow_bin = Path(sys.executable).parent / "airflow"
    return subprocess.run([str(airflow_bin), *args], env=env, capture_output=True, text=True, timeout=timeout)
