"""Keep the committed GX project in step with the suites: ``python -m prestaoracle.quality.project [--root DIR]``.

Declares every data source and asset the suites use in ``great_expectations.yml`` (run it after adding a check
or changing a table check's query, and commit the file; a test fails until then). GX checks each query asset
against a database when it is declared, so this runs them on a fresh temporary SQLite staging database.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from prestaoracle.staging import connect

from . import entities, gx_project


def sync(root: Path | str | None = None) -> bool:
    """Declare what is missing in the project at ``root``; returns whether ``great_expectations.yml`` changed."""
    context = gx_project.get_context(root)
    with tempfile.TemporaryDirectory(prefix="prestaoracle-gx-") as tmp:
        staging = connect(Path(tmp) / "staging.db", upgrade=True)
        try:
            with gx_project.project_lock(context, staging.engine.url.render_as_string(hide_password=False)):
                return gx_project.ensure_assets(context, tuple(entities.ENTITIES.values()), remove_others=True)
        finally:
            staging.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m prestaoracle.quality.project", description=__doc__)
    parser.add_argument("--root", type=Path, default=None, help="GX project directory (default: the repository's)")
    args = parser.parse_args(argv)
    changed = sync(args.root)
    print("great_expectations.yml updated" if changed else "great_expectations.yml already up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
