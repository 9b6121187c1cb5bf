"""The local folder that stands in for the lake where a step needs real files on this machine.

DuckDB opens only local files, ingestion writes its staging Parquet with pyarrow before uploading it
for Spark (``omnilake.storage.transient``) and dbt writes its artifacts to a folder. On a local lake
those files live in the lake; on an object-store lake they live under ``OMNILAKE_LOCAL_DIR``
(default: the system's temporary folder), in a folder of their own per lake root, and what others
must see is uploaded from there.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from omnilake.settings import LakeRoot, get_settings


def local_dir(root: LakeRoot, *parts: str) -> Path:
    """``<lake>/<parts>`` on a local lake; ``<local dir>/<lake digest>/<parts>`` on an object store."""
    if root.is_local:
        return Path(root.local_path, *parts)
    base = Path(get_settings().local_dir or tempfile.gettempdir()).expanduser() / "omnilake"
    lake = hashlib.sha256(root.uri.encode("utf-8")).hexdigest()[:16]
    return Path(base, lake, *parts)
