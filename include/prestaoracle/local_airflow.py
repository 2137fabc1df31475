"""An embedded Airflow for ``make demo``, the CLI and the tests: a private home, SQLite metadata, the project's DAGs.

Airflow reads its configuration when it is first imported, so :func:`use_home` must run before anything imports
``airflow``. Connections still come from the environment (``AIRFLOW_CONN_*``), as in a deployment; nothing secret
is written into the home. :func:`run_dag` runs one DAG the way ``airflow dags test`` does (``dag.test()``: every
task in this process, no scheduler) and returns the finished run.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["DAGS_FOLDER", "create_pools", "migrate", "run_dag", "use_home"]

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


def use_home(home: Path, dags_folder: Path = DAGS_FOLDER) -> None:
    """Point Airflow at ``home`` (created if missing) with SQLite metadata, no examples and a small parallelism."""
    if "airflow" in sys.modules and os.environ.get("AIRFLOW_HOME") != str(home):
        raise RuntimeError("use_home() must run before airflow is imported (Airflow reads its config at import)")
    home.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags_folder)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__PARALLELISM"] = "4"
    os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}")


def migrate() -> None:
    """Create or upgrade the metadata database (``airflow db migrate``) and the product's pools."""
    from airflow.utils import db

    db.upgradedb()
    create_pools()


def create_pools() -> None:
    """The pools the DAGs name (``prestaoracle.scheduling.POOLS``), created or resized to their default slots."""
    from airflow.models.pool import Pool

    from prestaoracle.scheduling import POOLS

    for name, (slots, description) in POOLS.items():
        Pool.create_or_update_pool(name=name, slots=slots, description=description, include_deferred=False)


def run_dag(dag_id: str, *, logical_date: datetime | None = None, conf: dict[str, Any] | None = None,
            mark_success_pattern: str | None = None) -> Any:
    """Run ``dag_id`` once in this process (``dag.test()``) and return the finished DagRun; it does not raise when
    the run fails, so check ``run.state``."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ.get("AIRFLOW__CORE__DAGS_FOLDER", str(DAGS_FOLDER)))
    if bag.import_errors:
        raise RuntimeError(f"DAG files failed to import: {bag.import_errors}")
    dag = bag.get_dag(dag_id)
    if dag is None:
        raise LookupError(f"no DAG {dag_id!r} in {bag.dag_folder}; known: {', '.join(sorted(bag.dag_ids))}")
    kwargs: dict[str, Any] = {"run_conf": conf, "mark_success_pattern": mark_success_pattern}
    if logical_date is not None:
        kwargs["logical_date"] = logical_date
    return dag.test(**kwargs)
