"""Every DAG parses with no connection defined, follows the house rules, and keeps parsing cheap.

The rules are those of the Astronomer reference projects: tags from an approved set, an owner, at least two retries
with exponential backoff, ``max_active_runs``, a ``doc_md``; dag_ids are the ones DESIGN.md promises. Parsing happens
in a fresh interpreter so that "no heavy import at the top of a DAG file" is measured, not assumed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))
DESIGN_DAG_IDS = {"prestashop_to_staging", "oracle_to_staging", "prestashop_orders_to_oracle",
                  "oracle_status_to_prestashop", "inventory_to_prestashop", "prices_to_prestashop", "customer_360",
                  "financial_reconciliation", "dead_letter_replay"}
HEAVY = ("pandas", "numpy", "great_expectations", "requests", "oracledb", "psycopg", "psycopg2",
         "prestaoracle.prestashop", "prestaoracle.oracle", "prestaoracle.staging", "prestaoracle.mapping",
         "prestaoracle.quality", "prestaoracle.flows")

_PROBE = r"""
import json, sys
import airflow.sdk
before = set(sys.modules)
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
heavy = [m for m in sys.argv[2].split(",") if m in sys.modules and m not in before]
dags = {}
for dag_id, dag in bag.dags.items():
    args = dag.default_args or {}
    dags[dag_id] = {"tags": sorted(dag.tags), "owner": args.get("owner"), "retries": args.get("retries"),
                    "backoff": args.get("retry_exponential_backoff"), "max_active_runs": dag.max_active_runs,
                    "doc_md": bool(dag.doc_md), "fileloc": dag.fileloc,
                    "task_retries": {t.task_id: t.retries for t in dag.tasks},
                    "task_alerts": {t.task_id: type(t.on_failure_callback).__name__ if not isinstance(
                        t.on_failure_callback, list) else [type(c).__name__ for c in t.on_failure_callback]
                        for t in dag.tasks},
                    "dag_alert": type(dag.on_failure_callback).__name__ if not isinstance(
                        dag.on_failure_callback, list) else [type(c).__name__ for c in dag.on_failure_callback]}
print(json.dumps({"errors": bag.import_errors, "heavy": heavy, "dags": dags}))
"""


def _parse(path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    out = subprocess.run([sys.executable, "-c", _PROBE, str(path), ",".join(HEAVY)], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module", params=DAG_FILES, ids=lambda p: p.name)
def parsed(request: pytest.FixtureRequest) -> dict:
    return _parse(request.param)


def test_there_are_dags() -> None:
    assert {"prestashop_to_staging.py", "oracle_to_staging.py"} <= {p.name for p in DAG_FILES}


def test_parses_without_errors_or_secrets(parsed: dict) -> None:
    assert parsed["errors"] == {}
    assert len(parsed["dags"]) == 1, "one DAG per file"


def test_no_heavy_import_at_parse_time(parsed: dict) -> None:
    assert parsed["heavy"] == [], "import these inside the tasks, not at the top of the DAG file"


def test_house_rules(parsed: dict) -> None:
    from prestaoracle.scheduling import TAGS

    for dag_id, dag in parsed["dags"].items():
        assert dag_id in DESIGN_DAG_IDS, f"{dag_id} is not a dag_id DESIGN.md lists"
        assert Path(dag["fileloc"]).stem == dag_id, "the file is named after its DAG"
        assert dag["tags"] and set(dag["tags"]) <= TAGS, dag["tags"]
        assert dag["owner"], "default_args needs an owner"
        assert dag["retries"] >= 2 and dag["backoff"], "retries >= 2 with exponential backoff"
        assert all(r >= 2 for r in dag["task_retries"].values()), dag["task_retries"]
        assert dag["max_active_runs"] is not None and dag["max_active_runs"] >= 1
        assert dag["doc_md"], "doc_md says what the DAG does"
        # Every task mails the on-call when it fails for good (a watcher that only restates a failure may opt out)
        # and every failed run does too.
        quiet = {t for t, cb in dag["task_alerts"].items() if "ProductNotifier" not in str(cb)}
        assert quiet <= {"run_failed"}, f"{dag_id}: tasks without the on-call notifier: {sorted(quiet)}"
        assert "ProductNotifier" in str(dag["dag_alert"]), f"{dag_id}: no DAG-level on-call notifier"


def test_a_broken_dag_is_reported(tmp_path: Path) -> None:
    """The probe itself can fail: an import error in a DAG file shows up in ``errors``."""
    # (safe mode parses only files that mention both "airflow" and "dag")
    (tmp_path / "broken_dag.py").write_text("from airflow.sdk import dag\nimport does_not_exist_anywhere\n")
    assert "does_not_exist_anywhere" in json.dumps(_parse(tmp_path)["errors"])
