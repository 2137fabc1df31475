"""Start the project's sandbox (``python -m prestaoracle sandbox ...``) as a real subprocess for a test.

Tests talk to the emulator over HTTP exactly as clients do, so they exercise the CLI, the server and the data
loading together; a subprocess also gives every test module its own state (own ``--data-dir``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


def _option(args: list[str], name: str) -> str | None:
    """Value of ``--name VALUE`` or ``--name=VALUE`` in ``args`` (None when absent)."""
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _tail(path: Path, limit: int = 8000) -> str:
    """Last ``limit`` characters of a log file, for error messages."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text[-limit:]


@contextlib.contextmanager
def run_sandbox(*args: str, startup_timeout: float = STARTUP_TIMEOUT_S) -> Iterator[str]:
    """Run ``prestaoracle sandbox *args`` until the block ends; yield its base URL (``http://127.0.0.1:PORT``).

    ``args`` must contain ``--prestashop-port PORT`` (use ``conftest.free_port()``): the port is how we know where
    to poll. A private temporary ``--data-dir`` is added unless one is given, so runs never share state. Start-up is
    done when ``GET /api/`` answers with any status (even 401: the server is up). If the process exits or does not
    answer within ``startup_timeout`` seconds, its stderr is shown in the error. On exit: SIGINT to the sandbox's
    process group (the CLI and the servers it spawned: its normal stop), wait, then kill what is left of the group.

    With ``--only oracle`` the Oracle Fusion half alone runs: ``args`` must contain ``--oracle-port PORT``, start-up
    waits for ``GET /sandbox/clock`` on that port and the yielded base URL is the pod's. When both halves run and
    ``--oracle-port`` is given, start-up also waits for the pod; the yielded URL stays the shop's.
    """
    argv = list(args)
    only = _option(argv, "--only")
    oracle_port = _option(argv, "--oracle-port")
    probes: list[str] = []
    if only == "oracle":
        if oracle_port is None:
            raise ValueError("run_sandbox --only oracle needs --oracle-port PORT among its arguments")
        base_url = f"http://127.0.0.1:{int(oracle_port)}"
    else:
        port = _option(argv, "--prestashop-port")
        if port is None:
            raise ValueError("run_sandbox needs --prestashop-port PORT among its arguments")
        base_url = f"http://127.0.0.1:{int(port)}"
        probes.append(base_url + "/api/")
    if only != "prestashop" and oracle_port is not None:
        probes.append(f"http://127.0.0.1:{int(oracle_port)}/sandbox/clock")

    with tempfile.TemporaryDirectory(prefix="prestaoracle-sandbox-") as tmp:
        tmp_path = Path(tmp)
        if _option(argv, "--data-dir") is None:
            data_dir = tmp_path / "data"
            data_dir.mkdir()
            argv += ["--data-dir", str(data_dir)]
        stdout_path = tmp_path / "stdout.log"
        stderr_path = tmp_path / "stderr.log"
        cmd = [sys.executable, "-m", "prestaoracle", "sandbox", *argv]
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            # Its own process group, so stopping it reaches the servers it spawned even if it is interrupted before
            # it can forward the signal (the CLI installs its handler only once every server has answered).
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
        try:
            for probe in probes:
                _wait_until_up(proc, probe, startup_timeout, stdout_path, stderr_path)
            yield base_url
            if proc.poll() is not None:
                raise RuntimeError(
                    f"sandbox exited early with code {proc.returncode}: {' '.join(cmd)}\n"
                    f"--- stderr ---\n{_tail(stderr_path)}"
                )
        finally:
            _stop(proc)


def _wait_until_up(
    proc: subprocess.Popen[bytes], probe_url: str, timeout: float, stdout_path: Path, stderr_path: Path
) -> None:
    """Poll ``GET probe_url`` until anything answers; raise with the sandbox's output if it dies or times out."""
    deadline = time.monotonic() + timeout
    while True:
        code = proc.poll()
        if code is not None:
            raise RuntimeError(
                f"sandbox exited with code {code} during start-up: {' '.join(map(str, proc.args))}\n"
                f"--- stderr ---\n{_tail(stderr_path)}\n--- stdout ---\n{_tail(stdout_path)}"
            )
        try:
            requests.get(probe_url, timeout=2)
            return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            _stop(proc)
            raise RuntimeError(
                f"sandbox did not answer GET {probe_url} within {timeout:.0f} s\n"
                f"--- stderr ---\n{_tail(stderr_path)}\n--- stdout ---\n{_tail(stdout_path)}"
            )
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the sandbox we started: SIGINT to its process group first (clean shutdown, like Ctrl-C in a terminal),
    then SIGKILL to the group if it hangs, so no server outlives the test."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGINT)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
    # The CLI may be gone while a server it spawned still shuts down: give the group a moment, then kill what is left.
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _group_alive(proc) and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal_group(proc, signal.SIGKILL)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _group_alive(proc: subprocess.Popen[bytes]) -> bool:
    try:
        os.killpg(proc.pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
