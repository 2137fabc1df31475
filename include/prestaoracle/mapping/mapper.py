"""Mapping one record: the pure entry points the flows, the CLI and the tests call.

``map_record(spec, record, context)`` returns the target as a dict — a table row, or a payload — with each child
list under its name. ``table_rows`` flattens a table spec's result into rows per table (children into their own
tables). Neither touches a database: lookups, binds and rates come from the context.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .context import MappingContext
from .engine import Scope
from .errors import InvalidData, MappingError
from .spec import Spec, load_spec

__all__ = ["map_record", "record_key", "table_rows"]


def map_record(spec: Spec | str, record: Mapping[str, Any], context: MappingContext | None = None) -> dict[str, Any]:
    """Map one source record with ``spec`` (a Spec or a spec name); raises a :class:`MappingError` subclass."""
    spec = load_spec(spec) if isinstance(spec, str) else spec
    if not isinstance(record, Mapping):
        raise InvalidData(f"{spec.name}: a record is a JSON object, got {type(record).__name__}", field="",
                          spec=spec.file, how_to_fix="Check what was landed for this record.")
    return spec.run(Scope(record, context or MappingContext()))


def record_key(spec: Spec, record: Mapping[str, Any]) -> str:
    """The source record's own id (``source.id`` of the spec), as text."""
    from .paths import parse_path, read_path

    value = read_path(record, parse_path(spec.model.source.id))
    return "" if value is None else str(value)


def table_rows(spec: Spec, mapped: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """A table spec's result as rows per table: the spec's own row, then its children's rows, recursively."""
    if spec.table is None:
        raise ValueError(f"spec {spec.name} writes a payload, not a table")
    rows: dict[str, list[dict[str, Any]]] = {}
    _collect(spec, mapped, rows)
    return rows


def _collect(spec: Spec, mapped: Mapping[str, Any], rows: dict[str, list[dict[str, Any]]]) -> None:
    child_specs = dict(spec.children())
    own = {k: v for k, v in mapped.items() if k not in child_specs}
    rows.setdefault(spec.table or "", []).append(own)
    for name, child in child_specs.items():
        if child is None:
            raise MappingError(f"{spec.name}: inline child {name!r} in a table spec", field=name, spec=spec.file,
                               how_to_fix="Give the child its own spec file.")
        for item in mapped.get(name) or []:
            _collect(child, item, rows)
