"""Airflow runs for the DAG tests: one migrated metadata database per test process (its private AIRFLOW_HOME)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def airflow_db() -> None:
    from prestaoracle import local_airflow

    local_airflow.migrate()
