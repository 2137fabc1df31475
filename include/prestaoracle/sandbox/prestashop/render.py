"""Turning stored records into the webservice's XML and JSON documents, byte for byte as 8.1.2 writes them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

from prestaoracle.sandbox.prestashop.schema import DECIMALS, Association, Field, Resource

XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">\n'
XML_TAIL = "</prestashop>\n"


@dataclass
class Record:
    """One object ready to print: wire values in field order, then its associations."""

    resource: Resource
    values: list[tuple[Field, Any]]
    associations: list[tuple[Association, list[list[tuple[Field, Any]]]]] = field(default_factory=list)

    @property
    def id(self) -> Any:
        return self.values[0][1]


def wire(f: Field, value: Any) -> Any:
    """A stored value as PHP 8.1 puts it on the wire: INT as a number, BOOL as "0"/"1", DECIMAL with its scale."""
    kind = f.base_kind
    if value is None:
        return ""
    if kind == "i":
        return int(value)
    if kind == "b":
        return str(int(value))
    if kind in DECIMALS:
        return f"{float(value):.{DECIMALS[kind]}f}"
    return str(value)


def php_json(data: Any) -> str:
    """json_encode with JSON_UNESCAPED_UNICODE: raw UTF-8, but "/" escaped as "\\/"."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")


def _truthy(value: Any) -> bool:
    # PHP's array_filter() drops "", "0", 0, null and empty arrays; "0.000000" stays.
    return value not in ("", "0", 0, None, [], {}) and value is not False


def _json_obj(rec: Record, drop_falsy: bool) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for f, v in rec.values:
        if drop_falsy and not _truthy(v):
            continue
        obj[f.name] = v
    assoc = {a.name: [{f.name: v for f, v in row} for row in rows] for a, rows in rec.associations if rows}
    if assoc:
        obj["associations"] = assoc
    return obj


def json_list(resource: Resource, records: list[Record]) -> str:
    """A list keeps every field; an empty one is the bare ``[]`` PrestaShop prints."""
    if not records:
        return "[]"
    return php_json({resource.list_node: [_json_obj(r, drop_falsy=False) for r in records]})


def json_single(rec: Record) -> str:
    """A single object drops every falsy field (8.x's array_filter over the entry)."""
    return php_json({rec.resource.item_node: _json_obj(rec, drop_falsy=True)})


def json_errors(errors: list[tuple[int, str]]) -> str:
    return php_json({"errors": [{"code": c, "message": m} for c, m in errors]})


def _cdata(value: Any) -> str:
    text = "" if value is None else str(value)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml_field(f: Field, value: Any, base: str, indent: str, blank: bool = False, in_assoc: bool = False) -> str:
    attrs = ""
    if not blank:
        # Object fields lose their link when empty or 0; association rows keep it (customizations/0).
        if f.xlink and (in_assoc or value not in ("", 0, "0", None)):
            attrs += f' xlink:href="{base}{f.xlink}/{value}"'
        if f.virtual:
            attrs += ' notFilterable="true"'
    if f.base_kind == "l" and not blank:
        inner = f'<language id="1" xlink:href="{base}languages/1">{_cdata(value)}</language>'
        return f"{indent}<{f.name}{attrs}>{inner}</{f.name}>\n"
    return f"{indent}<{f.name}{attrs}>{_cdata(value)}</{f.name}>\n"


def _xml_assocs(rec: Record, base: str, blank: bool = False) -> str:
    if not rec.resource.associations:
        return ""
    out = ["<associations>\n"]
    for assoc, rows in rec.associations:
        attrs = "" if blank else "".join(f" {k}={quoteattr(v)}" for k, v in (("nodeType", assoc.node), *assoc.attrs))
        if not rows:
            out.append(f"<{assoc.name}{attrs}/>\n")
            continue
        out.append(f"<{assoc.name}{attrs}>\n")
        api = dict(assoc.attrs).get("api")
        for row in rows:
            href = ""
            if api and not blank:
                href = f' xlink:href="{base}{api}/{row[0][1]}"'
            out.append(f"\t<{assoc.node}{href}>\n")
            for f, v in row:
                out.append(_xml_field(f, v, base, "\t", blank, in_assoc=True))
            out.append(f"\t</{assoc.node}>\n")
        out.append(f"</{assoc.name}>\n")
    out.append("</associations>\n")
    return "".join(out)


def xml_object(rec: Record, base: str, blank: bool = False) -> str:
    parts = [f"<{rec.resource.item_node}>\n"]
    parts.extend(_xml_field(f, v, base, "\t", blank) for f, v in rec.values)
    if rec.associations:
        parts.append(_xml_assocs(rec, base, blank))
    parts.append(f"</{rec.resource.item_node}>\n")
    return "".join(parts)


def xml_single(rec: Record, base: str, blank: bool = False) -> str:
    return XML_HEAD + xml_object(rec, base, blank) + XML_TAIL


def xml_list(resource: Resource, records: list[Record], base: str, ids_only: bool) -> str:
    parts = [XML_HEAD, f"<{resource.list_node}>\n"]
    # order_slip items link to /api/order_slips/N, a URL the shop itself does not serve (a real 8.1.2 bug).
    link_name = resource.list_node
    for rec in records:
        if ids_only:
            parts.append(f'<{resource.item_node} id="{rec.id}" xlink:href="{base}{link_name}/{rec.id}"/>\n')
        else:
            parts.append(xml_object(rec, base))
    parts.append(f"</{resource.list_node}>\n")
    parts.append(XML_TAIL)
    return "".join(parts)


def xml_errors(errors: list[tuple[int, str]]) -> str:
    body = "".join(
        f"<error>\n<code>{_cdata(code)}</code>\n<message>{_cdata(msg)}</message>\n</error>\n" for code, msg in errors
    )
    return XML_HEAD + "<errors>\n" + body + "</errors>\n" + XML_TAIL


def xml_api_index(resources: list[tuple[Resource, tuple[str, ...]]], base: str, shop_name: str) -> str:
    """The ``/api/`` index: the resources granted to the key, each with the methods it may use."""
    parts = [XML_HEAD, f"<api shopName={quoteattr(shop_name)}>\n"]
    for r, methods in resources:
        perms = " ".join(f'{m.lower()}="{str(m in methods).lower()}"' for m in ("GET", "PUT", "POST", "PATCH",
                                                                              "DELETE", "HEAD"))
        href = f"{base}{r.name}"
        parts.append(f'<{r.name} xlink:href="{href}" {perms}>\n')
        parts.append(f'<description xlink:href="{href}" {perms}>\n{r.description}</description>\n')
        parts.append(f'<schema xlink:href="{href}?schema=blank" type="blank"/>\n')
        parts.append(f'<schema xlink:href="{href}?schema=synopsis" type="synopsis"/>\n')
        parts.append(f"</{r.name}>\n")
    parts.append("</api>\n")
    parts.append(XML_TAIL)
    return "".join(parts)
