"""Great Expectations' context for a gate run, and Data Docs that read offline.

Where GE keeps things, under the lake root::

    _ops/gx/expectations/     the suites as last declared (JSON; the source of truth is quality/)
    _ops/gx/validations/      every validation result (JSON), one folder per suite and run
    _ops/data_docs/           the Data Docs site: index.html, expectations/, validations/, static/

GE's pages load Bootstrap, jQuery, bootstrap-table, Font Awesome and Vega from CDNs. After each
build, every page written is rewritten to load the copies vendored in ``quality/data_docs_assets/``
(copied to ``static/offline/``), charts are replaced by a note, and GE's remote logo by its local
copy: the site opens from a laptop or an air-gapped server alike.

GE's file stores and the page rewriting need a local folder. On an object-store lake both live in
the lake's local folder (``omnilake.storage.local``): before a build, results other machines left on
the store and missing here are fetched, and after it every file the build wrote is uploaded to the
same paths under the lake, so the site on the store is the whole site.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from importlib.util import LazyLoader
from pathlib import Path
from typing import TYPE_CHECKING

from omnilake.storage.filesystem import append_text, filesystem_for
from omnilake.storage.local import local_dir

if TYPE_CHECKING:
    from great_expectations.data_context import EphemeralDataContext

    from omnilake.lake import Lake

log = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).resolve().parent / "data_docs_assets"
SITE_NAME = "omnilake"
OFFLINE_DIR = ("static", "offline")
# The index lists at most this many validation results (the newest); older pages stay on disk.
INDEX_VALIDATIONS_LIMIT = 500
# The index's validation links as last rendered, so that the next index reads no stored result.
_INDEX_LINKS = ("_ops", "gx", "index_links.json")


# Importing GE costs seconds, and rendering pages from files needs little of what it loads. GE probes
# these integrations at import and does without them when they are missing: the site uses none.
_GE_UNUSED = ("pyspark.ml", "boto3", "botocore", "sqlalchemy")
# GE imports these at module level for expectations the site only names (statistical tests, charts):
# loaded on first use (``importlib.util.LazyLoader``), not on GE's import.
_GE_DEFERRED = ("scipy.stats", "altair")


class _SlimImport(MetaPathFinder):
    """While GE is imported: the unused integrations are not found, the deferred ones load lazily.
    Only names not imported yet: a package already loaded (an object-store lake's botocore) is left whole."""

    def __init__(self) -> None:
        self.unused = tuple(name for name in _GE_UNUSED if name not in sys.modules)
        self.deferred = tuple(name for name in _GE_DEFERRED if name not in sys.modules)

    def find_spec(self, name: str, path, target=None) -> ModuleSpec | None:
        if any(name == unused or name.startswith(unused + ".") for unused in self.unused):
            raise ModuleNotFoundError(f"No module named {name!r} (not loaded for Data Docs)", name=name)
        if name not in self.deferred:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = LazyLoader(spec.loader)
                return spec
        return None


@contextmanager
def _slim_ge_import() -> Iterator[None]:
    if "great_expectations" in sys.modules:
        yield
        return
    finder = _SlimImport()
    sys.meta_path.insert(0, finder)
    try:
        import great_expectations  # noqa: F401

        yield
    finally:
        sys.meta_path.remove(finder)


def docs_root(lake: Lake) -> Path:
    """The site's folder: in the lake, or in an object-store lake's local folder (uploaded after builds)."""
    return local_dir(lake.root, "_ops", "data_docs")


def gx_context(lake: Lake) -> EphemeralDataContext:
    """An in-process GE context whose suites, results and Data Docs live under the lake root.
    (Importing GE takes seconds: only rendering Data Docs needs it.)"""
    with _slim_ge_import():
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    defaults = InMemoryStoreBackendDefaults()
    stores = dict(defaults.stores)
    sites: dict = {}
    site = docs_root(lake)
    if site is not None:
        for store_name, folder in (
            (defaults.expectations_store_name, "expectations"),
            (defaults.validation_results_store_name, "validations"),
        ):
            stores[store_name] = {
                **stores[store_name],
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(local_dir(lake.root, "_ops", "gx", folder)),
                },
            }
        # GE's builders, but listing nothing that grows with history (quality.data_docs_site)
        given = {"module_name": "quality.data_docs_site", "class_name": "GivenPagesSectionBuilder"}
        sites[SITE_NAME] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site)},
            "site_section_builders": {
                section: dict(given) for section in ("expectations", "validations", "profiling")
            },
            "site_index_builder": {
                "module_name": "quality.data_docs_site",
                "class_name": "RecordedIndexBuilder",
                "validation_results_limit": INDEX_VALIDATIONS_LIMIT,
                "links_file": str(index_links_path(lake)),
            },
        }
    config = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def index_links_path(lake: Lake) -> Path:
    """The index's validation links as last rendered (``quality.data_docs_site``)."""
    return local_dir(lake.root, *_INDEX_LINKS)


def build_data_docs(lake: Lake, suite_names: list[str], validations: list[tuple[str, ...]]) -> Path | None:
    """Render the pages of these validation results (``quality.ge_format`` keys), the pages of their
    suites and of ``suite_names`` that are missing or older than the suite's declaration, and the
    index, made readable offline. Returns the index page (on an object-store lake, its URI on the store).

    What a build reads and writes is the pages it renders, the suites' declarations and the index's
    recorded links: nothing that grows with the results kept.
    """
    with _slim_ge_import():
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        from quality.data_docs_site import read_links, validation_link, write_links

    site = docs_root(lake)
    started = time.time()
    if not lake.root.is_local:
        _fetch_missing(lake, ("_ops", "gx"))
        _fetch_latest(lake, _INDEX_LINKS)
    results = local_dir(lake.root, "_ops", "gx", "validations")
    keys = list(dict.fromkeys(tuple(key) for key in validations))
    suites = {*suite_names, *(".".join(key[:-3]) for key in keys)}
    stale = sorted(name for name in suites if _suite_page_stale(lake, site, name))
    # A set: GE tests every key of its stores for membership, against a list one by one (a cost
    # growing with the results kept times the pages rendered); keys hash as their tuples.
    identifiers = frozenset(
        [
            *(ExpectationSuiteIdentifier(name=name) for name in stale),
            *(ValidationResultIdentifier.from_tuple(key) for key in keys),
        ]
    )
    links_file = index_links_path(lake)
    recorded = read_links(links_file)
    if recorded is not None:  # else the index builder lists the site once and records it
        new = [validation_link(key, _read_result(results, key)) for key in keys]
        fresh = {tuple(link["key"]) for link in new}
        write_links(links_file, [*new, *(link for link in recorded if tuple(link["key"]) not in fresh)])
    gx_context(lake).build_data_docs(site_names=[SITE_NAME], resource_identifiers=identifiers)
    offline = site.joinpath(*OFFLINE_DIR)
    shutil.copytree(ASSETS_DIR, offline, dirs_exist_ok=True)
    written = [
        site / "index.html",
        *(site.joinpath("expectations", *name.split(".")).with_suffix(".html") for name in stale),
        *(site.joinpath("validations", *key[:-1], f"{key[-1]}.html") for key in keys),
    ]
    for page in written:
        if not page.is_file() or page.stat().st_mtime < started - 1:
            continue
        static = Path(os.path.relpath(site / "static", page.parent)).as_posix()
        page.write_text(make_offline(page.read_text(encoding="utf-8"), static), encoding="utf-8")
    if not lake.root.is_local:
        for parts in (("_ops", "gx"), ("_ops", "data_docs")):
            _upload_changed(lake, parts, started - 1)
        return lake.path("_ops", "data_docs", "index.html")  # type: ignore[return-value]
    return site / "index.html"


def _read_result(results: Path, key: tuple[str, ...]) -> dict:
    path = results.joinpath(*key[:-1], f"{key[-1]}.json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _suite_page_stale(lake: Lake, site: Path, name: str) -> bool:
    """Whether the suite's page is missing or older than its declaration in GE's store."""
    declared = (
        local_dir(lake.root, "_ops", "gx", "expectations").joinpath(*name.split(".")).with_suffix(".json")
    )
    page = site.joinpath("expectations", *name.split(".")).with_suffix(".html")
    if not declared.is_file():
        return False  # nothing to render (GE would skip it)
    return not page.is_file() or page.stat().st_mtime < declared.stat().st_mtime


def _fetch_latest(lake: Lake, parts: tuple[str, ...]) -> None:
    """Download one file of the lake over the local copy (one the local folder may hold stale)."""
    fs = filesystem_for(lake.root.uri)
    remote = lake.path(*parts)
    if fs.stat(remote) is not None:
        fs.download(remote, local_dir(lake.root, *parts))


def _fetch_missing(lake: Lake, parts: tuple[str, ...]) -> None:
    """Download the files under ``<lake>/<parts>`` that the local folder lacks."""
    fs = filesystem_for(lake.root.uri)
    prefix, local = lake.path(*parts), local_dir(lake.root, *parts)
    for info in fs.walk(prefix):
        target = local.joinpath(*info.path[len(prefix) :].lstrip("/").split("/"))
        if not target.exists():
            fs.download(info.path, target)


def _upload_changed(lake: Lake, parts: tuple[str, ...], since: float) -> None:
    """Upload the local files under ``parts`` written since ``since``, or missing on the store."""
    fs = filesystem_for(lake.root.uri)
    prefix, local = lake.path(*parts), local_dir(lake.root, *parts)
    remote = {info.path for info in fs.walk(prefix)}
    for file in sorted(p for p in local.rglob("*") if p.is_file()):
        target = fs.join(prefix, *file.relative_to(local).parts)
        if target not in remote or file.stat().st_mtime >= since:
            fs.upload(file, target)


# --- deferred pages ------------------------------------------------------------------------------

_DEFERRED = ("_ops", "gx", "deferred_pages.jsonl")


def defer_pages(lake: Lake, keys: list[tuple[str, ...]]) -> None:
    """Remember validation results whose pages were not rendered yet (the next rendering adds them)."""
    if not keys:
        return
    lines = "".join(json.dumps(list(key)) + "\n" for key in keys)
    if not lake.root.is_local:  # a later gate may run on another machine: the list lives in the lake
        append_text(lake.path(*_DEFERRED), lines)
        return
    path = Path(lake.path(*_DEFERRED))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as pending:
        pending.write(lines)


def deferred_pages(lake: Lake) -> list[tuple[str, ...]]:
    """The validation results whose pages earlier gates deferred."""
    path = lake.path(*_DEFERRED)
    fs = filesystem_for(path)
    if fs.stat(path) is None:
        return []
    lines = [line for line in fs.read_bytes(path).decode("utf-8").splitlines() if line.strip()]
    return [tuple(json.loads(line)) for line in lines]


def forget_deferred(lake: Lake, rendered: list) -> None:
    """Drop the deferred pages just rendered (a gate deferring meanwhile is impossible: one writer)."""
    if rendered:
        path = lake.path(*_DEFERRED)
        filesystem_for(path).delete(path)


# --- offline rewriting -----------------------------------------------------------------------------

# The CDN files GE's templates load, by file name, and the vendored copy that replaces each
# (None: dropped). Bootstrap's bundle carries Popper; one Vega stand-in replaces Vega's three files.
_LOCAL_ASSETS: tuple[tuple[re.Pattern[str], str | None], ...] = tuple(
    (re.compile(pattern), local)
    for pattern, local in (
        (r"^jquery[-.\d]*(\.min)?\.js$", "jquery.min.js"),
        (r"^popper(\.min)?\.js$", None),
        (r"^bootstrap(\.min)?\.js$", "bootstrap.bundle.min.js"),
        (r"^bootstrap(\.min)?\.css$", "bootstrap.min.css"),
        (r"^bootstrap-table(\.min)?\.js$", "bootstrap-table.min.js"),
        (r"^bootstrap-table(\.min)?\.css$", "bootstrap-table.min.css"),
        (r"^bootstrap-table-filter-control(\.min)?\.js$", "bootstrap-table-filter-control.min.js"),
        (r"^bootstrap-table-filter-control(\.min)?\.css$", "bootstrap-table-filter-control.min.css"),
        (r"^bootstrap-datepicker(\.min)?\.js$", "bootstrap-datepicker.min.js"),
        (r"^bootstrap-datepicker(\.min)?\.css$", "bootstrap-datepicker.min.css"),
        (r"^all(\.min)?\.css$", "icons.css"),  # Font Awesome
        (r"^vega", "vega-offline.js"),
    )
)
_REMOTE = r"""(?:https?:)?//[^"'\s>]+"""
_SCRIPT = re.compile(rf"""<script\b[^>]*\bsrc\s*=\s*["']({_REMOTE})["'][^>]*>\s*</script>""", re.IGNORECASE)
_LINK = re.compile(rf"""<link\b[^>]*\bhref\s*=\s*["']({_REMOTE})["'][^>]*>""", re.IGNORECASE)
_IMG = re.compile(rf"""(<img\b[^>]*\bsrc\s*=\s*["'])({_REMOTE})(["'])""", re.IGNORECASE)
_CSS_URL = re.compile(rf"""url\(\s*["']?({_REMOTE})["']?\s*\)""", re.IGNORECASE)


def _local_asset(url: str) -> str | None:
    name = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    for pattern, local in _LOCAL_ASSETS:
        if pattern.search(name):
            return local
    return None


def _local_image(url: str, static: str) -> str:
    # GE's templates point at its logo on the web; the site's static/images holds the same logo.
    return f"{static}/images/logo-long.png" if "logo" in url else f"{static}/images/short-logo.png"


def make_offline(html: str, static: str) -> str:
    """The page with every remote stylesheet, script and image replaced by a local file (or removed).

    ``static`` is the path from the page to the site's ``static/`` folder. Hyperlinks are left alone:
    following one needs the network, reading the page does not.
    """
    offline = f"{static}/{'/'.join(OFFLINE_DIR[1:])}"
    included: set[str] = set()

    def replace(match: re.Match[str], tag: str) -> str:
        local = _local_asset(match.group(1))
        if local is None or local in included:
            return ""
        included.add(local)
        return tag.format(f"{offline}/{local}")

    html = _SCRIPT.sub(lambda m: replace(m, '<script src="{}"></script>'), html)
    html = _LINK.sub(lambda m: replace(m, '<link rel="stylesheet" href="{}">'), html)
    html = _IMG.sub(lambda m: m.group(1) + _local_image(m.group(2), static) + m.group(3), html)
    return _CSS_URL.sub(lambda m: f"url('{_local_image(m.group(1), static)}')", html)


def remote_assets(html: str) -> list[str]:
    """Every remote stylesheet, script, image or CSS url() a page would load (empty when offline)."""
    found = [m.group(1) for m in _SCRIPT.finditer(html)]
    found += [m.group(1) for m in _LINK.finditer(html)]
    found += [m.group(2) for m in _IMG.finditer(html)]
    found += [m.group(1) for m in _CSS_URL.finditer(html)]
    return found
