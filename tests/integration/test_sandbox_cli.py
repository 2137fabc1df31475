"""The sandbox command leaves no server behind when it is interrupted, as a user's Ctrl-C or a demo's stop does."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from conftest import free_port


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_sigint_stops_both_servers(tmp_path: Path) -> None:
    ps_port, ora_port = free_port(), free_port()
    cmd = [sys.executable, "-m", "prestaoracle", "sandbox", "--prestashop-port", str(ps_port), "--oracle-port",
           str(ora_port), "--orders", "20", "--data-dir", str(tmp_path)]
    log = tmp_path / "sandbox.log"
    # Output goes to a file, not a pipe: a leaked server would hold a pipe open and hang the test instead of failing it.
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while "Oracle Fusion REST" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "Oracle Fusion REST" in log.read_text(), log.read_text()
        assert requests.get(f"http://127.0.0.1:{ora_port}/sandbox/clock", timeout=5).status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0, log.read_text()
        deadline = time.monotonic() + 15
        while (_listening(ps_port) or _listening(ora_port)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _listening(ps_port) and not _listening(ora_port), "a sandbox server outlived the command"
    finally:
        if proc.poll() is None:
            proc.kill()
