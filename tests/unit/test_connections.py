"""Connections resolve the Airflow way outside a task, and clients are built from their fields."""

from __future__ import annotations

import json

import pytest

from prestaoracle import connections


def test_env_json_connection_is_read_outside_a_task(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PRESTASHOP_DEFAULT", json.dumps(
        {"conn_type": "prestashop", "host": "http://127.0.0.1:9101", "password": "K" * 32,
         "extra": {"page_size": 50, "shop_id": 1}}))
    conn = connections.get("prestashop_default")
    assert (conn.conn_type, conn.host, conn.password) == ("prestashop", "http://127.0.0.1:9101", "K" * 32)
    assert conn.extra == {"page_size": 50, "shop_id": 1}
    assert "K" * 32 not in repr(conn)  # secrets stay out of reprs and logs


def test_missing_connection_says_how_to_define_it() -> None:
    with pytest.raises(connections.ConnectionNotConfigured) as err:
        connections.get("nowhere_default")
    assert "AIRFLOW_CONN_NOWHERE_DEFAULT" in str(err.value)
    assert "Admin → Connections" in str(err.value)


@pytest.mark.parametrize(
    ("conn", "url"),
    [
        (connections.Conn("s", "sqlite", host="/tmp/stage.db"), "sqlite:////tmp/stage.db"),
        (connections.Conn("s", "postgres", host="db", port=5433, login="u", password="p@ss", schema="stage"),
         "postgresql+psycopg://u:p%40ss@db:5433/stage"),
        (connections.Conn("s", "http", extra={"sqlalchemy_url": "sqlite://"}), "sqlite://"),
    ],
)
def test_staging_url(conn: connections.Conn, url: str) -> None:
    assert connections.staging_url(conn=conn) == url


def test_staging_url_rejects_other_types() -> None:
    with pytest.raises(connections.ConnectionNotConfigured, match="sqlite or postgres"):
        connections.staging_url(conn=connections.Conn("s", "mysql", host="x"))


def test_ebs_engine_builds_an_oracledb_url_with_the_service_name() -> None:
    engine = connections.ebs_engine(conn=connections.Conn("e", "oracle", host="ebs.example", port=1522, login="apps",
                                                          password="pw", schema="VIS"))
    assert engine.url.drivername == "oracle+oracledb"
    assert (engine.url.host, engine.url.port, engine.url.query["service_name"]) == ("ebs.example", 1522, "VIS")


def test_ebs_engine_takes_a_test_url_from_extra() -> None:
    engine = connections.ebs_engine(conn=connections.Conn("e", "oracle", extra={"sqlalchemy_url": "sqlite://"}))
    assert engine.url.drivername == "sqlite"
