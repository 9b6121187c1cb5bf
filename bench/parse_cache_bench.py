"""dbt's parse on a new lake, with and without the shared parse cache (omnilake.gold.parse_cache).

Each case is a new lake's first dbt process parsing the project and nothing else (the plan
runner's parse, no commands), alternately: without the cache (a full parse, as every new lake paid
before) and with it (the lake starts from the cached parse). CPU of the dbt process; the log says
whether dbt parsed in full.

    uv run python bench/parse_cache_bench.py --repeats 2
"""

import json
import os
import resource
import tempfile
from pathlib import Path

from omnilake import publish
from omnilake.gold import parse_cache
from omnilake.lake import Lake
from omnilake.settings import LakeRoot


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def new_lake_parse(use_cache: bool) -> tuple[float, str]:
    with tempfile.TemporaryDirectory(prefix="parse-bench-") as tmp:
        if not use_cache:
            os.environ["OMNILAKE_DBT_PARSE_CACHE"] = str(Path(tmp) / "no-cache")
        else:
            os.environ.pop("OMNILAKE_DBT_PARSE_CACHE", None)
        lake = Lake(LakeRoot(str(Path(tmp) / "lake")))
        warehouse = publish.dbt_build_path(lake)
        warehouse.parent.mkdir(parents=True, exist_ok=True)
        artifacts = publish.dbt_artifacts_path(lake)
        artifacts.mkdir(parents=True)
        parse_cache.prime(artifacts, publish.dbt_parse_key(lake, warehouse, {}))
        plan = artifacts.parent / "plan.json"
        plan.write_text(
            json.dumps(
                {
                    "commands": [],
                    "common": publish._dbt_common_args(lake),
                    "status": str(artifacts.parent / "s.json"),
                }
            )
        )
        c0 = children_cpu()
        returncode, _ = publish._run_child(["--plan", str(plan)], lake, warehouse, {}, "parse")
        if returncode != 0:
            raise SystemExit(f"dbt parse failed; log in {artifacts.parent / 'logs'}")
        cpu = children_cpu() - c0
        log = (artifacts.parent / "logs" / "dbt.log").read_text()
        how = (
            "FULL parse"
            if "Unable to do partial parsing" in log or "Starting full parse" in log
            else ("partial (no changes)" if "no changes found, skipping parsing" in log else "?")
        )
        return cpu, how


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    for _ in range(parser.parse_args().repeats):
        for use in (False, True):
            cpu, how = new_lake_parse(use)
            print(f"cache={use!s:5} cpu={cpu:.2f} {how}", flush=True)
