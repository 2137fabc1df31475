""".ci/run hands ``make test`` an environment with CI=true, so PostgreSQL-backed tests fail there instead of skipping.

The script runs for real, with stand-ins for ``make`` (records what it was given), ``pg_isready`` and ``redis-cli``
(both answer "up") first on PATH, so nothing is started and the suite is not run twice.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_ci_run_exports_ci_true_to_make_test(tmp_path: Path) -> None:
    record = tmp_path / "make.txt"
    _tool(tmp_path, "make", f'echo "args=$* CI=${{CI-unset}}" > "{record}"')
    _tool(tmp_path, "pg_isready", "exit 0")
    _tool(tmp_path, "redis-cli", "exit 0")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = f"{tmp_path}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run([str(REPO / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert record.read_text().strip() == "args=test CI=true"
