"""A real Airflow deployment for a test: ``airflow scheduler``, ``airflow api-server`` and ``airflow dag-processor``
as subprocesses sharing a private home (SQLite metadata, LocalExecutor, no examples), driven over the REST API.

``dag.test()`` runs tasks in the test process and skips what only a deployment does: DAG parsing by the
dag-processor (which also runs DAG-level callbacks), scheduling, task processes that reach the API server, runs
triggered through the REST API with no logical date. Use this when that is what the test is about; it costs
about 15-25 s of start-up on two cores, so keep one deployment per test module where you can.

Usage (any DAG folder; ``extra_env`` reaches every component, hence the tasks and DAG callbacks)::

    from tests.support.live_airflow import live_airflow

    @pytest.mark.timeout(420)
    def test_orders_dag_live(tmp_path):
        with live_airflow(Path("dags"), extra_env={"AIRFLOW_CONN_SMTP_DEFAULT": sink.connection_json(),
                                                   "AIRFLOW_CONN_PRESTASHOP_DEFAULT": ...}) as af:
            af.wait_for_dag("prestashop_orders_to_oracle")
            af.unpause("prestashop_orders_to_oracle")
            run_id = af.trigger("prestashop_orders_to_oracle", conf={"oracle_target": "ebs"})
            run = af.wait_for_run("prestashop_orders_to_oracle", run_id, timeout=300)
            assert run["state"] == "success", af.logs()
            tis = af.task_instances("prestashop_orders_to_oracle", run_id)

What the harness does:

* environment: the test process's environment is passed through (``AIRFLOW_CONN_*``, ``AIRFLOW_VAR_*``,
  ``PRESTAORACLE_*``, ``PATH``…) except its ``AIRFLOW__*`` settings and ``AIRFLOW_HOME``, which belong to the test
  process's own embedded Airflow; then the deployment's settings; then ``extra_env`` (wins over both).
* home: a fresh temporary ``AIRFLOW_HOME`` (or ``home=``), migrated first through
  ``prestaoracle.local_airflow.migrate()`` (``airflow db migrate`` plus the product's pools), with the simple
  auth manager and a pre-seeded ``admin`` password so the test can get a token from ``POST /auth/token``.
* stop: each component runs in its own process group (its LocalExecutor workers and task processes too); at the
  end SIGTERM to each group, then SIGKILL to whatever is left, so nothing outlives the test. On an error inside the
  block, the last lines of every component's log and of the task logs are printed (pytest shows them).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from tests.conftest import free_port

__all__ = ["COMPONENTS", "LiveAirflow", "airflow_env", "live_airflow"]

COMPONENTS = ("api-server", "scheduler", "dag-processor")
FINAL_RUN_STATES = frozenset({"success", "failed"})
STOP_TIMEOUT_S = 20.0
ADMIN = "admin"


def airflow_env(home: Path, dags_folder: Path, port: int, *, password_file: Path,
                extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every component runs with (see the module docstring for the precedence)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW__", "_AIRFLOW")) and k != "AIRFLOW_HOME"}
    base_url = f"http://127.0.0.1:{port}"
    env.update({
        # As prestaoracle.local_airflow.use_home sets up the embedded Airflow of make demo.
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        # A deployment of its own.
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__API__BASE_URL": base_url,  # task processes reach the Execution API at <base_url>/execution/
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),  # one secret for every component
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(password_file),
        # Quick turns: the test waits on the scheduler and the dag-processor, not the other way round.
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
    })
    env.update(extra_env or {})
    return env


def _tail(path: Path, limit: int = 6000) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text[-limit:]


@dataclass
class LiveAirflow:
    """A running deployment: its home, REST base URL, environment and the helpers a test drives it with."""

    home: Path
    dags_folder: Path
    base_url: str
    env: dict[str, str]
    password: str
    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _token: str | None = None

    # ------------------------------------------------------------------------------------------ REST

    def token(self) -> str:
        """A JWT for the admin user (``POST /auth/token``; it lives 24 h, so it is fetched once)."""
        if self._token is None:
            resp = requests.post(f"{self.base_url}/auth/token", json={"username": ADMIN, "password": self.password},
                                 timeout=30)
            if resp.status_code not in (200, 201):
                raise RuntimeError(f"POST /auth/token answered {resp.status_code}: {resp.text[:500]}")
            self._token = resp.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """``method`` ``/api/v2/<path>`` with the admin token."""
        headers = {"Authorization": f"Bearer {self.token()}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.base_url}/api/v2/{path.lstrip('/')}", headers=headers,
                                timeout=kwargs.pop("timeout", 30), **kwargs)

    def _ok(self, resp: requests.Response, what: str) -> Any:
        if not resp.ok:
            raise RuntimeError(f"{what}: HTTP {resp.status_code} {resp.text[:1000]}\n{self.logs()}")
        return resp.json() if resp.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 120.0) -> dict:
        """Until the dag-processor has parsed ``dag_id`` (the API knows it); raise with import errors otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            resp = self.api("GET", f"dags/{quote(dag_id, safe='')}")
            if resp.status_code == 200:
                return resp.json()
            if time.monotonic() > deadline:
                errors = self.api("GET", "importErrors").json()
                raise TimeoutError(f"DAG {dag_id!r} not parsed within {timeout:.0f} s; import errors: {errors}\n"
                                   f"{self.logs()}")
            time.sleep(0.5)

    def unpause(self, dag_id: str) -> None:
        """New DAGs are paused (``[core] dags_are_paused_at_creation``): nothing of a paused DAG runs."""
        self._ok(self.api("PATCH", f"dags/{quote(dag_id, safe='')}", json={"is_paused": False}), f"unpause {dag_id}")

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None, *, run_id: str | None = None,
                **fields: Any) -> str:
        """Start a run as an external service would and return its run id. ``logical_date`` is sent as null
        (the field is required); pass ``logical_date=...`` or other body fields through ``fields``."""
        body: dict[str, Any] = {"logical_date": None, "conf": dict(conf or {}), **fields}
        if run_id:
            body["dag_run_id"] = run_id
        run = self._ok(self.api("POST", f"dags/{quote(dag_id, safe='')}/dagRuns", json=body), f"trigger {dag_id}")
        return str(run["dag_run_id"])

    def get_run(self, dag_id: str, run_id: str) -> dict:
        return self._ok(self.api("GET", f"dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"),
                        f"run {run_id}")

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 180.0) -> dict:
        """The run once it is ``success`` or ``failed``; raise with every component's log if it takes longer."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            run = self.get_run(dag_id, run_id)
            if run["state"] in FINAL_RUN_STATES:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} of {dag_id} still {run['state']} after {timeout:.0f} s; task "
                                   f"instances: {self.task_instances(dag_id, run_id)}\n{self.logs()}")
            time.sleep(0.5)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self._ok(self.api("GET", f"dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"
                                        "/taskInstances"), f"task instances of {run_id}")["task_instances"]

    # ------------------------------------------------------------------------------------------ processes

    def check_alive(self) -> None:
        """Raise with the logs when a component has exited: a dead scheduler would only show as a timeout."""
        dead = {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}
        if dead:
            raise RuntimeError(f"Airflow component(s) exited: {dead}\n{self.logs()}")

    def logs(self, limit: int = 6000) -> str:
        """The last ``limit`` characters of each component's output and of each task log, for error messages."""
        parts = [f"--- {p.name} ---\n{_tail(p, limit)}" for p in sorted(self.log_dir.glob("*.log"))]
        logs = self.home / "logs"
        # Task logs, and the dag-processor's per-file logs (where DAG-level callbacks log their failures).
        for pattern in ("dag_id=*/**/*.log", "dag_processor/**/*.log"):
            found = sorted(logs.glob(pattern), key=lambda p: p.stat().st_mtime)[-4:]
            parts += [f"--- {p.relative_to(logs)} ---\n{_tail(p, limit)}" for p in found]
        return "\n".join(parts)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to every component's group at once (their own clean shutdown, in parallel), then SIGKILL to what is
    left of any group after ``STOP_TIMEOUT_S``."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while any(_group_alive(p.pid) for p in procs) and time.monotonic() < deadline:
        for proc in procs:
            proc.poll()  # reap the leader, or its group stays alive as a zombie
        time.sleep(0.1)
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _wait_until_up(af: LiveAirflow, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        af.check_alive()
        try:
            if requests.get(f"{af.base_url}/api/v2/monitor/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"api-server did not answer on {af.base_url} within {timeout:.0f} s\n{af.logs()}")
        time.sleep(0.3)


@contextlib.contextmanager
def live_airflow(dags_folder: Path, *, extra_env: Mapping[str, str] | None = None, home: Path | None = None,
                 startup_timeout: float = 120.0) -> Iterator[LiveAirflow]:
    """Migrate a private Airflow home, start api-server, scheduler and dag-processor on ``dags_folder`` and yield
    the running deployment; stop every process it started when the block ends."""
    with contextlib.ExitStack() as stack:
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="prestaoracle-live-airflow-")))
        home.mkdir(parents=True, exist_ok=True)
        log_dir = home / "components"
        log_dir.mkdir(exist_ok=True)
        port = free_port()
        password = secrets.token_urlsafe(16)
        password_file = home / "simple_auth_manager_passwords.json.generated"
        password_file.write_text(json.dumps({ADMIN: password}), encoding="utf-8")
        env = airflow_env(home, Path(dags_folder).resolve(), port, password_file=password_file, extra_env=extra_env)
        af = LiveAirflow(home=home, dags_folder=Path(dags_folder).resolve(), base_url=f"http://127.0.0.1:{port}",
                         env=env, password=password, log_dir=log_dir)

        migrate = subprocess.run(
            [sys.executable, "-c", "from prestaoracle import local_airflow; local_airflow.migrate()"],
            env=env, cwd=home, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
        if migrate.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed ({migrate.returncode}):\n{migrate.stderr[-6000:]}")

        commands = {
            "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            "scheduler": ["scheduler"],
            "dag-processor": ["dag-processor"],
        }
        try:
            for name in COMPONENTS:
                with (log_dir / f"{name}.log").open("wb") as out:
                    # Own process group: stopping it reaches the executor's workers and the task processes too.
                    af.processes[name] = subprocess.Popen(
                        [sys.executable, "-m", "airflow", *commands[name]], env=env, cwd=home,
                        stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            _wait_until_up(af, startup_timeout)
            yield af
        except BaseException:
            print(f"live Airflow in {home}: last output\n{af.logs()}", file=sys.stderr)
            raise
        finally:
            _stop(list(af.processes.values()))
