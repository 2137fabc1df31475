"""The declarative mapping engine: versioned YAML specs turn landed records into canonical staging rows, and
canonical rows into Oracle and PrestaShop payloads.

* ``load_spec(name)`` — ``specs/<name>.yaml`` (the file name is the target entity), validated and compiled;
  :class:`SpecError` points at ``file:line``.
* ``map_record(spec, record, context)`` — pure; raises :class:`InvalidData` or :class:`MappingMissing` (both
  :class:`MappingError`: reason class, field, how to fix).
* ``map_landed(staging, source, entity, run_id=…, context=…)`` — the landing rows a run wrote, mapped into their
  canonical tables chunk by chunk; failures go to ``dead_letters`` (stage ``map``).
* :class:`MappingContext` — shop time zone and id, defaults, lookups, cross-references and rates, built from a
  configuration dict or file.

See ``docs/mapping.md`` for the spec language and the list of specs.
"""

from __future__ import annotations

from .context import MappingContext, XrefIndex
from .errors import InvalidData, MappingError, MappingMissing, SpecError
from .landed import MapResult, map_landed
from .mapper import map_record, record_key, table_rows
from .spec import SPECS_DIR, Spec, load_spec, spec_names

__all__ = [
    "SPECS_DIR",
    "InvalidData",
    "MapResult",
    "MappingContext",
    "MappingError",
    "MappingMissing",
    "Spec",
    "SpecError",
    "XrefIndex",
    "load_spec",
    "map_landed",
    "map_record",
    "record_key",
    "spec_names",
    "table_rows",
]
