"""Where lookup pairs, binds and rates come from besides the configuration file, and the order they win in.

A spec declares each lookup it uses. A declaration may name a source of pairs in the staging database:

* ``landed: {system, entity, value, key?}`` — landed records of a reference entity (``currencies``:
  record id -> ``iso_code``);
* ``table: {name, key, value, where?}`` — a canonical table (``ps_combinations``: ``id_product_attribute`` ->
  ``sku``), several tables merged in order.

:func:`enrich` builds the context a run maps with: pairs from those sources, then the configuration file's
``lookups`` (they win: they are deliberate), then the ``lookup_values`` table (it wins over both: operators'
fixes, ``python -m prestaoracle map --set-lookup``). Binds (``xref``) and rates (``currency_rates``) from staging
are added to the configuration's. Everything is read once per run into memory: reference tables are small
(currencies, states, SKUs), never the orders themselves.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from prestaoracle.staging._common import utcnow
from prestaoracle.staging.schema import TABLES, currency_rates, landing_records, lookup_values

from . import binder
from .context import MappingContext
from .model import LookupDecl, TableSource
from .paths import parse_path, read_path
from .rates import Rate, Rates

__all__ = ["declared_pairs", "enrich", "set_lookup", "set_rate", "staging_lookups", "staging_rates",
           "unset_lookup"]


def set_lookup(conn: sa.Connection, lookup: str, key: str | int, value: Any, *, note: str | None = None) -> None:
    """Add or replace one pair of a lookup (values are stored as text; specs convert them)."""
    t = lookup_values
    key = str(key)
    conn.execute(t.delete().where(t.c.lookup == lookup, t.c.key == key))
    conn.execute(t.insert().values(lookup=lookup, key=key, value=str(value), note=note, updated_at=utcnow()))


def unset_lookup(conn: sa.Connection, lookup: str, key: str | int) -> bool:
    t = lookup_values
    return conn.execute(t.delete().where(t.c.lookup == lookup, t.c.key == str(key))).rowcount > 0


def staging_lookups(conn: sa.Connection) -> dict[str, dict[str, str]]:
    t = lookup_values
    out: dict[str, dict[str, str]] = {}
    for name, key, value in conn.execute(sa.select(t.c.lookup, t.c.key, t.c.value)):
        out.setdefault(name, {})[key] = value
    return out


def set_rate(conn: sa.Connection, source: str, target: str, rate: Decimal | str, *,
             valid_from: date | None = None) -> None:
    """Add or replace the rate ``source -> target`` taking effect on ``valid_from`` (default: always)."""
    t = currency_rates
    amount = Decimal(str(rate))
    if amount <= 0:
        raise ValueError(f"a rate is positive, got {rate}")
    day = valid_from or date(1970, 1, 1)
    source, target = source.upper(), target.upper()
    conn.execute(t.delete().where(t.c.source == source, t.c.target == target, t.c.valid_from == day))
    conn.execute(t.insert().values(source=source, target=target, valid_from=day, rate=amount, updated_at=utcnow()))


def staging_rates(conn: sa.Connection) -> Rates:
    t = currency_rates
    rows = conn.execute(sa.select(t.c.source, t.c.target, t.c.rate, t.c.valid_from))
    return Rates.of(Rate(s, g, Decimal(str(r)), d) for s, g, r, d in rows)


def _landed_pairs(conn: sa.Connection, decl: LookupDecl) -> dict[str, Any]:
    source = decl.landed
    assert source is not None
    value_path = parse_path(source.value)
    key_path = parse_path(source.key) if source.key else None
    t = landing_records
    pairs: dict[str, Any] = {}
    query = sa.select(t.c.record_id, t.c.payload).where(t.c.source == source.system, t.c.entity == source.entity)
    for record_id, payload in conn.execute(query):
        record = json.loads(payload)
        key = record_id if key_path is None else read_path(record, key_path)
        value = read_path(record, value_path)
        if key is not None and value not in (None, ""):
            pairs[str(key)] = value
    return pairs


def _table_pairs(conn: sa.Connection, source: TableSource) -> dict[str, Any]:
    table = TABLES.get(source.name)
    if table is None:
        raise ValueError(f"lookup table source {source.name!r} is not a staging table")
    keys = [source.key] if isinstance(source.key, str) else list(source.key)
    template = "{" + source.value + "}" if source.value in table.c else source.value
    wanted = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    columns = list(dict.fromkeys([*keys, *wanted]))
    query = sa.select(*(table.c[c] for c in columns)).where(*(table.c[c] == v for c, v in source.where.items()))
    pairs: dict[str, Any] = {}
    for row in conn.execute(query):
        values = dict(zip(columns, row, strict=True))
        if any(values[k] is None for k in keys) or any(values[w] is None for w in wanted):
            continue
        key = ":".join(str(values[k]) for k in keys)
        pairs[key] = values[wanted[0]] if template == "{" + wanted[0] + "}" else template.format(**values)
    return pairs


def declared_pairs(conn: sa.Connection, specs: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """The pairs of every lookup the specs (and their child specs) declare over landed or canonical rows."""
    out: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    pending = list(specs)
    while pending:
        spec = pending.pop()
        if spec.name in seen:
            continue
        seen.add(spec.name)
        pending.extend(child for _, child in spec.children() if child is not None)
        for name, decl in spec.model.lookups.items():
            pairs: dict[str, Any] = {}
            if decl.landed is not None:
                pairs.update(_landed_pairs(conn, decl))
            for source in decl.tables():
                pairs.update(_table_pairs(conn, source))
            if pairs:
                out.setdefault(name, {}).update(pairs)
    return out


def enrich(ctx: MappingContext, conn: sa.Connection, specs: Iterable[Any] = ()) -> MappingContext:
    """``ctx`` plus the staging database's pairs, binds and rates (see the module docstring for who wins)."""
    enriched = ctx.with_lookups(declared_pairs(conn, specs), override=False)
    enriched = enriched.with_lookups(staging_lookups(conn), override=True)
    return replace(enriched, xref=ctx.xref.merged(binder.load_index(conn)),
                   rates=ctx.rates.merged(staging_rates(conn)))
