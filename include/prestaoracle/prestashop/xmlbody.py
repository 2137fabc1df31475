"""XML bodies for writes (the webservice reads nothing but XML) and reading entities out of XML answers.

Bodies are built with ``xml.etree.ElementTree``, which escapes ``& < >`` in text: no string templates, so a tracking
number or a product name can never inject markup, and no CDATA (escaping is enough and has no ``]]>`` edge case).
Answers are parsed by the client with defusedxml (no entity expansion, no external entities).
Values must be single-line: PrestaShop's devdocs warn that formatting inside values is stored as-is, and XML 1.0
cannot carry most control characters at all.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from decimal import Decimal

__all__ = ["build_document", "entity_element", "entity_fields", "replace_fields", "xml_text"]

_ILLEGAL = re.compile(r"[\x00-\x1f\x7f\ufffe\uffff]")
_XLINK = "{http://www.w3.org/1999/xlink}"


def xml_text(value: object) -> str:
    """A field value as the webservice expects it: ints/decimals as digits, bools as 1/0, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value, "f")
    text = str(value)
    if _ILLEGAL.search(text):
        raise ValueError(f"value {text[:40]!r} contains a control character, which an XML body cannot carry")
    return text


def build_document(node: str, fields: Mapping[str, object]) -> bytes:
    """``<prestashop><node><field>value</field>...</node></prestashop>`` as UTF-8 bytes with an XML declaration."""
    root = ET.Element("prestashop")
    entity = ET.SubElement(root, node)
    for name, value in fields.items():
        ET.SubElement(entity, name).text = xml_text(value)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def entity_element(root: ET.Element, node: str) -> ET.Element:
    """The ``<node>`` element of an answer (``<prestashop><node>...``), or ValueError when absent."""
    found = root if root.tag == node else root.find(node)
    if found is None:
        raise ValueError(f"XML answer has no <{node}> element")
    return found


def entity_fields(entity: ET.Element) -> dict[str, str]:
    """Scalar fields of an entity as text (``""`` for empty CDATA); nested fields (languages, associations) skipped."""
    return {child.tag: (child.text or "") for child in entity if len(child) == 0}


def replace_fields(entity: ET.Element, node: str, changes: Mapping[str, object], drop: Iterable[str] = ()) -> bytes:
    """A full-replacement document: a copy of ``entity`` with ``changes`` applied and ``drop`` fields removed.

    PUT replaces the whole object (omitted optional fields are set to NULL), so the body must be the complete
    document read just before. xlink and ``notFilterable`` attributes are presentation only and are removed;
    ``<language id="N">`` keeps its id. Whitespace-only text between elements (pretty printing) is removed.
    """
    body = copy.deepcopy(entity)
    body.tag = node
    for name in drop:
        for child in body.findall(name):
            body.remove(child)
    for name, value in changes.items():
        child = body.find(name)
        if child is None:
            child = ET.SubElement(body, name)
        if len(child):
            raise ValueError(f"field {name!r} is structured (translatable or association); cannot set it as text")
        child.text = xml_text(value)
    for element in body.iter():
        for attr in list(element.attrib):
            if attr.startswith(_XLINK) or attr == "notFilterable":
                del element.attrib[attr]
        if len(element) and element.text is not None and not element.text.strip():
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None
    root = ET.Element("prestashop")
    root.append(body)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
