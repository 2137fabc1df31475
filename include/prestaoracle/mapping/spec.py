"""Loading specs: ``load_spec(name)`` reads ``specs/<name>.yaml`` (the file name is the target entity), validates
it against :class:`~.model.SpecModel`, compiles it, and caches the result until the file changes.

Every problem is a :class:`~.errors.SpecError` whose message starts with ``file:line`` — unknown keys, unknown
converters, parameters of the wrong type, malformed paths, undeclared lookups, fields written twice, columns the
target table does not have, missing child specs, include cycles.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .engine import CompileError, Compiler, Plan, Scope
from .errors import SpecError
from .model import SpecModel
from .yamlfile import Located, load_located, validation_error

__all__ = ["SPECS_DIR", "Spec", "load_spec", "spec_names"]

SPECS_DIR = Path(__file__).resolve().with_name("specs")
PACKAGE_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True, eq=False)
class Spec:
    """A loaded, validated and compiled spec."""

    name: str
    file: str
    """The path shown in messages (relative to the repository when inside it)."""
    model: SpecModel
    plan: Plan
    located: Located

    def __repr__(self) -> str:
        return f"Spec({self.name!r}, version {self.model.version})"

    @property
    def version(self) -> int:
        return self.model.version

    @property
    def table(self) -> str | None:
        return self.model.target.table

    @property
    def key(self) -> list[str]:
        return list(self.model.target.key)

    @property
    def only_create(self) -> list[str]:
        return list(self.model.only_create)

    def where(self, *loc: str | int) -> str:
        line = self.located.line(loc)
        return f"{self.file}:{line}" if line else self.file

    def children(self) -> Iterator[tuple[str, Spec | None]]:
        """Child names with the spec that maps them (None when inline)."""
        for name, child in self.model.children.items():
            yield name, None if child.spec is None else load_spec(child.spec, specs_dir=Path(self.located.file).parent)

    def run(self, scope: Scope) -> dict[str, Any]:
        return self.plan.run(scope)


_CACHE: dict[Path, tuple[float, Spec]] = {}
_LOCK = threading.RLock()
_LOADING: set[Path] = set()


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(PACKAGE_ROOT))
    except ValueError:
        return str(path)


def _resolve(name: str | Path, specs_dir: Path) -> Path:
    if isinstance(name, Path) or str(name).endswith((".yaml", ".yml")):
        return Path(name).resolve()
    return (specs_dir / f"{name}.yaml").resolve()


def spec_names(specs_dir: Path = SPECS_DIR) -> list[str]:
    """Every spec in the folder, by name."""
    return sorted(p.stem for p in specs_dir.glob("*.yaml"))


def load_spec(name: str | Path, *, specs_dir: Path = SPECS_DIR) -> Spec:
    """The spec ``specs_dir/<name>.yaml`` (or a path to a YAML file), validated and compiled; raises SpecError."""
    path = _resolve(name, specs_dir)
    if not path.is_file():
        known = ", ".join(spec_names(path.parent)) or "none"
        raise SpecError(_shown(path), None, f"no such spec; specs in {_shown(path.parent)}: {known}")
    with _LOCK:
        mtime = path.stat().st_mtime
        cached = _CACHE.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        if path in _LOADING:
            raise SpecError(_shown(path), None, "child specs include each other in a cycle")
        _LOADING.add(path)
        try:
            spec = _load(path)
        finally:
            _LOADING.discard(path)
        _CACHE[path] = (mtime, spec)
        return spec


def _load(path: Path) -> Spec:
    located = load_located(path, shown_as=_shown(path))
    if not isinstance(located.data, dict):
        raise located.error((), "a spec is a YAML mapping (spec: 1, version: …, source: …, target: …)")
    declared = located.data.get("lookups")
    context = {"lookups": list(declared) if isinstance(declared, dict) else []}
    try:
        model = SpecModel.model_validate(located.data, context=context)
    except ValidationError as exc:
        raise validation_error(located, exc) from None
    if path.stem != (model.target.table or model.target.payload):
        raise located.error(("target",), f"the file name is the target entity: rename {path.name} to "
                            f"{model.target.table or model.target.payload}.yaml or change the target")

    def child_spec(name: str, loc: tuple[str | int, ...]) -> Spec:
        try:
            return load_spec(name, specs_dir=path.parent)
        except SpecError as exc:
            if exc.file == _shown(_resolve(name, path.parent)) and exc.line is None:
                raise CompileError(loc, f"child spec {name!r}: {exc.problem}") from None
            raise

    compiler = Compiler(located.file, located.line, child_spec, _table_columns)
    try:
        plan = compiler.body(model, (), table=model.target.table, omit_none=model.target.omit_none,
                             only_create=model.only_create)
        if model.target.table is not None:
            written = {f.name for f in plan.fields}
            for i, column in enumerate(model.target.key):
                if column not in written:
                    raise CompileError(("target", "key", i), f"key column {column!r} is not mapped")
    except CompileError as exc:
        raise located.error(exc.loc, exc.problem) from None
    return Spec(path.stem, located.file, model, plan, located)


def _table_columns(table: str) -> dict[str, bool] | None:
    """The table's columns, each with whether it may be NULL (columns with a server default count as nullable:
    the database fills them)."""
    from prestaoracle.staging import schema

    found = schema.TABLES.get(table)
    if found is None:
        return None
    return {c.name: bool(c.nullable) or c.server_default is not None for c in found.c}
