"""Upserts, landing and watermarks of the staging database, on SQLite and PostgreSQL.

Each test works inside a transaction it rolls back (or on keys of its own), so one database per backend serves the
whole module.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.pg import temp_database

from prestaoracle.staging import Staging, connect, landing, schema, watermarks
from prestaoracle.staging.upsert import COPY_THRESHOLD, copy_upsert, upsert

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
pytestmark = pytest.mark.xdist_group("test_staging_upsert")  # one worker per module: its databases are made once
PRICES = schema.ora_prices
PRICE_KEY = ["price_list", "currency", "sku"]
DB_SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextlib.contextmanager
def _staging(backend: str, tmp_dir) -> Iterator[Staging]:
    if backend == "sqlite":
        staging = connect(tmp_dir / "staging.db", upgrade=True)
        yield staging
        staging.dispose()
        return
    with temp_database("prestaoracle_staging") as url:
        staging = connect(url, upgrade=True)
        yield staging
        staging.dispose()


@pytest.fixture(scope="module")
def pg(tmp_path_factory) -> Iterator[Staging]:
    with _staging("postgresql", tmp_path_factory.mktemp("pg")) as staging:
        yield staging


@pytest.fixture(scope="module")
def lite(tmp_path_factory) -> Iterator[Staging]:
    with _staging("sqlite", tmp_path_factory.mktemp("lite")) as staging:
        yield staging


@pytest.fixture(scope="module", params=BACKENDS)
def stg(request) -> Staging:
    """The module's SQLite or PostgreSQL staging database."""
    return request.getfixturevalue({"sqlite": "lite", "postgresql": "pg"}[request.param])


@contextlib.contextmanager
def rolled_back(staging: Staging) -> Iterator[sa.Connection]:
    """A connection whose work is thrown away at the end."""
    with staging.engine.connect() as conn:
        trans = conn.begin()
        try:
            yield conn
        finally:
            trans.rollback()


def _table_state(conn: sa.Connection, table: sa.Table, key: list[str]) -> dict[tuple, dict]:
    rows = conn.execute(sa.select(table)).mappings().all()
    return {tuple(r[k] for k in key): {c: v for c, v in r.items() if c not in key} for r in rows}


def price(sku: str, base: str, *, pl: str = "PL", cur: str = "EUR", run_id: str = "r1", **extra) -> dict:
    return {"price_list": pl, "currency": cur, "sku": sku, "base_price": Decimal(base), "run_id": run_id, **extra}


# ------------------------------------------------------------------------------------------ upsert


def test_upsert_inserts_then_updates_then_leaves_identical_rows_alone(stg: Staging) -> None:
    with rolled_back(stg) as conn:
        first = upsert(conn, PRICES, [price("a", "1.5"), price("b", "2")], PRICE_KEY)
        assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
        second = upsert(conn, PRICES, [price("a", "1.75", run_id="r2"), price("b", "2", run_id="r2"),
                                       price("c", "3", run_id="r2")], PRICE_KEY)
        assert (second.inserted, second.updated, second.unchanged) == (1, 1, 1)
        state = _table_state(conn, PRICES, PRICE_KEY)
        assert state[("PL", "EUR", "a")]["base_price"] == Decimal("1.75")
        assert state[("PL", "EUR", "a")]["run_id"] == "r2"
        assert state[("PL", "EUR", "b")]["run_id"] == "r1"  # identical data: not rewritten, keeps its run


def test_upsert_touches_only_the_columns_it_is_given(stg: Staging) -> None:
    when = datetime(2025, 1, 2, 3, 4, 5)
    with rolled_back(stg) as conn:
        upsert(conn, PRICES, [price("a", "1", uom="Ea", last_update=when)], PRICE_KEY)
        result = upsert(conn, PRICES, [{"price_list": "PL", "currency": "EUR", "sku": "a", "base_price": 9}],
                        PRICE_KEY)
        assert result.updated == 1
        row = _table_state(conn, PRICES, PRICE_KEY)[("PL", "EUR", "a")]
        assert (row["base_price"], row["uom"], row["last_update"]) == (Decimal(9), "Ea", when)


def test_upsert_refuses_rows_with_different_columns(stg: Staging) -> None:
    with rolled_back(stg) as conn, pytest.raises(ValueError, match="same columns"):
        upsert(conn, PRICES, [price("a", "1"), {"price_list": "PL", "currency": "EUR", "sku": "b"}], PRICE_KEY)
    with rolled_back(stg) as conn, pytest.raises(ValueError, match="no column"):
        upsert(conn, PRICES, [price("a", "1", colour="red")], PRICE_KEY)
    with rolled_back(stg) as conn:
        assert upsert(conn, PRICES, [], PRICE_KEY).total == 0


batches_of_prices = st.lists(
    st.lists(st.fixed_dictionaries({
        "price_list": st.sampled_from(["PL1", "PL2"]),
        "currency": st.sampled_from(["EUR", "USD"]),
        "sku": st.sampled_from([f"sku-{i}" for i in range(6)]),
        "base_price": st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False),
        "last_update": st.one_of(st.none(), st.datetimes(min_value=datetime(2020, 1, 1),
                                                         max_value=datetime(2030, 1, 1)).map(
            lambda d: d.replace(microsecond=0))),
        "run_id": st.sampled_from(["r1", "r2"]),
    }), max_size=25),
    min_size=1, max_size=4)


def _apply(conn: sa.Connection, batches: list[list[dict]], **kwargs) -> tuple[dict, list[tuple[int, int, int, int]]]:
    counts = [(r.inserted, r.updated, r.unchanged, r.duplicates)
              for r in (upsert(conn, PRICES, batch, PRICE_KEY, **kwargs) for batch in batches)]
    return _table_state(conn, PRICES, PRICE_KEY), counts


def _model(batches: list[list[dict]]) -> dict[tuple, dict]:
    """What upsert promises: per batch the last row of a key wins; it replaces the stored row unless the data
    columns are equal (then the stored row, and its run_id, stay)."""
    state: dict[tuple, dict] = {}
    for batch in batches:
        last = {tuple(row[k] for k in PRICE_KEY): row for row in batch}
        for key, row in last.items():
            old = state.get(key)
            new = {c: v for c, v in row.items() if c not in PRICE_KEY}
            if old is None or any(old[c] != new[c] for c in ("base_price", "last_update")):
                state[key] = new
    return state


@DB_SETTINGS
@given(batches=batches_of_prices)
def test_upsert_ends_with_the_last_value_per_key(stg: Staging, batches: list[list[dict]]) -> None:
    with rolled_back(stg) as conn:
        state, counts = _apply(conn, batches)
    expected = _model(batches)
    assert {k: {c: v[c] for c in ("base_price", "last_update", "run_id")} for k, v in state.items()} == expected
    assert sum(c[0] for c in counts) == len(expected)
    for batch, (_ins, _upd, _same, dups) in zip(batches, counts, strict=True):
        assert dups == len(batch) - len({tuple(r[k] for k in PRICE_KEY) for r in batch})


@pytest.mark.postgres
@DB_SETTINGS
@given(batches=batches_of_prices)
def test_sqlite_and_postgresql_agree(lite: Staging, pg: Staging, batches: list[list[dict]]) -> None:
    with rolled_back(lite) as a, rolled_back(pg) as b:
        assert _apply(a, batches) == _apply(b, batches)


@pytest.mark.postgres
@DB_SETTINGS
@given(batches=batches_of_prices)
def test_copy_path_equals_executemany_path(pg: Staging, batches: list[list[dict]]) -> None:
    with rolled_back(pg) as conn:
        by_executemany = _apply(conn, batches, method="executemany")
    with rolled_back(pg) as conn:
        by_copy = _apply(conn, batches, method="copy")
    assert by_copy == by_executemany


@pytest.mark.postgres
def test_large_batches_take_the_copy_path_automatically(pg: Staging) -> None:
    rows = [price(f"s{i}", f"{i}.25", tricky="tab\tnew\nline \\ back" if i % 2 else None)
            for i in range(COPY_THRESHOLD + 10)]
    rows = [{k: v for k, v in r.items() if k != "tricky"} | {"uom": r["tricky"]} for r in rows]
    with rolled_back(pg) as conn:
        result = upsert(conn, PRICES, rows, PRICE_KEY)
        assert (result.method, result.inserted) == ("copy", len(rows))
        again = upsert(conn, PRICES, [dict(r, base_price=r["base_price"] + 1) for r in rows[:COPY_THRESHOLD]],
                       PRICE_KEY)
        assert (again.method, again.updated) == ("copy", COPY_THRESHOLD)
        state = _table_state(conn, PRICES, PRICE_KEY)
        assert state[("PL", "EUR", "s1")]["uom"] == "tab\tnew\nline \\ back"
        assert state[("PL", "EUR", "s1")]["base_price"] == Decimal("2.25")
        assert state[("PL", "EUR", f"s{len(rows) - 1}")]["base_price"] == Decimal(f"{len(rows) - 1}.25")
        assert not conn.execute(sa.text("SELECT count(*) FROM pg_class WHERE relname LIKE '\\_upsert\\_%' "
                                        "AND relpersistence = 't'")).scalar()


def test_copy_upsert_is_postgresql_only(lite: Staging) -> None:
    with rolled_back(lite) as conn, pytest.raises(ValueError, match="PostgreSQL"):
        copy_upsert(conn, PRICES, [price("a", "1")], PRICE_KEY)


# ------------------------------------------------------------------------------------------ landing


def _orders(n: int, day: int = 1) -> list[dict]:
    return [{"id": i, "reference": f"REF{i}", "date_upd": f"2024-01-{day:02d} 10:00:{i % 60:02d}",
             "total_paid": "12.500000", "associations": {"order_rows": [{"id": i * 10, "product_id": 1}]}}
            for i in range(1, n + 1)]


def _landing(conn: sa.Connection, source: str) -> dict[str, dict]:
    t = schema.landing_records
    rows = conn.execute(sa.select(t).where(t.c.source == source)).mappings().all()
    return {r["record_id"]: dict(r) for r in rows}


def test_landing_detects_new_changed_unchanged_and_stale(stg: Staging) -> None:
    source = f"ps-{uuid.uuid4().hex[:8]}"
    with rolled_back(stg) as conn:
        first = landing.land(conn, source, "orders", _orders(5), run_id="r1")
        assert first == landing.LandResult(new=5)
        stored = _landing(conn, source)

        again = landing.land(conn, source, "orders", _orders(5), run_id="r2")
        assert again == landing.LandResult(unchanged=5)
        assert _landing(conn, source) == stored  # unchanged payloads are not rewritten: same run, same time

        records = _orders(6)
        records[0]["total_paid"] = "13.000000"
        records[0]["date_upd"] = "2024-01-05 00:00:00"
        records[1]["total_paid"] = "1.000000"
        records[1]["date_upd"] = "2023-12-31 00:00:00"  # an older version re-read by an overlap window
        third = landing.land(conn, source, "orders", records + [records[0]], run_id="r3")
        assert third == landing.LandResult(new=1, changed=1, unchanged=3, stale=1, duplicates=1)
        now = _landing(conn, source)
        assert now["1"]["run_id"] == "r3" and now["1"]["date_upd"] == "2024-01-05 00:00:00"
        assert now["2"] == stored["2"]
        assert sorted(r["id"] for r in landing.landed(conn, source, "orders", run_id="r3")) == [1, 6]


def test_landing_keeps_a_payload_hash_and_canonical_json(stg: Staging) -> None:
    source = f"ps-{uuid.uuid4().hex[:8]}"
    with rolled_back(stg) as conn:
        landing.land(conn, source, "orders", [{"b": 1, "a": [1, 2], "id": 7}], run_id="r1", date_key=None)
        row = _landing(conn, source)["7"]
        assert row["payload"] == '{"a":[1,2],"b":1,"id":7}'
        assert len(row["payload_sha1"]) == 40 and row["date_upd"] is None
        # key order is not a change
        assert landing.land(conn, source, "orders", [{"id": 7, "a": [1, 2], "b": 1}], run_id="r2",
                            date_key=None).unchanged == 1


def test_landing_history_keeps_each_distinct_version_once(stg: Staging) -> None:
    source = f"ps-{uuid.uuid4().hex[:8]}"
    h = schema.landing_history
    with rolled_back(stg) as conn:
        v1 = _orders(2)
        v2 = [dict(v1[0], total_paid="99.000000", date_upd="2024-02-01 00:00:00"), v1[1]]
        for run, records in enumerate([v1, v1, v2, v2], start=1):
            landing.land(conn, source, "orders", records, run_id=f"r{run}", history=True)
        versions = conn.execute(sa.select(h.c.record_id, h.c.run_id).where(h.c.source == source)
                                .order_by(h.c.record_id, h.c.run_id)).all()
        assert [tuple(v) for v in versions] == [("1", "r1"), ("1", "r3"), ("2", "r1")]


def test_landing_needs_the_id(stg: Staging) -> None:
    with rolled_back(stg) as conn, pytest.raises(ValueError, match="has no 'id_order'"):
        landing.land(conn, "ps", "orders", [{"id": 1}], id_key="id_order", run_id="r1")


@pytest.mark.postgres
def test_landing_a_large_batch_uses_copy(pg: Staging) -> None:
    source = f"ps-{uuid.uuid4().hex[:8]}"
    with rolled_back(pg) as conn:
        assert landing.land(conn, source, "orders", _orders(COPY_THRESHOLD + 5), run_id="r1").new == COPY_THRESHOLD + 5
        records = _orders(COPY_THRESHOLD + 5, day=2)
        assert landing.land(conn, source, "orders", records, run_id="r2").changed == COPY_THRESHOLD + 5
        assert _landing(conn, source)["3"]["date_upd"] == "2024-01-02 10:00:03"


# ------------------------------------------------------------------------------------------ watermarks


def test_watermark_moves_only_forward(stg: Staging) -> None:
    entity = f"orders-{uuid.uuid4().hex[:8]}"
    with rolled_back(stg) as conn:
        assert watermarks.get(conn, "ps", entity) is None
        assert watermarks.advance(conn, "ps", entity, "2024-01-02 10:00:00", "r1")
        assert not watermarks.advance(conn, "ps", entity, "2024-01-01 23:59:59", "r2")
        assert not watermarks.advance(conn, "ps", entity, "2024-01-02T10:00:00", "r2")  # same instant
        assert watermarks.get(conn, "ps", entity) == "2024-01-02 10:00:00"
        assert watermarks.advance(conn, "ps", entity, datetime(2024, 1, 2, 10, 0, 1), "r3")
        assert watermarks.get(conn, "ps", entity) == "2024-01-02 10:00:01"
        with pytest.raises(ValueError, match="same kind"):
            watermarks.advance(conn, "ps", entity, 5, "r4")


def test_numeric_watermarks_compare_as_numbers(stg: Staging) -> None:
    entity = f"ids-{uuid.uuid4().hex[:8]}"
    with rolled_back(stg) as conn:
        watermarks.advance(conn, "ps", entity, 9, "r1")
        assert watermarks.advance(conn, "ps", entity, "10", "r2")
        assert not watermarks.advance(conn, "ps", entity, 9, "r3")
        assert watermarks.get(conn, "ps", entity) == "10"


def test_watermark_moves_only_when_the_batch_commits(stg: Staging) -> None:
    entity = f"orders-{uuid.uuid4().hex[:8]}"
    start = datetime(2024, 1, 1)
    with stg.transaction() as tx:
        tx.advance_watermark("ps", entity, start, run_id="r0")
    rows = [price(f"{entity}-{i}", "1") for i in range(3)]

    # A failure after the rows and the watermark were written, before the commit: nothing of it stays.
    with pytest.raises(RuntimeError, match="mapping blew up"), stg.transaction() as tx:
        tx.upsert(PRICES, rows, PRICE_KEY)
        assert tx.advance_watermark("ps", entity, start + timedelta(days=1), run_id="r1")
        raise RuntimeError("mapping blew up")
    assert stg.watermark("ps", entity) == "2024-01-01 00:00:00"
    with stg.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(PRICES).where(
            PRICES.c.sku.like(f"{entity}-%"))).scalar() == 0

    # While the batch is open, other connections still see the old watermark; after the commit, the new one.
    with stg.transaction() as tx:
        tx.upsert(PRICES, rows, PRICE_KEY)
        tx.advance_watermark("ps", entity, start + timedelta(days=1), run_id="r2")
        assert tx.watermark("ps", entity) == "2024-01-02 00:00:00"
        assert stg.watermark("ps", entity) == "2024-01-01 00:00:00"
    assert stg.watermark("ps", entity) == "2024-01-02 00:00:00"
    with stg.transaction() as tx:
        tx.execute(PRICES.delete().where(PRICES.c.sku.like(f"{entity}-%")))


def test_watermark_reset_can_move_back_on_purpose(stg: Staging) -> None:
    entity = f"orders-{uuid.uuid4().hex[:8]}"
    with rolled_back(stg) as conn:
        watermarks.advance(conn, "ps", entity, "2024-06-01 00:00:00", "r1")
        watermarks.reset(conn, "ps", entity, "2024-01-01 00:00:00", "operator")
        assert watermarks.get(conn, "ps", entity) == "2024-01-01 00:00:00"
        watermarks.reset(conn, "ps", entity, None, "operator")
        assert watermarks.get(conn, "ps", entity) is None


@pytest.mark.postgres
@pytest.mark.parametrize("method", ["executemany", "copy"])
def test_psycopg2_urls_work_on_both_paths(pg: Staging, method: str) -> None:
    """``postgresql://`` URLs (Airflow's default driver) use psycopg2: COPY then goes through text buffers."""
    url = pg.engine.url.set(drivername="postgresql+psycopg2")
    staging = connect(url)
    customers = schema.ps_customers
    rows = [{"id_customer": i, "email": f"c{i}@example.com", "firstname": "Tab\there" if i % 2 else None,
             "lastname": "back\\slash\nnew line", "birthday": date(1990, 1, i % 28 + 1), "newsletter": i % 3 == 0,
             "date_add": datetime(2024, 1, 1, 12, 0, i % 60)} for i in range(1, 41)]
    try:
        with rolled_back(staging) as conn:
            first = upsert(conn, customers, rows, ["id_customer"], method=method)
            second = upsert(conn, customers, [dict(r, newsletter=not r["newsletter"]) for r in rows[:10]] + rows[10:],
                            ["id_customer"], method=method)
            state = _table_state(conn, customers, ["id_customer"])
    finally:
        staging.dispose()
    assert (first.inserted, second.updated, second.unchanged) == (40, 10, 30)
    assert state[(1,)]["firstname"] == "Tab\there" and state[(2,)]["firstname"] is None
    assert state[(1,)]["lastname"] == "back\\slash\nnew line"
    assert (state[(1,)]["newsletter"], state[(3,)]["newsletter"], state[(12,)]["newsletter"]) == (True, False, True)
    assert state[(5,)]["birthday"] == date(1990, 1, 6) and state[(5,)]["date_add"] == datetime(2024, 1, 1, 12, 0, 5)
