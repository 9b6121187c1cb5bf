"""GE's Data Docs site builders, made to cost what a build renders rather than all history kept.

GE's ``DefaultSiteSectionBuilder`` lists every key of its source store before it renders the few
pages it is asked for, and ``DefaultSiteIndexBuilder`` lists every stored validation result and
every rendered page, parses each key's run time, then reads and deserialises the newest 500
results for their success flag and batch: a cost growing with every result kept (about 64 a day),
paid on every build. These subclasses keep GE's rendering and page layout and change only what
they read:

- ``GivenPagesSectionBuilder`` renders the resources it is given, without listing the store;
- ``RecordedIndexBuilder`` builds the index from ``_ops/gx/index_links.json``, the index's
  validation links as GE would compute them (key, success, batch), which ``quality.data_docs``
  extends with each result it renders. Links whose page is gone are dropped, the newest
  ``validation_results_limit`` are kept. Without the file (a lake older than it, or the file
  deleted) the index is built GE's way, from the full listing, and the file written from it.

Imported by GE from the site's configuration (``quality.data_docs.gx_context``), so only when Data
Docs are rendered.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.render.renderer.site_builder import (
    DefaultSiteIndexBuilder,
    DefaultSiteSectionBuilder,
)
from great_expectations.render.util import resource_key_passes_run_name_filter

log = logging.getLogger(__name__)

RUN_TIME_FORMAT = "%Y%m%dT%H%M%S.%fZ"  # a run time as it appears in a validation key (GE's to_tuple)


class _GivenKeys:
    """A source store that lists only ``keys`` (and otherwise is the store)."""

    def __init__(self, store: Any, keys: list) -> None:
        self._store, self._keys = store, keys

    def list_keys(self) -> list:
        return list(self._keys)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class GivenPagesSectionBuilder(DefaultSiteSectionBuilder):
    """GE's section builder, rendering the given resources of its store's kind without listing
    the store (every key, when none are given, as GE does)."""

    def build(self, resource_identifiers=None) -> None:
        if not resource_identifiers:
            super().build(resource_identifiers=resource_identifiers)
            return
        store = self.source_store
        given = sorted((k for k in resource_identifiers if isinstance(k, store.key_class)), key=str)
        self.source_store = _GivenKeys(store, given)
        try:
            super().build(resource_identifiers=resource_identifiers)
        finally:
            self.source_store = store


def validation_link(key: tuple[str, ...], document: dict) -> dict:
    """What the index shows of one stored validation result (GE's JSON of it), recorded so that
    later indexes need not read it again."""
    meta = document.get("meta") or {}
    return {
        "key": list(key),
        "success": document.get("success"),
        "batch_kwargs": meta.get("batch_kwargs", {}),
        "batch_spec": meta.get("batch_spec", {}),
        "asset_name": (meta.get("batch_kwargs") or {}).get("data_asset_name")
        or (meta.get("batch_spec") or {}).get("data_asset_name")
        or (meta.get("active_batch_definition") or {}).get("data_asset_name"),
    }


def read_links(path: Path) -> list[dict] | None:
    """The recorded validation links, or None when there is no readable record."""
    try:
        links = json.loads(path.read_text(encoding="utf-8"))["validations"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return links if isinstance(links, list) else None


def write_links(path: Path, links: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps({"validations": links}, default=str), encoding="utf-8")
    partial.replace(path)


def _key(link: dict) -> ValidationResultIdentifier:
    """The link's key, its run time read with the key's own format (GE's parser is ~0.2 ms a key)."""
    *suite, run_name, run_time, batch = link["key"]
    when = datetime.strptime(run_time, RUN_TIME_FORMAT).replace(tzinfo=UTC)
    return ValidationResultIdentifier(
        ExpectationSuiteIdentifier(name=".".join(suite)), RunIdentifier(run_name, when), batch
    )


class RecordedIndexBuilder(DefaultSiteIndexBuilder):
    """GE's index builder, taking its validation links from ``links_file`` (see the module)."""

    # GE passes its runtime arguments to the parameters a builder's signature names: all named here.
    def __init__(
        self,
        name,
        site_name,
        data_context,
        target_store,
        site_section_builders_config,
        custom_styles_directory=None,
        custom_views_directory=None,
        show_how_to_buttons=True,
        validation_results_limit=None,
        renderer=None,
        view=None,
        data_context_id=None,
        source_stores=None,
        links_file: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            name,
            site_name,
            data_context,
            target_store,
            site_section_builders_config,
            custom_styles_directory=custom_styles_directory,
            custom_views_directory=custom_views_directory,
            show_how_to_buttons=show_how_to_buttons,
            validation_results_limit=validation_results_limit,
            renderer=renderer,
            view=view,
            data_context_id=data_context_id,
            source_stores=source_stores,
            **kwargs,
        )
        self.links_file = Path(links_file) if links_file else None
        self._links: dict[ValidationResultIdentifier, dict] | None = None  # None: GE's way

    def _build_validation_and_profiling_result_site_keys(
        self, skip_and_clean_missing: bool
    ) -> list[ValidationResultIdentifier]:
        recorded = read_links(self.links_file) if self.links_file else None
        if recorded is None:
            self._links = None
            return super()._build_validation_and_profiling_result_site_keys(skip_and_clean_missing)
        pages = self.target_store.store_backends[ValidationResultIdentifier]
        self._links = {}
        for link in recorded:
            key = _key(link)
            if pages.has_key(key.to_tuple()):  # a page gone (its site deleted) is not linked
                self._links[key] = link
        return list(self._links)

    def _add_validations_to_index_links(
        self, index_links_dict, validation_and_profiling_result_site_keys
    ) -> None:
        if self._links is None:  # GE's way, reading every linked result; recorded for next time
            super()._add_validations_to_index_links(
                index_links_dict, validation_and_profiling_result_site_keys
            )
            self._record(index_links_dict)
            return
        run_name_filter = self.site_section_builders_config["validations"]["run_name_filter"]
        keys = [
            k
            for k in validation_and_profiling_result_site_keys
            if resource_key_passes_run_name_filter(k, run_name_filter)
        ]
        keys = sorted(keys, key=lambda k: (k.run_id.run_time, k.to_tuple()), reverse=True)
        if self.validation_results_limit:
            keys = keys[: self.validation_results_limit]
        for key in keys:
            link = self._links[key]
            self.add_resource_info_to_index_links_dict(
                index_links_dict=index_links_dict,
                expectation_suite_name=key.expectation_suite_identifier.name,
                section_name="validations",
                batch_identifier=key.batch_identifier,
                run_id=key.run_id,
                validation_success=link["success"],
                run_time=key.run_id.run_time,
                run_name=key.run_id.run_name,
                asset_name=link["asset_name"],
                batch_kwargs=link["batch_kwargs"],
                batch_spec=link["batch_spec"],
            )
        # Kept for the next index: the links shown, and those the profiling section lists instead.
        other = [
            link
            for k, link in self._links.items()
            if not resource_key_passes_run_name_filter(k, run_name_filter)
        ]
        if self.links_file:
            write_links(self.links_file, [self._links[k] for k in keys] + other)

    def _record(self, index_links_dict) -> None:
        """Write the links GE just computed by reading every result (the record's first build)."""
        if not self.links_file:
            return
        links = []
        for section in ("validations", "profiling"):
            for entry in index_links_dict.get(f"{section}_links", []):
                key = (
                    *entry["expectation_suite_name"].split("."),
                    *entry["run_id"].to_tuple(),
                    entry["batch_identifier"],
                )
                links.append(
                    {
                        "key": list(key),
                        "success": entry["validation_success"],
                        "batch_kwargs": entry["batch_kwargs"],
                        "batch_spec": entry["batch_spec"],
                        "asset_name": entry["asset_name"],
                    }
                )
        write_links(self.links_file, links)
        log.info("recorded %d Data Docs index links in %s", len(links), self.links_file)
