"""Field paths in specs: ``reference``, ``associations.order_rows``, ``lines[0].sku``, ``lines[*].status_code``.

A path is parsed once when the spec loads (a malformed path is a spec error) into a tuple of steps; reading it
from a record never raises: a missing key or index reads as None. ``[*]`` fans out over a list and yields a list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Path", "parse_path", "read_path"]

_SEGMENT = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<index>(?:\[(?:\*|\d+)\])*)")
_INDEX = re.compile(r"\[(\*|\d+)\]")

Path = tuple[str | int, ...]
"""Steps: a key (str), an index (int), or ``"*"`` (every element)."""
STAR = "*"


def parse_path(text: str) -> Path:
    """``lines[*].sku`` -> ``("lines", "*", "sku")``; raises ValueError on anything else."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"a field path must be a non-empty string, got {text!r}")
    steps: list[str | int] = []
    for part in text.split("."):
        match = _SEGMENT.fullmatch(part)
        if not match:
            raise ValueError(f"{text!r} is not a field path (names separated by dots, optional [N] or [*])")
        steps.append(match["name"])
        for index in _INDEX.findall(match["index"]):
            steps.append(STAR if index == STAR else int(index))
    return tuple(steps)


def read_path(value: Any, path: Path) -> Any:
    """The value at ``path`` in nested dicts and lists, None when any step is missing."""
    for position, step in enumerate(path):
        if value is None:
            return None
        if step == STAR:
            if not isinstance(value, Sequence) or isinstance(value, str):
                return None
            rest = path[position + 1:]
            return [read_path(item, rest) for item in value]
        if isinstance(step, int):
            if not isinstance(value, Sequence) or isinstance(value, str) or step >= len(value):
                return None
            value = value[step]
        elif isinstance(value, Mapping):
            value = value.get(step)
        else:
            return None
    return value
