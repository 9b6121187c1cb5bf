"""The feeds declaration: what the default declares, when a feed is due, and one-line errors."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from omnilake.contracts import landing_sources
from omnilake.errors import ConfigError
from omnilake.feeds import DEFAULT_FEEDS_FILE, MART_SOURCES, feeds_file, load_feeds, parse_feeds
from omnilake.pipeline import GOLD_MARTS
from omnilake.settings import reset_settings
from quality.config import QualityConfig

MONDAY = date(2026, 3, 2)


@pytest.fixture
def declare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a declaration and point OMNILAKE_FEEDS at it."""

    def write(text: str) -> Path:
        path = tmp_path / "feeds.yaml"
        path.write_text(text)
        monkeypatch.setenv("OMNILAKE_FEEDS", str(path))
        reset_settings()
        return path

    yield write
    reset_settings()


def test_the_default_declares_the_full_sample_every_day(monkeypatch):
    monkeypatch.delenv("OMNILAKE_FEEDS", raising=False)
    reset_settings()
    feeds = load_feeds()
    assert feeds_file() == DEFAULT_FEEDS_FILE
    assert feeds.sources() == tuple(landing_sources())
    assert feeds.absent() == ()
    for day in (MONDAY + timedelta(days=n) for n in range(7)):
        assert feeds.due_on(day) == tuple(sorted(landing_sources()))
    assert feeds.marts_without_feed() == {} and feeds.marts_partly_fed() == {}
    snapshots = {s for s, f in feeds.feeds.items() if f.is_snapshot}
    assert snapshots == {"products", "stores", "crm_members", "inventory_online", "inventory_store"}


def test_weekly_feeds_are_due_on_their_weekday_and_on_change_feeds_never(declare):
    declare(
        "feeds:\n"
        "  orders: {cadence: daily, kind: change}\n"
        "  inventory_online: {cadence: weekly, weekday: Wednesday, kind: snapshot}\n"
        "  products: {cadence: on_change, kind: snapshot}\n"
    )
    feeds = load_feeds()
    week = [MONDAY + timedelta(days=n) for n in range(7)]
    assert [feeds.due_on(day) for day in week] == [
        ("orders",),
        ("orders",),
        ("inventory_online", "orders"),  # 2026-03-04 is a Wednesday
        ("orders",),
        ("orders",),
        ("orders",),
        ("orders",),
    ]
    assert feeds.feeds["inventory_online"].describe() == "weekly on Wednesday, snapshot"
    # The bronze gate's freshness rule asks for exactly these (an explicit list still overrides).
    assert QualityConfig().sources_required(week[2]) == ("inventory_online", "orders")
    assert QualityConfig(required_sources=("pos",)).sources_required(week[2]) == ("pos",)
    assert set(feeds.absent()) == {"pos", "events", "stores", "crm_members", "inventory_store"}


def test_marts_without_a_declared_feed_are_named(declare):
    declare(
        "feeds:\n"
        "  orders: {cadence: daily, kind: change}\n"
        "  inventory_online: {cadence: daily, kind: snapshot}\n"
    )
    feeds = load_feeds()
    assert feeds.marts_without_feed() == {
        "mart_journey_funnel": ("events",),
        "mart_journey_funnel_revisions": ("events",),
    }
    assert feeds.marts_partly_fed() == {
        "dim_customer": ("crm_members", "pos", "events"),
        "dim_customer_observations": ("crm_members", "pos", "events"),
        "dim_customer_history": ("crm_members", "pos", "events"),
        "fct_sales": ("pos",),
        "fct_sales_revisions": ("pos",),
        "mart_customer_rfm": ("pos",),
        "mart_customer_rfm_revisions": ("pos",),
        "mart_inventory_position": ("inventory_store",),
        "mart_inventory_position_revisions": ("inventory_store",),
        "mart_customer_tags": ("crm_members", "pos", "events"),
        "mart_product_affinity": ("pos",),
        "mart_product_engagement": ("events",),
        "mart_oversell_incidents": ("inventory_store",),
        "mart_inventory_deviation": ("inventory_store",),
        "mart_online_safety_buffer": ("inventory_store",),
        "mart_partner_sales_weekly": ("pos",),
        "mart_partner_segments_weekly": ("crm_members", "pos"),
    }


def test_every_gold_mart_names_landing_sources():
    assert set(MART_SOURCES) == set(GOLD_MARTS)
    assert all(set(sources) <= set(landing_sources()) for sources in MART_SOURCES.values())


def test_an_edited_declaration_is_read_again(declare):
    path = declare("feeds:\n  orders: {cadence: daily, kind: change}\n")
    assert load_feeds().sources() == ("orders",)
    path.write_text(
        "feeds:\n  orders: {cadence: daily, kind: change}\n  pos: {cadence: daily, kind: change}\n"
    )
    assert load_feeds().sources() == ("orders", "pos")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("feeds:\n  evnts: {cadence: daily, kind: change}\n", "unknown source 'evnts'; landing sources are "),
        (
            "feeds:\n  orders: {cadence: hourly, kind: change}\n",
            "feed 'orders': cadence 'hourly' is not one of",
        ),
        ("feeds:\n  orders: {cadence: daily}\n", "feed 'orders': kind None is not one of snapshot, change"),
        (
            "feeds:\n  orders: {cadence: weekly, kind: change}\n",
            "feed 'orders': a weekly feed needs 'weekday'",
        ),
        (
            "feeds:\n  orders: {cadence: weekly, weekday: funday, kind: change}\n",
            "feed 'orders': weekday 'funday' is not one of monday",
        ),
        (
            "feeds:\n  orders: {cadence: daily, weekday: monday, kind: change}\n",
            "feed 'orders': 'weekday' is only for weekly feeds (cadence is daily)",
        ),
        (
            "feeds:\n  orders: {cadence: daily, kind: change, every: 2}\n",
            "feed 'orders': unknown key(s) ['every']",
        ),
        ("feeds:\n  orders: daily\n", "feed 'orders': expected a mapping with 'cadence' and 'kind'"),
        ("feeds: {}\n", "'feeds' must map at least one landing source"),
        ("sources:\n  orders: {cadence: daily, kind: change}\n", "expected one top-level key 'feeds'"),
        ("feeds:\n  orders: {cadence: daily, kind: change\n", "at line 3: expected ',' or '}'"),
    ],
)
def test_a_mistake_is_one_line_naming_the_file_and_the_feed(declare, text, message):
    path = declare(text)
    with pytest.raises(ConfigError) as raised:
        load_feeds()
    assert str(raised.value).startswith(f"{path}")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_missing_declaration_says_how_to_fix_it(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNILAKE_FEEDS", str(tmp_path / "nowhere.yaml"))
    reset_settings()
    try:
        with pytest.raises(
            ConfigError, match=r"no feeds declaration at .*nowhere.yaml: create it or fix OMNILAKE_FEEDS"
        ):
            load_feeds()
    finally:
        reset_settings()


def test_parse_feeds_accepts_what_the_checked_in_file_holds():
    raw = yaml.safe_load(DEFAULT_FEEDS_FILE.read_text())
    assert parse_feeds(raw).feeds == load_feeds(DEFAULT_FEEDS_FILE).feeds
