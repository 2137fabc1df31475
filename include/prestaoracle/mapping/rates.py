"""Exchange rates for ``convert_currency``: a small table of ``(from, to, rate, valid_from)`` rows.

``rate(a, b, on)`` finds, for the day ``on`` (None: the newest), the rate valid then: a direct row ``a -> b``,
else the inverse of ``b -> a``, else one hop through a common currency (``a -> EUR -> b``). Rows come from the
mapping configuration (``rates:``) and the staging table ``currency_rates`` (``python -m prestaoracle map
--set-rate``); PrestaShop's own ``currencies.conversion_rate`` (rates against the shop's default currency) can be
loaded with :func:`rates_from_shop_currencies`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

__all__ = ["Rate", "Rates", "rates_from_shop_currencies"]

EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Rate:
    source: str
    target: str
    rate: Decimal
    valid_from: date = EPOCH


@dataclass
class Rates:
    """Rates by currency pair, each pair's rows sorted by ``valid_from``."""

    _pairs: dict[tuple[str, str], list[tuple[date, Decimal]]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Iterable[Rate]) -> Rates:
        rates = cls()
        for row in rows:
            rates.add(row)
        return rates

    def add(self, row: Rate) -> None:
        if row.rate <= 0:
            raise ValueError(f"rate {row.source} -> {row.target} must be positive, got {row.rate}")
        entries = self._pairs.setdefault((row.source.upper(), row.target.upper()), [])
        days = [d for d, _ in entries]
        at = bisect.bisect_left(days, row.valid_from)
        if at < len(entries) and entries[at][0] == row.valid_from:
            entries[at] = (row.valid_from, row.rate)  # a later source of the same day wins
        else:
            entries.insert(at, (row.valid_from, row.rate))

    def merged(self, other: Rates) -> Rates:
        out = Rates({pair: list(rows) for pair, rows in self._pairs.items()})
        for (source, target), rows in other._pairs.items():
            for day, rate in rows:
                out.add(Rate(source, target, rate, day))
        return out

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._pairs.values())

    def _direct(self, source: str, target: str, on: date | None) -> Decimal | None:
        rows = self._pairs.get((source, target))
        if not rows:
            return None
        if on is None:
            return rows[-1][1]
        at = bisect.bisect_right([d for d, _ in rows], on)
        return rows[at - 1][1] if at else None

    def _one_way(self, source: str, target: str, on: date | None) -> Decimal | None:
        direct = self._direct(source, target, on)
        if direct is not None:
            return direct
        inverse = self._direct(target, source, on)
        return None if inverse is None else Decimal(1) / inverse

    def rate(self, source: str, target: str, on: date | None = None) -> Decimal | None:
        """How many ``target`` units one ``source`` unit is worth on ``on``; None when no row allows it."""
        source, target = source.upper(), target.upper()
        if source == target:
            return Decimal(1)
        found = self._one_way(source, target, on)
        if found is not None:
            return found
        middles = {c for pair in self._pairs for c in pair} - {source, target}
        for middle in sorted(middles):
            first = self._one_way(source, middle, on)
            second = self._one_way(middle, target, on) if first is not None else None
            if second is not None:
                return first * second  # type: ignore[operator]
        return None


def rates_from_shop_currencies(currencies: Iterable[Mapping[str, object]], default_iso: str,
                               valid_from: date = EPOCH) -> list[Rate]:
    """PrestaShop ``currencies`` rows (``iso_code``, ``conversion_rate`` against the shop's default currency) as
    rates ``default -> iso``."""
    rows = []
    for currency in currencies:
        iso = str(currency.get("iso_code") or "").upper()
        raw = currency.get("conversion_rate")
        if not iso or iso == default_iso.upper() or raw in (None, "", "0", 0):
            continue
        rows.append(Rate(default_iso.upper(), iso, Decimal(str(raw)), valid_from))
    return rows
