"""The shop's clock at the door: UTC inside the product, shop-local naive strings on the wire.

PrestaShop stores and filters dates as ``YYYY-MM-DD HH:MM:SS`` in the shop's time zone (``PS_TIMEZONE``), without
an offset, and compares them as text. Two facts make a naive conversion lose records:

* **Fall-back** (the repeated hour): a local time such as ``02:30`` on the last Sunday of October in Europe/Paris
  names two instants an hour apart, and local order is not time order inside that hour. A window whose UTC bounds
  straddle the change would become a local range that is too narrow (or even reversed).
* **Spring-forward** (the gap): local times inside the gap never occur; converting UTC bounds never produces them.

So :func:`local_bounds` widens a UTC window to the smallest *local* range sure to contain every local time of every
instant in it (re-reading a little is harmless; skipping is not), and :func:`instants` gives the earliest and latest
instant a local time can mean, so comparisons can say "certainly older" only when it is.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta, tzinfo

__all__ = ["ShopTimezoneUnknown", "instants", "local_bounds", "parse_http_date", "to_shop_local", "to_utc"]

# Wider than any daylight-saving shift in the tz database (most are 1 h, Lord Howe 30 min, Troll 2 h).
_PROBE = timedelta(hours=2)


class ShopTimezoneUnknown(LookupError):
    """The shop's time zone could not be found: the message says how to set it."""


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (UTC or with an offset), got {value.isoformat()}")


def to_shop_local(instant: datetime, tz: tzinfo) -> datetime:
    """``instant`` (aware) as the naive wall-clock time the shop writes for it."""
    _require_aware(instant, "instant")
    return instant.astimezone(tz).replace(tzinfo=None)


def local_bounds(low: datetime, high: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """Naive shop-local ``(low, high)`` covering every local time of every instant in ``[low, high]`` (aware).

    Local time is ``t + offset(t)``, which only goes back when the clocks fall back. The smallest local time is at
    ``low`` unless a fall-back follows within ``_PROBE``; then the lower (winter) offset is applied to ``low``.
    Symmetrically, the largest is at ``high`` unless a fall-back precedes it within ``_PROBE``.
    """
    _require_aware(low, "low")
    _require_aware(high, "high")
    if high < low:
        raise ValueError(f"empty window: {low.isoformat()} is after {high.isoformat()}")
    first = min(_offset(low, tz), _offset(min(low + _PROBE, high), tz))
    last = max(_offset(high, tz), _offset(max(high - _PROBE, low), tz))
    as_utc_low, as_utc_high = low.astimezone(UTC), high.astimezone(UTC)
    return ((as_utc_low + first).replace(tzinfo=None), (as_utc_high + last).replace(tzinfo=None))


def _offset(instant: datetime, tz: tzinfo) -> timedelta:
    offset = instant.astimezone(tz).utcoffset()
    return offset if offset is not None else timedelta(0)


def instants(local: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """Earliest and latest UTC instant (aware) a naive shop-local time can mean: equal except in the repeated hour
    (and in the spring gap, where the shop cannot have written it)."""
    if local.tzinfo is not None:
        utc = local.astimezone(UTC)
        return utc, utc
    both = sorted(local.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1))
    return both[0], both[1]


def to_utc(local: datetime, tz: tzinfo) -> datetime:
    """The earliest instant a shop-local time can mean (the safe side for a lower bound)."""
    return instants(local, tz)[0]


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware UTC datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
