"""Data Docs import GE without the integrations the site never uses, and with its statistics and
chart libraries loaded on first use: in a fresh interpreter, as a pipeline process imports it."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("great_expectations")


def test_ge_imports_for_data_docs_without_unused_integrations_and_defers_the_rest():
    script = (
        "import sys\n"
        "from quality.data_docs import _slim_ge_import\n"
        "with _slim_ge_import():\n"
        "    from great_expectations.render.renderer.site_builder import SiteBuilder\n"
        "assert not any(m.split('.')[0] in ('sqlalchemy', 'boto3', 'botocore') for m in sys.modules)\n"
        "assert 'pyspark.ml' not in sys.modules\n"
        "stats = sys.modules['scipy.stats']\n"
        "assert type(stats).__name__ == '_LazyModule'\n"
        "assert round(stats.norm.cdf(0), 2) == 0.5  # loads on use\n"
        "import sqlalchemy  # the finder is gone: later imports are untouched\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
