"""The binder: external ids and their counterparts in the other system, one row per pair in the staging table
``xref`` (OCA's binder, unique both ways).

A pair is ``(system, entity, external_id) <-> (target, target_id)``: ``("prestashop", "sku", "12:34")`` (product 12,
combination 34) ``<-> ("oracle", "AS54888")`` is the SKU map; ``("prestashop", "customer", "42") <-> ("oracle",
"1006")`` binds a shop customer to a party number. Specs read it through the ``xref`` converter (in memory, from
:meth:`MappingContext.with_staging`); operators and flows write it here or with
``python -m prestaoracle map --bind ENTITY EXTERNAL_ID TARGET_ID``.
"""

from __future__ import annotations

import sqlalchemy as sa

from prestaoracle.staging._common import utcnow
from prestaoracle.staging.schema import xref

from .context import XrefIndex

__all__ = ["BindConflict", "bind", "load_index", "to_external", "to_internal", "unbind"]


class BindConflict(ValueError):
    """The target id is already bound to another external id (a pair is unique both ways)."""


def bind(conn: sa.Connection, entity: str, external_id: str | int, target_id: str | int, *,
         system: str = "prestashop", target: str = "oracle", note: str | None = None,
         run_id: str | None = None) -> bool:
    """Bind ``external_id`` to ``target_id`` (replacing its previous target); returns True when something changed.
    Raises :class:`BindConflict` when ``target_id`` already belongs to another external id."""
    external_id, target_id = str(external_id), str(target_id)
    t = xref
    owner = conn.execute(sa.select(t.c.external_id).where(
        t.c.system == system, t.c.entity == entity, t.c.target == target, t.c.target_id == target_id)).scalar()
    if owner is not None and owner != external_id:
        raise BindConflict(f"{target} {entity} {target_id!r} is already bound to {system} {entity} {owner!r}; "
                           f"unbind it first (python -m prestaoracle map --unbind {entity} {owner})")
    key = (t.c.system == system, t.c.entity == entity, t.c.external_id == external_id, t.c.target == target)
    current = conn.execute(sa.select(t.c.target_id).where(*key)).scalar()
    if current == target_id:
        return False
    values = {"target_id": target_id, "note": note, "updated_at": utcnow(), "run_id": run_id}
    if current is None:
        conn.execute(t.insert().values(system=system, entity=entity, external_id=external_id, target=target,
                                       **values))
    else:
        conn.execute(t.update().where(*key).values(**values))
    return True


def unbind(conn: sa.Connection, entity: str, external_id: str | int, *, system: str = "prestashop",
           target: str = "oracle") -> bool:
    t = xref
    done = conn.execute(t.delete().where(t.c.system == system, t.c.entity == entity,
                                         t.c.external_id == str(external_id), t.c.target == target))
    return done.rowcount > 0


def to_internal(conn: sa.Connection, entity: str, external_id: str | int, *, system: str = "prestashop",
                target: str = "oracle") -> str | None:
    """The target id bound to a shop id, or None."""
    t = xref
    return conn.execute(sa.select(t.c.target_id).where(
        t.c.system == system, t.c.entity == entity, t.c.external_id == str(external_id), t.c.target == target)).scalar()


def to_external(conn: sa.Connection, entity: str, target_id: str | int, *, system: str = "prestashop",
                target: str = "oracle") -> str | None:
    """The shop id bound to a target id, or None."""
    t = xref
    return conn.execute(sa.select(t.c.external_id).where(
        t.c.system == system, t.c.entity == entity, t.c.target_id == str(target_id), t.c.target == target)).scalar()


def load_index(conn: sa.Connection) -> XrefIndex:
    """Every pair, in memory (one row per bound record: SKUs and customers, not orders)."""
    t = xref
    rows = conn.execute(sa.select(t.c.system, t.c.entity, t.c.external_id, t.c.target, t.c.target_id))
    return XrefIndex.of(tuple(row) for row in rows)
