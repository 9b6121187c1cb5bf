"""Time as the generator handles it: integer milliseconds since the Unix epoch (UTC), formatted only
when written. Nothing here reads the wall clock, so files are the same on every run."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

MS_PER_SECOND = 1_000
MS_PER_MINUTE = 60_000
MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000

# Day numbers (order serials, sequential order numbers) count from the day the web shop opened.
SHOP_OPENED = date(2015, 1, 1)
SHOP_TIME_ZONE = "America/New_York"

_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNIX_EPOCH_DATE = date(1970, 1, 1)


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def day_number(day: date) -> int:
    return (day - SHOP_OPENED).days


def utc_midnight_ms(day: date) -> int:
    return (day - _UNIX_EPOCH_DATE).days * MS_PER_DAY


def local_wall_ms(day: date, seconds_after_midnight: int, time_zone: str) -> int:
    """The instant at which a clock in ``time_zone`` shows ``day`` plus the given seconds."""
    hours, rest = divmod(seconds_after_midnight, 3600)
    minutes, seconds = divmod(rest, 60)
    local = datetime(day.year, day.month, day.day, tzinfo=zone(time_zone)) + timedelta(
        hours=hours, minutes=minutes, seconds=seconds
    )
    return int(local.timestamp()) * MS_PER_SECOND


def to_datetime(ms: int, time_zone: str | None = None) -> datetime:
    moment = _UNIX_EPOCH + timedelta(milliseconds=ms)
    return moment.astimezone(zone(time_zone)) if time_zone else moment


def iso_utc(ms: int) -> str:
    """``2024-03-01T15:04:05.123Z``, as Segment writes it (table lookups, not datetime: it is hot)."""
    days, rest = divmod(ms, MS_PER_DAY)
    minute_of_day, rest = divmod(rest, MS_PER_MINUTE)
    seconds, millis = divmod(rest, MS_PER_SECOND)
    return _iso_day(days) + _HOUR_MINUTE[minute_of_day] + _TWO_DIGITS[seconds] + _MILLIS[millis]


_HOUR_MINUTE = [f"T{m // 60:02d}:{m % 60:02d}:" for m in range(24 * 60)]
_TWO_DIGITS = [f"{n:02d}" for n in range(60)]
_MILLIS = [f".{n:03d}Z" for n in range(1000)]


@lru_cache(maxsize=64)
def _iso_day(days_since_unix_epoch: int) -> str:
    return (_UNIX_EPOCH_DATE + timedelta(days=days_since_unix_epoch)).isoformat()


def iso_offset(ms: int, time_zone: str) -> str:
    """``2024-03-01T10:04:05-05:00``: local time with its UTC offset, as Shopify writes it."""
    return to_datetime(ms, time_zone).isoformat(timespec="seconds")


def local_naive(ms: int, time_zone: str) -> str:
    """``2024-03-01 14:23:05``: a wall clock without zone, as store tills write it."""
    return to_datetime(ms, time_zone).strftime("%Y-%m-%d %H:%M:%S")


def local_date(ms: int, time_zone: str) -> date:
    return to_datetime(ms, time_zone).date()


def utc_date(ms: int) -> date:
    return _UNIX_EPOCH_DATE + timedelta(days=ms // MS_PER_DAY)


def utc_offset_ms(ms: int, time_zone: str) -> int:
    offset = to_datetime(ms, time_zone).utcoffset()
    return int(offset.total_seconds()) * MS_PER_SECOND if offset else 0


class DayProfile:
    """When in a day things happen: hourly weights turned into a monotone map from [0, 1) to an offset
    in milliseconds, so sorted uniforms become sorted times."""

    def __init__(self, hourly_weights: Sequence[float]) -> None:
        total = float(sum(hourly_weights))
        self.density = [w / total for w in hourly_weights]
        self.cumulative = [0.0, *itertools.accumulate(self.density)]

    def offset_ms(self, u: float) -> int:
        hour = min(len(self.density) - 1, bisect.bisect_right(self.cumulative, u) - 1)
        within = (u - self.cumulative[hour]) / self.density[hour] if self.density[hour] else 0.0
        return int((hour + min(within, 0.999999)) * MS_PER_HOUR)
