"""Compare a live webservice response with a recorded PrestaShop response.

Every function returns a list of human-readable differences (empty = equal) instead of asserting, so a test can
report all differences of a response at once and unit tests can check that a given change is caught.

Values are located by *paths* that the exception tables of the tests use:

* JSON: keys joined by ``.``; a dict that has an ``id`` gets ``[id=N]`` appended to the path that leads to it, other
  list items get ``[index]``: ``order[id=2].date_upd``, ``order_histories[id=8].date_add``,
  ``orders[id=1].associations.order_rows[id=1].product_id``.
* XML: element tags below ``<prestashop>`` joined by ``/``; an element with an ``id`` attribute or a non-empty
  ``<id>`` child gets ``[id=N]``: ``order[id=2]/date_upd``, ``orders/order[id=3]``.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET

RECORDED_BASE_URL = "http://127.0.0.1:8099"
"""Scheme+host of the recorded shop; PrestaShop builds xlinks from the request's host, so it is substituted."""

TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
XLINK_NS = "{http://www.w3.org/1999/xlink}"

# Headers compared for presence/absence and exact value (names are case-insensitive in HTTP).
EXACT_HEADERS = ("PSWS-Version", "X-Powered-By", "Content-Type", "WWW-Authenticate")
# Headers whose value changes on every request: only presence/absence and the shape of the value are compared.
TIMING_HEADERS = {"Execution-Time": re.compile(r"^\d+(\.\d+)?$"), "Access-Time": re.compile(r"^\d+$")}
CHECKSUM_HEADER = "Content-Sha1"
# Added by PHP's built-in server / the front office (recorded side) or by the ASGI server (emulator side).
IGNORED_HEADERS = ("Host", "Date", "Connection", "Set-Cookie", "Content-Length", "Server", "Transfer-Encoding")


@dataclass(frozen=True)
class Leeway:
    """Where a comparison may deviate from exact equality, by path (see the module docstring).

    ``timestamps``: values that only have to look like ``YYYY-MM-DD HH:MM:SS`` (set at request time by writes).
    ``unordered``: lists (JSON) or list containers (XML) whose items are compared sorted by id.
    """

    timestamps: frozenset[str] = frozenset()
    unordered: frozenset[str] = frozenset()


NO_LEEWAY = Leeway()


# ---------------------------------------------------------------------------------------------------------- helpers


def substitute_base_url(body: bytes, base_url: str, recorded: str = RECORDED_BASE_URL) -> bytes:
    """Rewrite the recorded shop's URL (in xlinks) to the sandbox's, so trees can be compared value for value."""
    return body.replace(recorded.encode(), base_url.rstrip("/").encode())


def sha1_hex(body: bytes) -> str:
    """SHA-1 of a body, as PrestaShop's ``Content-Sha1`` header carries it."""
    return hashlib.sha1(body).hexdigest()


def php_json_encode(value: Any) -> bytes:
    """Serialize like PHP ``json_encode($x, JSON_UNESCAPED_UNICODE)``: compact, raw UTF-8, ``/`` escaped as ``\\/``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("/", "\\/").encode("utf-8")


def _id_sort_key(item_id: object) -> tuple[int, int | str]:
    """Numeric ids sort numerically, anything else after them as text."""
    text = "" if item_id is None else str(item_id)
    return (0, int(text)) if text.isdigit() else (1, text)


def _short(value: object, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -------------------------------------------------------------------------------------------------------- JSON paths


def _join(path: str, key: str, sep: str) -> str:
    return f"{path}{sep}{key}" if path else key


def _json_with_id(path: str, value: Any) -> str:
    """Append ``[id=N]`` to the path of a dict that has an id."""
    if isinstance(value, dict) and "id" in value and not isinstance(value["id"], dict | list):
        return f"{path}[id={value['id']}]"
    return path


def _json_item_path(path: str, item: Any, index: int) -> str:
    with_id = _json_with_id(path, item)
    return with_id if with_id != path else f"{path}[{index}]"


def iter_json_leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(path, scalar)`` for every scalar of a JSON document (used to audit the exception tables)."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from iter_json_leaves(child, _json_with_id(_join(path, key, "."), child))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from iter_json_leaves(item, _json_item_path(path, item, index))
    else:
        yield path, value


def iter_json_lists(value: Any, path: str = "") -> Iterator[tuple[str, list[Any]]]:
    """Yield ``(path, list)`` for every list of a JSON document."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from iter_json_lists(child, _json_with_id(_join(path, key, "."), child))
    elif isinstance(value, list):
        yield path, value
        for index, item in enumerate(value):
            yield from iter_json_lists(item, _json_item_path(path, item, index))


# ------------------------------------------------------------------------------------------------------ JSON compare


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ValueError(f"duplicate JSON keys {dupes}")
    return dict(pairs)


def parse_json(raw: bytes) -> Any:
    """Parse a JSON body strictly (UTF-8, no duplicate keys); dicts keep the wire's key order."""
    return json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicate_keys)


def compare_json(expected: Any, actual: Any, leeway: Leeway = NO_LEEWAY, path: str = "") -> list[str]:
    """Differences between two parsed JSON values: values, JSON types (``1`` vs ``"1"``) and key order."""
    diffs: list[str] = []
    _json_diff(expected, actual, path, leeway, diffs)
    return diffs


def _json_diff(exp: Any, act: Any, path: str, leeway: Leeway, diffs: list[str]) -> None:
    where = path or "<root>"
    if path in leeway.timestamps:
        if not (isinstance(act, str) and TIMESTAMP_RE.match(act)):
            diffs.append(f"{where}: expected a 'YYYY-MM-DD HH:MM:SS' string (time of the request), got {_short(act)}")
        return
    # type() and not isinstance(): bool is an int subclass, and 1 == 1.0 in Python but not on the wire.
    if type(exp) is not type(act):
        diffs.append(
            f"{where}: JSON type {type(exp).__name__} != {type(act).__name__} "
            f"(expected {_short(exp)}, got {_short(act)})"
        )
        return
    if isinstance(exp, dict):
        exp_keys, act_keys = list(exp), list(act)
        if exp_keys != act_keys:
            missing = [k for k in exp_keys if k not in act]
            extra = [k for k in act_keys if k not in exp]
            if missing or extra:
                diffs.append(f"{where}: keys differ: missing {missing}, unexpected {extra}")
            else:
                diffs.append(f"{where}: key order differs: expected {exp_keys}, got {act_keys}")
        for key, child in exp.items():
            if key in act:
                _json_diff(child, act[key], _json_with_id(_join(path, key, "."), child), leeway, diffs)
    elif isinstance(exp, list):
        if path in leeway.unordered:
            exp = sorted(exp, key=lambda item: _id_sort_key(item.get("id") if isinstance(item, dict) else item))
            act = sorted(act, key=lambda item: _id_sort_key(item.get("id") if isinstance(item, dict) else item))
        if len(exp) != len(act):
            diffs.append(
                f"{where}: {len(exp)} items expected, got {len(act)} "
                f"(ids expected {_list_ids(exp)}, got {_list_ids(act)})"
            )
        for index, (e_item, a_item) in enumerate(zip(exp, act, strict=False)):
            _json_diff(e_item, a_item, _json_item_path(path, e_item, index), leeway, diffs)
    elif exp != act:
        diffs.append(f"{where}: expected {_short(exp)}, got {_short(act)}")


def _list_ids(items: Sequence[Any]) -> list[Any]:
    return [item.get("id") if isinstance(item, dict) else item for item in items]


def json_style_differences(raw: bytes) -> list[str]:
    """Check a JSON body is serialized the way PHP's ``json_encode`` does it (compact, ``\\/``, raw UTF-8).

    Parsing hides these details, but a byte-for-byte client (or a ``Content-Sha1`` check) would see them.
    """
    try:
        canonical = php_json_encode(parse_json(raw))
    except ValueError as exc:
        return [f"body is not valid JSON: {exc}"]
    if canonical == raw:
        return []
    at = next(
        (i for i, (a, b) in enumerate(zip(raw, canonical, strict=False)) if a != b), min(len(raw), len(canonical))
    )
    return [
        f"JSON not serialized like PHP json_encode at byte {at}: got {raw[max(0, at - 30) : at + 30]!r}, "
        f"PHP would write {canonical[max(0, at - 30) : at + 30]!r}"
    ]


# --------------------------------------------------------------------------------------------------------- XML paths


def _xml_id(elem: Element) -> str | None:
    if "id" in elem.attrib:
        return elem.attrib["id"]
    id_child = elem.find("id")
    if id_child is not None and id_child.text and id_child.text.strip():
        return id_child.text
    return None


def _xml_path(parent: str, elem: Element) -> str:
    path = _join(parent, elem.tag, "/")
    elem_id = _xml_id(elem)
    return f"{path}[id={elem_id}]" if elem_id is not None else path


def iter_xml_leaves(root: Element) -> Iterator[tuple[str, str]]:
    """Yield ``(path, text)`` for every element without children below the root (used to audit exception tables)."""

    def walk(elem: Element, parent: str) -> Iterator[tuple[str, str]]:
        path = _xml_path(parent, elem)
        children = list(elem)
        if not children:
            yield path, _norm(elem.text)
        for child in children:
            yield from walk(child, path)

    for child in root:
        yield from walk(child, "")


def _norm(text: str | None) -> str:
    """Whitespace-only text (indentation between elements) is cosmetic in PrestaShop's XML; other text is exact."""
    return "" if text is None or not text.strip() else text


def _attr_name(name: str) -> str:
    return name.replace(XLINK_NS, "xlink:")


# ------------------------------------------------------------------------------------------------------- XML compare


def parse_xml(raw: bytes) -> Element:
    """Parse an XML body without resolving entities or DTDs (defusedxml)."""
    return SafeET.fromstring(raw)


def _namespace_declarations(raw: bytes) -> list[tuple[str, str]]:
    """``xmlns`` declarations in document order; ElementTree drops them from the tree, clients still rely on them."""
    return [ns for _event, ns in SafeET.iterparse(io.BytesIO(raw), events=("start-ns",))]


def _declaration(raw: bytes) -> bytes:
    first = raw.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    return first if first.startswith(b"<?xml") else b""


def compare_xml_bodies(expected: bytes, actual: bytes, leeway: Leeway = NO_LEEWAY) -> list[str]:
    """Differences between two XML bodies: declaration, namespace declarations, then the element trees."""
    try:
        act_root = parse_xml(actual)
    except SafeET.ParseError as exc:
        return [f"body is not well-formed XML: {exc}: {actual[:200]!r}"]
    exp_root = parse_xml(expected)
    diffs: list[str] = []
    if _declaration(expected) != _declaration(actual):
        diffs.append(f"XML declaration: expected {_declaration(expected)!r}, got {_declaration(actual)!r}")
    exp_ns, act_ns = _namespace_declarations(expected), _namespace_declarations(actual)
    if exp_ns != act_ns:
        diffs.append(f"namespace declarations: expected {exp_ns}, got {act_ns}")
    diffs.extend(compare_xml(exp_root, act_root, leeway))
    return diffs


def compare_xml(expected: Element, actual: Element, leeway: Leeway = NO_LEEWAY) -> list[str]:
    """Differences between two element trees: tag, attributes, text (whitespace-only = empty), children in order."""
    diffs: list[str] = []
    if expected.tag != actual.tag:
        return [f"root element: expected <{expected.tag}>, got <{actual.tag}>"]
    _xml_node_diff(expected, actual, "", leeway, diffs, is_root=True)
    return diffs


def _xml_node_diff(exp: Element, act: Element, path: str, leeway: Leeway, diffs: list[str], is_root: bool) -> None:
    where = path or f"<{exp.tag}>"
    exp_attrs = {_attr_name(k): v for k, v in exp.attrib.items()}
    act_attrs = {_attr_name(k): v for k, v in act.attrib.items()}
    if exp_attrs != act_attrs:
        missing = sorted(set(exp_attrs) - set(act_attrs))
        extra = sorted(set(act_attrs) - set(exp_attrs))
        changed = {
            k: (exp_attrs[k], act_attrs[k]) for k in exp_attrs if k in act_attrs and exp_attrs[k] != act_attrs[k]
        }
        diffs.append(f"{where}: attributes differ: missing {missing}, unexpected {extra}, changed {changed}")

    if path in leeway.timestamps:
        text = act.text or ""
        if not TIMESTAMP_RE.match(text):
            diffs.append(f"{where}: expected a 'YYYY-MM-DD HH:MM:SS' text (time of the request), got {_short(text)}")
    elif _norm(exp.text) != _norm(act.text):
        diffs.append(f"{where}: text expected {_short(_norm(exp.text))}, got {_short(_norm(act.text))}")
    if not is_root and _norm(exp.tail) != _norm(act.tail):
        diffs.append(f"{where}: text after element expected {_short(_norm(exp.tail))}, got {_short(_norm(act.tail))}")

    exp_children, act_children = list(exp), list(act)
    if path in leeway.unordered:
        exp_children.sort(key=lambda e: _id_sort_key(_xml_id(e)))
        act_children.sort(key=lambda e: _id_sort_key(_xml_id(e)))
    exp_tags = [_xml_path(path, c) for c in exp_children]
    act_tags = [_xml_path(path, c) for c in act_children]
    if exp_tags != act_tags:
        missing = list((Counter(exp_tags) - Counter(act_tags)).elements())
        extra = list((Counter(act_tags) - Counter(exp_tags)).elements())
        if missing or extra:
            diffs.append(f"{where}: children differ: missing {missing}, unexpected {extra}")
        else:
            diffs.append(f"{where}: children order differs: expected {exp_tags}, got {act_tags}")
    if [c.tag for c in exp_children] == [c.tag for c in act_children]:
        pairs: Iterable[tuple[Element, Element]] = zip(exp_children, act_children, strict=True)
    else:
        # Structure differs: pair children by path so the remaining ones are still compared value for value.
        by_path = {_xml_path(path, c): c for c in act_children}
        pairs = [(c, by_path[p]) for c, p in zip(exp_children, exp_tags, strict=True) if p in by_path]
    for e_child, a_child in pairs:
        _xml_node_diff(e_child, a_child, _xml_path(path, e_child), leeway, diffs, is_root=False)


# ------------------------------------------------------------------------------------------------------------ bodies


def compare_body(kind: str, expected: bytes, actual: bytes, leeway: Leeway = NO_LEEWAY) -> list[str]:
    """Compare bodies by the recorded kind (``json``, ``xml`` or ``txt``; an empty recorded body must stay empty)."""
    if not expected or kind == "txt":
        return [] if expected == actual else [f"body: expected {_short(expected)}, got {_short(actual)}"]
    if kind == "json":
        try:
            act = parse_json(actual)
        except ValueError as exc:
            return [f"body is not valid JSON ({exc}): {actual[:200]!r}"]
        return compare_json(parse_json(expected), act, leeway)
    if kind == "xml":
        return compare_xml_bodies(expected, actual, leeway)
    raise ValueError(f"unknown body kind {kind!r}")


# ----------------------------------------------------------------------------------------------------------- headers


def _values(headers: Sequence[tuple[str, str]], name: str) -> list[str]:
    lname = name.lower()
    return [v for k, v in headers if k.lower() == lname]


def compare_headers(expected: Sequence[tuple[str, str]], actual: Sequence[tuple[str, str]], body: bytes) -> list[str]:
    """Differences in the headers that matter to clients.

    ``body`` is what ``Content-Sha1`` must hash: the body received (for HEAD: the body of the matching GET). The
    recorded checksum itself is not compared because xlinks embed the host, so XML bodies differ by design.
    """
    diffs: list[str] = []
    for name in EXACT_HEADERS:
        exp, act = _values(expected, name), _values(actual, name)
        if exp != act:
            diffs.append(f"header {name}: expected {exp or 'absent'}, got {act or 'absent'}")
    for name, shape in TIMING_HEADERS.items():
        exp, act = _values(expected, name), _values(actual, name)
        if len(exp) != len(act):
            diffs.append(f"header {name}: expected {'present' if exp else 'absent'}, got {act or 'absent'}")
        elif any(not shape.match(v) for v in act):
            diffs.append(f"header {name}: malformed value {act}")
    exp_sha, act_sha = _values(expected, CHECKSUM_HEADER), _values(actual, CHECKSUM_HEADER)
    if len(exp_sha) != len(act_sha):
        diffs.append(
            f"header {CHECKSUM_HEADER}: expected {'present' if exp_sha else 'absent'}, got {act_sha or 'absent'}"
        )
    elif act_sha and act_sha != [sha1_hex(body)]:
        diffs.append(f"header {CHECKSUM_HEADER}: {act_sha} is not the SHA-1 of the body ({sha1_hex(body)})")
    known = {n.lower() for n in (*EXACT_HEADERS, *TIMING_HEADERS, CHECKSUM_HEADER, *IGNORED_HEADERS)}
    recorded = {k.lower() for k, _ in expected}
    extra = sorted({k for k, _ in actual if k.lower() not in known and k.lower() not in recorded})
    if extra:
        diffs.append(f"unexpected headers {extra} (not sent by the recorded shop)")
    return diffs
