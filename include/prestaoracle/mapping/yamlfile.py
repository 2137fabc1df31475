"""YAML documents that remember where each value was written, so a validation error can say ``file:line``.

PyYAML composes the document into nodes that carry their position; ``Located.line(loc)`` walks a validation error's
location (keys and list indexes, as pydantic reports them) down those nodes and returns the deepest line it can
reach (1-based). Duplicate keys, which PyYAML would silently collapse, are refused with both lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import SpecError

__all__ = ["Located", "load_located", "validation_error"]


@dataclass(frozen=True)
class Located:
    file: str
    data: Any
    root: yaml.Node | None

    def line(self, loc: Sequence[str | int]) -> int | None:
        node = self.root
        line = None if node is None else node.start_mark.line + 1
        for step in loc:
            found = _child(node, step)
            if found is None:
                continue  # a union tag or a synthetic step pydantic adds: stay on the last real node
            key_node, node = found
            line = key_node.start_mark.line + 1
        return line

    def error(self, loc: Sequence[str | int], problem: str) -> SpecError:
        return SpecError(self.file, self.line(loc), problem)


def _child(node: yaml.Node | None, step: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """The (key node, value node) of a mapping entry, or (item, item) of a sequence element."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                return key, value
    elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        item = node.value[step]
        return item, item
    return None


def _check_duplicates(node: yaml.Node, file: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.value in seen:
                    raise SpecError(file, line, f"key {key.value!r} is repeated (first at line {seen[key.value]})")
                seen[key.value] = line
            _check_duplicates(value, file)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicates(item, file)


def load_located(path: Path, *, shown_as: str | None = None) -> Located:
    """Parse a YAML file (safe loader) with positions; YAML syntax errors become SpecError with the line."""
    file = shown_as or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(file, None, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise SpecError(file, None if mark is None else mark.line + 1,
                        f"YAML syntax: {exc.problem or exc.context}") from None
    if root is not None:
        _check_duplicates(root, file)
    return Located(file, data, root)


# Steps pydantic adds to a location that are not keys of the document (union tags, plain validators).
_SYNTHETIC = ("path", "rule", "function-plain[_parse_step()]", "function-plain[_parse_direct()]",
              "function-after[_check_path()]")


def validation_error(located: Located, exc: ValidationError) -> SpecError:
    """The first problem in the document, as a reader meets them (on one line, the most precise one)."""

    def cleaned(error: Any) -> list[str | int]:
        return [p for p in error["loc"] if p not in _SYNTHETIC]

    def order(error: Any) -> tuple[int, int]:
        return (located.line(cleaned(error)) or 0, -len(error["loc"]))

    error = min(exc.errors(), key=order)
    loc = cleaned(error)
    where = ".".join(str(p) for p in loc)
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
    elif error["type"] == "missing":
        message = f"missing key {loc[-1]!r}"
    return located.error(loc, f"{where}: {message}" if where else message)
