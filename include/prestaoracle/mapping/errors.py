"""What can go wrong in a mapping: a broken spec (a developer's problem) or a record that cannot be mapped.

* :class:`SpecError` — the YAML spec is invalid; the message starts with ``file:line`` so an editor jumps to it.
* :class:`MappingError` — one record cannot be mapped; the record goes to ``dead_letters`` (stage ``map``) and
  the run goes on. Its class decides the reason class:

  - :class:`InvalidData` (``invalid_data``): a value cannot be converted (``"12,5x"`` as an amount); fix it at the
    source;
  - :class:`MappingMissing` (``mapping_missing``): a lookup, cross-reference, rate or default has no entry for the
    value; add the pair (the how-to-fix text names the table, the CLI command or the spec key).
"""

from __future__ import annotations

__all__ = ["InvalidData", "MappingError", "MappingMissing", "SpecError"]


class SpecError(ValueError):
    """A mapping spec (or the mapping configuration) is invalid; ``str()`` is ``file:line: problem``."""

    def __init__(self, file: str, line: int | None, problem: str) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {problem}")
        self.file = file
        self.line = line
        self.problem = problem


class MappingError(ValueError):
    """One record could not be mapped. ``field`` is the target field (dotted for children)."""

    reason_class = "invalid_data"

    def __init__(self, message: str, *, field: str, how_to_fix: str, spec: str = "", value: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.how_to_fix = how_to_fix
        self.spec = spec
        self.value = value

    def within(self, prefix: str) -> MappingError:
        """The same error, its field seen from the parent record (``lines[2].ProductNumber``)."""
        self.field = f"{prefix}.{self.field}" if self.field else prefix
        return self


class InvalidData(MappingError):
    """A source value cannot be converted: the data is wrong, not the mapping."""

    reason_class = "invalid_data"


class MappingMissing(MappingError):
    """A lookup, cross-reference, rate or default has no entry for a value: the mapping is incomplete."""

    reason_class = "mapping_missing"
