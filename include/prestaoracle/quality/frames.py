"""The batch in hand as pandas DataFrames: the entity's pending rows, the pending rows of its children, and the
columns a rule needs but no table holds (computed vectorised, then checked by GX like any other column).

Blank strings count as missing (a shop's empty field is not a value), money comes back as float (the rules allow
a cent, far above float error) and keys keep their integer type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import sqlalchemy as sa

from prestaoracle.staging.schema import DQ_STATUSES

from .rules import Entity

DQ_STATUS = "dq_status"
PENDING = DQ_STATUSES[0]


def pending_rows(conn: sa.Connection, entity: Entity) -> pd.DataFrame:
    """The entity's rows waiting for the gate, in key order."""
    key = ", ".join(entity.key)
    query = f"SELECT * FROM {entity.table} WHERE {DQ_STATUS} = :pending ORDER BY {key}"  # noqa: S608 (constants)
    return _clean(pd.read_sql(sa.text(query), conn, params={"pending": PENDING}))


def pending_children(conn: sa.Connection, entity: Entity, table: str) -> pd.DataFrame:
    """The rows of a child table whose parent record is pending (the children share the parent's outcome)."""
    fk = dict(entity.children)[table]
    (parent_key,) = entity.key
    query = (f"SELECT c.* FROM {table} c JOIN {entity.table} p ON p.{parent_key} = c.{fk} "  # noqa: S608
             f"WHERE p.{DQ_STATUS} = :pending ORDER BY c.{fk}")
    return _clean(pd.read_sql(sa.text(query), conn, params={"pending": PENDING}))


def frames(conn: sa.Connection, entity: Entity) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """``(pending rows, {frame check name: frame})``: the rows as read, and each frame check's batch."""
    rows = pending_rows(conn, entity)
    children = {name: pending_children(conn, entity, table) for name, table in entity.frame_children.items()}
    derive = _DERIVE.get(entity.name, _as_is)
    main = derive(rows.copy(), children)
    batches: dict[str, pd.DataFrame] = {}
    for check in entity.checks:
        if check.kind == "frame":
            batches[check.name] = children.get(check.name, main)
    return rows, batches


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain Python values (NaN and NaT as None), for dead-letter payloads."""
    out = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [{k: _plain(v) for k, v in row.items()} for row in out]


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_string_dtype(series) or series.dtype == object:
            blank = series.map(lambda v: isinstance(v, str) and not v.strip())
            if blank.any():
                frame[column] = series.mask(blank, None)
    return frame


def _as_is(main: pd.DataFrame, _children: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return main


def _orders(main: pd.DataFrame, children: dict[str, pd.DataFrame]) -> pd.DataFrame:
    lines = children["order_lines"]
    by_order = lines.groupby("id_order")
    count = by_order.size()
    main["line_count"] = main["id_order"].map(count).fillna(0).astype("int64")
    for tax in ("tax_incl", "tax_excl"):
        line_total = main["id_order"].map(by_order[f"total_price_{tax}"].sum(min_count=1))
        expected = (line_total + main[f"total_shipping_{tax}"].fillna(0) + main[f"total_wrapping_{tax}"].fillna(0)
                    - main[f"total_discounts_{tax}"].fillna(0))
        # Round away float noise so 0.01 means a cent; an order without lines has no gap (order_has_lines says it).
        main[f"totals_gap_{tax}"] = (expected - main[f"total_paid_{tax}"]).abs().round(6)
    return main


def _addresses(main: pd.DataFrame, _children: dict[str, pd.DataFrame]) -> pd.DataFrame:
    has_iso = main["country_iso"].notna()
    main["has_country"] = (pd.to_numeric(main["id_country"], errors="coerce").fillna(0) > 0) | has_iso
    # A country without an ISO code is reported by country_known ("" is in no code list); no country at all by
    # country_present only.
    main["country_code"] = main["country_iso"].where(has_iso, main["has_country"].map({True: "", False: None}))
    return main


def _products(main: pd.DataFrame, _children: dict[str, pd.DataFrame]) -> pd.DataFrame:
    has_variants = pd.to_numeric(main["id_default_combination"], errors="coerce").fillna(0) > 0
    main["has_sku"] = main["sku"].notna() | has_variants
    return main


_DERIVE: dict[str, Callable[[pd.DataFrame, dict[str, pd.DataFrame]], pd.DataFrame]] = {
    "orders": _orders, "addresses": _addresses, "products": _products,
}
