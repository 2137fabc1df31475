"""``make demo`` keeps working: it starts both sandboxes and reads them through the product into staging."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    env = dict(os.environ, PRESTAORACLE_DEMO_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-m", "prestaoracle", "demo"], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "orders: read 500, new 500" in out.stdout
    assert "prices: read" in out.stdout and "accounts: read" in out.stdout
    assert (tmp_path / "staging.db").stat().st_size > 0
