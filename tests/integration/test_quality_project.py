"""The committed GX project declares every asset the suites use, and nothing else: syncing it changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

from prestaoracle.quality import project

COMMITTED = Path(__file__).resolve().parents[2] / "great_expectations" / "great_expectations.yml"


def test_the_committed_project_is_in_step_with_the_suites(tmp_path: Path) -> None:
    root = tmp_path / "great_expectations"
    root.mkdir()
    shutil.copy(COMMITTED, root / "great_expectations.yml")
    changed = project.sync(root)
    assert not changed, "run `python -m prestaoracle.quality.project` and commit great_expectations.yml"
    assert (root / "great_expectations.yml").read_text(encoding="utf-8") == COMMITTED.read_text(encoding="utf-8")
    assert "://" not in COMMITTED.read_text(encoding="utf-8"), "no database URL in the committed project"
    assert "${PRESTAORACLE_GX_STAGING_URL}" in COMMITTED.read_text(encoding="utf-8")
