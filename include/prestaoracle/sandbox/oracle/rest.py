"""Reading any Fusion resource the ADF way: collections, items, children, ``q``, finders, fields and expand."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from prestaoracle.sandbox.oracle import adf
from prestaoracle.sandbox.oracle import contract as C
from prestaoracle.sandbox.oracle.resources import Child, Resource


@dataclass
class Ctx:
    """What every read needs: where links point, the framework version, and the request's shaping params."""

    base: str  # e.g. http://127.0.0.1:9102/fscmRestApi/resources/11.13.18.05
    version: int
    params: Mapping[str, str]


def change_indicator(row: Mapping[str, Any]) -> str:
    """Changes whenever the row does, so ``If-Match`` can detect a concurrent update."""
    stamp = "|".join(str(row.get(k)) for k in sorted(row) if not k.startswith("_"))
    return hashlib.sha1(stamp.encode()).hexdigest()[:32].upper()


def _value(attr: adf.Attr, value: Any) -> Any:
    if value is None:
        return None
    if attr.type == "boolean":
        return bool(value)
    if attr.type == "integer":
        return int(value)
    if attr.type == "number":
        number = float(value)
        return int(number) if number.is_integer() else number
    return value


def _where(res: Resource, table: sa.Table) -> list[sa.ColumnElement[bool]]:
    return [table.c[col] == val for col, val in res.where]


def item_dict(
    conn: sa.Connection,
    res: Resource,
    row: Mapping[str, Any],
    ctx: Ctx,
    path: str,
    key: Any,
    fields: adf.FieldsSpec | None,
    expand: adf.ExpandSpec,
    parent_href: str | None = None,
) -> dict[str, Any]:
    """One item: attributes in definition order, expanded children, then links (unless ``onlyData``)."""
    out: dict[str, Any] = {a.name: _value(a, row[a.name]) for a in res.attrs}
    accessors = [c.accessor for c in res.children]
    own_href = adf.item_href(ctx.base, path, key)
    for accessor in expand.select(accessors):
        child = res.child(accessor)
        assert child is not None
        sub_fields = fields.children.get(accessor) if fields is not None else None
        rows = child_rows(conn, child, row)
        child_path = f"{path}/{adf.item_href('', '', key).lstrip('/')}/child/{accessor}"
        items = [
            item_dict(conn, child.resource, r, ctx, child_path, r[child.resource.key], sub_fields,
                      expand.child(accessor), parent_href=own_href)
            for r in rows
        ]
        out[accessor] = adf.expanded_child(items, ctx.version, self_href=f"{own_href}/child/{accessor}")
    if not adf.only_data(ctx.params):
        links = adf.item_links(ctx.base, path, key, change_indicator(row), accessors, parent_href=parent_href)
        rels = adf.link_rels(ctx.params)
        out["links"] = links if rels is None else [x for x in links if x["rel"] in rels]
    return adf.select_fields(out, [a.name for a in res.attrs], fields, accessors)


def child_rows(conn: sa.Connection, child: Child, parent: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    t = child.resource.table
    stmt = sa.select(t).where(t.c[child.fk] == parent[child.parent_column], *_where(child.resource, t))
    return [r._mapping for r in conn.execute(stmt.order_by(t.c[child.resource.key]))]


def collection(
    conn: sa.Connection,
    res: Resource,
    ctx: Ctx,
    path: str,
    scope: sa.ColumnElement[bool] | None = None,
    key_of: Any = None,
    parent_href: str | None = None,
) -> dict[str, Any]:
    """A page of ``res`` (under ``scope`` for a child collection) with ADF's envelope."""
    params = ctx.params
    t = res.table
    limit, offset = adf.page(params)
    conditions = [*_where(res, t)]
    if scope is not None:
        conditions.append(scope)
    if params.get("q"):
        conditions.append(adf.to_sql(adf.parse_q(params["q"], ctx.version, res.attr_map), t))
    if params.get("finder"):
        conditions.extend(_finder(res, t, params["finder"]))
    fields, expand = adf.parse_shape(params)
    order = adf.order_by_sql(adf.parse_order_by(params.get("orderBy"), res.attr_map), t, res.attr_map)
    stmt = sa.select(t).where(*conditions).order_by(*order, t.c[res.key]).offset(offset).limit(limit + 1)
    rows = [r._mapping for r in conn.execute(stmt)]
    has_more = len(rows) > limit
    rows = rows[:limit]
    total = None
    if adf.wants_total(params):
        total = conn.execute(sa.select(sa.func.count()).select_from(t).where(*conditions)).scalar_one()
    items = [item_dict(conn, res, r, ctx, path, (key_of or (lambda x: x[res.key]))(r), fields, expand,
                       parent_href=parent_href) for r in rows]
    query = dict(params)
    query.update(limit=str(limit), offset=str(offset))
    out = adf.collection(items, limit=limit, offset=offset, has_more=has_more, total=total,
                         self_href=f"{ctx.base}/{path}?{urlencode(query)}", name=res.name)
    rels = adf.link_rels(params)
    if rels is not None and C.LINKS_PARAM_FILTERS_COLLECTION:
        out["links"] = [x for x in out["links"] if x["rel"] in rels]
    return out


def _finder(res: Resource, t: sa.Table, value: str) -> list[sa.ColumnElement[bool]]:
    """``PrimaryKey`` binds the key; other finders bind their variables as attribute equalities."""
    name, variables = adf.parse_finder(value)
    if name not in res.finders:
        raise adf.invalid_param("finder", value)
    out = []
    for var, val in variables.items():
        attr = res.attr_map.get(var)
        if attr is None:
            raise adf.invalid_param("finder", value)
        out.append(t.c[var] == _typed(attr, val))
    return out


def _typed(attr: adf.Attr, text: str) -> Any:
    if attr.type == "integer":
        return int(text)
    if attr.type == "number":
        return float(text)
    if attr.type == "boolean":
        return 1 if text.lower() in ("true", "y", "1") else 0
    if attr.type == "datetime":
        return adf.instant(text)
    return text


def item(conn: sa.Connection, res: Resource, row: Mapping[str, Any], ctx: Ctx, path: str, key: Any,
         parent_href: str | None = None) -> dict[str, Any]:
    fields, expand = adf.parse_shape(ctx.params)
    return item_dict(conn, res, row, ctx, path, key, fields, expand, parent_href=parent_href)
