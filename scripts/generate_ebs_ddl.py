"""Write the EBS stand-in's DDL files from its SQLAlchemy metadata (``prestaoracle.sandbox.ebs.schema``).

``sql/ebs/*.sql`` is the Oracle rendering (what the tables look like on the real instance); ``sql/ebs/postgresql``
and ``sql/ebs/sqlite`` are what the stand-in creates in tests. The files are generated, never edited, and
``tests/unit/test_ebs_schema.py`` fails when they differ from the metadata: after changing ``schema.py``, run

    python scripts/generate_ebs_ddl.py          # rewrite the files
    python scripts/generate_ebs_ddl.py --check  # exit 1 and list stale files, write nothing
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from prestaoracle.sandbox.ebs.schema import ddl_files  # noqa: E402

ROOT = Path(__file__).resolve().parents[1] / "sql" / "ebs"
TARGETS = {"oracle": ROOT, "postgresql": ROOT / "postgresql", "sqlite": ROOT / "sqlite"}


def expected_files() -> dict[Path, str]:
    """Every generated file with the text the metadata gives it."""
    return {folder / name: text for dialect, folder in TARGETS.items() for name, text in ddl_files(dialect).items()}


def stale_files() -> list[Path]:
    """Generated files that are missing, differ from the metadata, or are left over from a removed area."""
    expected = expected_files()
    stale = [path for path, text in expected.items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    for folder in TARGETS.values():
        stale += [p for p in sorted(folder.glob("*.sql")) if p not in expected]
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"stale: {path}")
        return 1 if stale else 0
    expected = expected_files()
    for folder in TARGETS.values():
        folder.mkdir(parents=True, exist_ok=True)
        for leftover in folder.glob("*.sql"):
            if leftover not in expected:
                leftover.unlink()
    for path, text in expected.items():
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(expected)} files under {ROOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
