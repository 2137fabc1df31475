"""Benchmark: bulk upserts into the staging database, executemany vs PostgreSQL COPY, and SQLite.

Loads N generated ``ps_order_lines`` rows (22 columns with Decimal money: the width of a real order line)
three times through ``prestaoracle.staging.upsert``: into an empty table (all inserts), again with every price
changed (all updates), and again unchanged (the no-op re-load an overlap window causes). On PostgreSQL each pass runs
once with executemany and once with COPY; a size sweep finds where COPY starts paying off; a plain ``INSERT``
executemany and pandas ``to_sql`` give baselines. Prints one JSON object with the figures and the machine.

    .venv/bin/python bench/staging_upsert.py --rows 200000 > bench/results/staging_upsert-200k.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import psycopg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from prestaoracle.staging import connect, schema  # noqa: E402
from prestaoracle.staging.upsert import COPY_THRESHOLD, upsert  # noqa: E402

TABLE = schema.ps_order_lines
KEY = ["id_order_detail"]
ADMIN_URL = os.environ.get("PRESTAORACLE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def generate(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(1, n + 1):
        price = Decimal(rng.randint(100, 99_999)) / 100
        qty = rng.randint(1, 5)
        rows.append({
            "id_order_detail": i, "id_order": (i + 2) // 3, "id_shop": 1, "product_id": rng.randint(1, 5000),
            "product_attribute_id": rng.randint(0, 20), "sku": f"SKU-{rng.randint(1, 50_000):06d}",
            "name": f"Product {i} - Color : White, Size : S", "ean13": f"{rng.randint(0, 10**13 - 1):013d}",
            "quantity": qty, "quantity_refunded": 0, "quantity_return": 0,
            "product_price": price, "original_product_price": price,
            "reduction_amount_tax_excl": Decimal("0.000000"), "reduction_amount_tax_incl": Decimal("0.000000"),
            "unit_price_tax_excl": price, "unit_price_tax_incl": (price * Decimal("1.2")).quantize(Decimal("0.000001")),
            "total_price_tax_excl": price * qty, "total_price_tax_incl": (price * qty * Decimal("1.2")).quantize(
                Decimal("0.000001")),
            "tax_rate": Decimal("20.000"), "id_warehouse": 0, "run_id": "bench-1",
        })
    return rows


def changed(rows: list[dict]) -> list[dict]:
    return [dict(r, unit_price_tax_excl=r["unit_price_tax_excl"] + 1, run_id="bench-2") for r in rows]


def _clear(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(TABLE.delete())
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"VACUUM ANALYZE {TABLE.name}")


def _timed(engine: sa.Engine, rows: list[dict], method: str) -> dict:
    t0 = time.perf_counter()
    with engine.begin() as conn:
        result = upsert(conn, TABLE, rows, KEY, method=method)
    seconds = time.perf_counter() - t0
    return {"seconds": round(seconds, 3), "rows_per_s": round(len(rows) / seconds),
            "inserted": result.inserted, "updated": result.updated, "unchanged": result.unchanged}


def three_passes(engine: sa.Engine, rows: list[dict], method: str) -> dict:
    _clear(engine)
    out = {"insert": _timed(engine, rows, method)}
    out["update"] = _timed(engine, changed(rows), method)
    out["unchanged"] = _timed(engine, changed(rows), method)
    return out


def baselines(engine: sa.Engine, rows: list[dict]) -> dict:
    _clear(engine)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(TABLE.insert(), rows)
    plain = time.perf_counter() - t0
    _clear(engine)
    frame = pd.DataFrame(rows)  # dataframes hold money as float64, as pandas code would pass it
    frame = frame.astype({c: "float64" for c, v in rows[0].items() if isinstance(v, Decimal)})
    t0 = time.perf_counter()
    with engine.begin() as conn:
        frame.to_sql(TABLE.name, conn, if_exists="append", index=False, chunksize=50_000)
    to_sql = time.perf_counter() - t0
    return {"plain_insert_executemany_s": round(plain, 3), "pandas_to_sql_s": round(to_sql, 3)}


def sweep(engine: sa.Engine, rows: list[dict], sizes: list[int]) -> list[dict]:
    out = []
    for size in sizes:
        part = rows[:size]
        entry = {"rows": size}
        for method in ("executemany", "copy"):
            _clear(engine)
            entry[f"{method}_insert_s"] = _timed(engine, part, method)["seconds"]
            entry[f"{method}_update_s"] = _timed(engine, changed(part), method)["seconds"]
        out.append(entry)
    return out


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    name = f"prestaoracle_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def machine(pg_version: str | None) -> dict:
    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb = None
    with contextlib.suppress(OSError, ValueError):
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu": cpu,
            "cpus": os.cpu_count(), "memory_gb": mem_gb, "sqlite": sqlite3.sqlite_version,
            "postgresql": pg_version, "sqlalchemy": sa.__version__, "psycopg": psycopg.__version__,
            "pandas": pd.__version__, "load_average_1m_at_end": round(os.getloadavg()[0], 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--sweep", default="10,100,1000,5000,20000", help="row counts for the PostgreSQL sweep")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    rows = generate(args.rows)
    result: dict = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "rows": args.rows,
                    "table": TABLE.name, "columns": len(rows[0]), "copy_threshold": COPY_THRESHOLD,
                    "load_average_1m_at_start": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        st = connect(Path(tmp) / "bench.db", upgrade=True)
        result["sqlite"] = {"executemany": three_passes(st.engine, rows, "executemany"), **baselines(st.engine, rows)}
        st.dispose()
    pg_version = None
    if not args.no_postgres:
        with pg_database() as url:
            st = connect(url, upgrade=True)
            with st.engine.connect() as conn:
                pg_version = conn.exec_driver_sql("SHOW server_version").scalar()
            result["postgresql"] = {
                "executemany": three_passes(st.engine, rows, "executemany"),
                "copy": three_passes(st.engine, rows, "copy"),
                **baselines(st.engine, rows),
                "sweep": sweep(st.engine, rows, [int(s) for s in args.sweep.split(",") if s]),
            }
            st.dispose()
    result["machine"] = machine(pg_version)
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
