"""FaultMiddleware under a real uvicorn (one in-process server, then two worker processes) seen through ``requests``."""

from __future__ import annotations

import email.utils
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from prestaoracle.sandbox.faults import (
    MAX_FAULTY_ATTEMPTS,
    TRANSPORT_KINDS,
    WRITE_ONLY_KINDS,
    FaultMiddleware,
    FaultProfile,
    InjectedLog,
    create_tables,
    decide,
    injected_router,
    parse_faults,
    request_key,
)

FAST_FLAKY = "flaky:latency_ms=10-20,slow_page_seconds=0.1-0.15"
STATUS_KIND = {500: "http_500", 503: "http_503", 429: "http_429"}
REPO = Path(__file__).resolve().parents[2]


def make_app(
    profile: FaultProfile | None = None, seed: int | None = None, db: str | None = None, **kw: object
) -> FastAPI:
    """The tiny emulator; with no arguments it reads FAULTS_TEST_* so uvicorn worker processes can build it."""
    profile = profile or parse_faults(os.environ.get("FAULTS_TEST_SPEC", "none"))
    seed = seed if seed is not None else int(os.environ.get("FAULTS_TEST_SEED", "0"))
    engine = sa.create_engine(f"sqlite:///{db or os.environ['FAULTS_TEST_DB']}")
    log = InjectedLog(engine)
    app = FastAPI()
    created: list[object] = []

    @app.get("/api/items/{item_id}")
    def item(item_id: int) -> dict[str, object]:
        return {"id": item_id, "pid": os.getpid(), "text": "x" * 300}

    @app.post("/api/items")
    async def create(request: Request) -> dict[str, object]:
        # Reads the body: the middleware read it first to key the write, the app must still get all of it.
        body = await request.body()
        created.append(body.decode() or None)
        return {"id": len(created), "echo": created[-1]}

    @app.post("/api/refused")
    def refused() -> JSONResponse:
        return JSONResponse({"errors": [{"code": 85, "message": "Validation error"}]}, status_code=400)

    @app.get("/sandbox/created")
    def count() -> dict[str, object]:
        return {"created": len(created), "bodies": created}

    @app.get("/sandbox/ping")
    def ping() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/health")
    def health() -> dict[str, bool]:
        return {"ok": True}

    app.include_router(injected_router(log))
    app.add_middleware(FaultMiddleware, profile=profile, seed=seed, engine=engine, log=log, **kw)
    return app


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` on a free port in a thread; the socket is bound here so there is no port race."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        assert not thread.is_alive()


@dataclass
class Seen:
    """What a client saw for one attempt: 'ok', a status kind, or 'drop'; and how long it took."""

    path: str
    query: str
    attempt: int
    outcome: str
    elapsed: float
    retry_after: str | None = None
    at: float = 0.0  # wall clock when sent, to check an HTTP-date Retry-After


def get_once(session: requests.Session, base: str, path: str, query: str, attempt: int) -> Seen:
    start = time.perf_counter()
    at = time.time()
    try:
        response = session.get(f"{base}{path}?{query}", timeout=10)
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError):
        return Seen(path, query, attempt, "drop", time.perf_counter() - start)
    elapsed = time.perf_counter() - start
    outcome = "ok" if response.status_code == 200 else STATUS_KIND[response.status_code]
    if outcome == "ok":
        assert response.json()["id"] == int(path.rsplit("/", 1)[1])
    return Seen(path, query, attempt, outcome, elapsed, response.headers.get("retry-after"), at)


def crawl(base: str, urls: int) -> list[Seen]:
    """Fetch ``urls`` distinct URLs, each until it succeeds, like a client with a retry budget of 4."""
    seen: list[Seen] = []
    with requests.Session() as session:
        for i in range(urls):
            # Unsorted query on purpose: the key must not depend on parameter order.
            path, query = f"/api/items/{i}", f"limit=50&display=full&page={i % 7}"
            for attempt in range(1, 10):
                seen.append(get_once(session, base, path, query, attempt))
                if seen[-1].outcome == "ok":
                    break
    return seen


def expected_outcome(profile: FaultProfile, seed: int, s: Seen) -> str:
    fault = decide(profile, seed, request_key("GET", s.path, s.query), s.attempt)
    if fault is None or fault.kind in ("latency", "slow_page"):
        return "ok"
    return "drop" if fault.kind == "drop_connection" else fault.kind


def test_profile_none_never_faults(tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    with serve(make_app(parse_faults("none"), 1, str(db))) as base:
        seen = crawl(base, 100)
        assert {s.outcome for s in seen} == {"ok"} and len(seen) == 100
        assert requests.get(f"{base}/sandbox/injected").json() == {"bad_rows": [], "transport": []}
    with sa.create_engine(f"sqlite:///{db}").connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM sandbox_fault_attempts")).scalar() == 0


def test_flaky_run_is_deterministic_and_converges(tmp_path: Path) -> None:
    profile = parse_faults(FAST_FLAKY)
    with serve(make_app(profile, 42, str(tmp_path / "a.db"))) as base:
        first = crawl(base, 300)
        injected = requests.get(f"{base}/sandbox/injected").json()
        transport_only = requests.get(f"{base}/sandbox/injected", params={"category": "transport"}).json()

    # Every URL gets through by its 4th attempt, and the client saw exactly what the seed decides.
    per_url = Counter(s.path for s in first)
    assert len(per_url) == 300 and max(per_url.values()) <= MAX_FAULTY_ATTEMPTS + 1
    assert all(s.outcome == expected_outcome(profile, 42, s) for s in first)
    assert all(s.attempt <= MAX_FAULTY_ATTEMPTS for s in first if s.outcome != "ok")

    # Each transport kind a read can meet shows up in 300 URLs, and the log lists exactly what the client observed.
    logged = Counter(t["kind"] for t in injected["transport"])
    assert set(logged) == set(TRANSPORT_KINDS) - WRITE_ONLY_KINDS
    observed = Counter(s.outcome.replace("drop", "drop_connection") for s in first if s.outcome != "ok")
    assert observed == {k: n for k, n in logged.items() if k not in ("latency", "slow_page")}
    by_attempt = {(s.path, s.attempt): s for s in first}
    for t in injected["transport"]:
        s = by_attempt[(t["path"], t["attempt"])]
        assert t["method"] == "GET" and t["query"] == "display=full&limit=50&page=" + s.query.rsplit("=", 1)[1]
        if t["kind"] in ("latency", "slow_page"):
            assert s.outcome == "ok" and s.elapsed >= t["detail"]["delay_ms"] / 1000
    # Retry-After as the seed decided: delta-seconds, an HTTP-date, or none; 500s never carry one.
    forms = Counter()
    for s in first:
        if s.outcome in ("http_429", "http_503", "http_500"):
            fault = decide(profile, 42, request_key("GET", s.path, s.query), s.attempt)
            forms[fault.detail().get("retry_after_form", "none on 500")] += 1
            if fault.retry_after_date:
                sent = email.utils.parsedate_to_datetime(s.retry_after).timestamp()
                assert abs(sent - (s.at + fault.retry_after_seconds)) <= 2
            else:
                assert s.retry_after == fault.retry_after()
    assert set(forms) == {"absent", "seconds", "http-date", "none on 500"}, forms
    assert transport_only == {"bad_rows": [], "transport": injected["transport"]}

    # Same seed on a fresh database: the same sequence; another seed: another one.
    with serve(make_app(profile, 42, str(tmp_path / "b.db"))) as base:
        again = crawl(base, 300)
    assert [(s.path, s.attempt, s.outcome) for s in again] == [(s.path, s.attempt, s.outcome) for s in first]
    with serve(make_app(profile, 43, str(tmp_path / "c.db"))) as base:
        other = crawl(base, 60)
    assert [(s.path, s.attempt, s.outcome) for s in other] != [(s.path, s.attempt, s.outcome) for s in first[:60]]


def test_sandbox_and_other_paths_never_fault(tmp_path: Path) -> None:
    profile = parse_faults("none:http_503=1")
    with serve(make_app(profile, 1, str(tmp_path / "s.db"))) as base:
        for _ in range(20):
            assert requests.get(f"{base}/sandbox/ping").status_code == 200
            assert requests.get(f"{base}/health").status_code == 200
            assert requests.get(f"{base}/sandbox/injected").status_code == 200
        statuses = [requests.get(f"{base}/api/items/1").status_code for _ in range(5)]
        assert statuses[0] == 503 and statuses[MAX_FAULTY_ATTEMPTS:] == [200, 200]
        paths = {t["path"] for t in requests.get(f"{base}/sandbox/injected").json()["transport"]}
        assert paths == {"/api/items/1"}


def test_drop_connection_client_error_and_writes(tmp_path: Path) -> None:
    profile = parse_faults("none:drop_connection=1")
    with serve(make_app(profile, 1, str(tmp_path / "d.db"))) as base:
        for _ in range(MAX_FAULTY_ATTEMPTS):
            with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
                requests.get(f"{base}/api/items/5")
            # A cut write never reached the app, so the retry cannot duplicate it.
            with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
                requests.post(f"{base}/api/items")
        assert requests.get(f"{base}/api/items/5").json()["id"] == 5
        assert requests.post(f"{base}/api/items").json()["id"] == 1
    with serve(make_app(profile, 1, str(tmp_path / "w.db"), drop_executes_writes=True)) as base:
        for _ in range(MAX_FAULTY_ATTEMPTS):
            with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
                requests.post(f"{base}/api/items")
        assert requests.post(f"{base}/api/items").json()["id"] == MAX_FAULTY_ATTEMPTS + 1


CUT = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)


def post_once(base: str, body: str) -> str:
    """One POST of ``body``: what the client saw ('ok', a status kind, or 'drop')."""
    try:
        response = requests.post(f"{base}/api/items", data=body, timeout=10)
    except CUT:
        return "drop"
    if response.status_code == 200:
        assert response.json()["echo"] == body  # the app got the whole body although the middleware read it first
        return "ok"
    return STATUS_KIND[response.status_code]


def test_every_distinct_write_meets_faults_and_a_resend_is_the_same_write(tmp_path: Path) -> None:
    """Writes are keyed by their body: 60 POSTs to one collection meet faults all along, not only the first three;
    re-sending the same body walks that write's own plan, attempt after attempt."""
    profile = parse_faults("none:http_503=0.2,drop_connection=0.15,http_429=0.1")
    seen: list[tuple[int, int, str]] = []  # (write number, attempt, outcome)
    with serve(make_app(profile, 5, str(tmp_path / "w.db"))) as base:
        for n in range(60):
            for attempt in range(1, MAX_FAULTY_ATTEMPTS + 2):
                seen.append((n, attempt, post_once(base, f'{{"write": {n}, "text": "{"y" * 200}"}}')))
                if seen[-1][2] == "ok":
                    break
        stored = requests.get(f"{base}/sandbox/created", timeout=10).json()
        injected = requests.get(f"{base}/sandbox/injected", timeout=10).json()["transport"]
    faulted = sorted({n for n, _a, outcome in seen if outcome != "ok"})
    assert len(faulted) > 10 and max(faulted) >= 45, faulted
    for n, attempt, outcome in seen:
        key = request_key("POST", "/api/items", "", f'{{"write": {n}, "text": "{"y" * 200}"}}'.encode())
        fault = decide(profile, 5, key, attempt)
        assert outcome == ("ok" if fault is None else "drop" if fault.kind == "drop_connection" else fault.kind)
    # A write cut before the app runs is not applied: exactly one stored copy per write.
    assert sorted(stored["bodies"]) == sorted(f'{{"write": {n}, "text": "{"y" * 200}"}}' for n in range(60))
    assert {t["body"] for t in injected} == {
        request_key("POST", "/api/items", "", f'{{"write": {n}, "text": "{"y" * 200}"}}'.encode()).rsplit("=", 1)[1]
        for n in faulted
    }


def test_lost_reply_commits_the_write_then_loses_the_answer(tmp_path: Path) -> None:
    profile = parse_faults("none:lost_reply=1")
    with serve(make_app(profile, 3, str(tmp_path / "l.db"))) as base:
        outcomes = [post_once(base, '{"order": 7}') for _ in range(MAX_FAULTY_ATTEMPTS + 1)]
        stored = requests.get(f"{base}/sandbox/created", timeout=10).json()
        # A write the app refuses commits nothing: its real answer goes out and no fault is recorded.
        refused = requests.post(f"{base}/api/refused", data="<x/>", timeout=10)
        reads = [requests.get(f"{base}/api/items/{i}", timeout=10).status_code for i in range(20)]
        injected = requests.get(f"{base}/sandbox/injected", timeout=10).json()["transport"]
    key = request_key("POST", "/api/items", "", b'{"order": 7}')
    plan = [decide(profile, 3, key, a) for a in range(1, MAX_FAULTY_ATTEMPTS + 1)]
    assert outcomes == ["drop" if f.status is None else "http_500" for f in plan] + ["ok"]
    # The naive re-sends each committed again: four copies of one logical write.
    assert stored["created"] == MAX_FAULTY_ATTEMPTS + 1
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == 85
    assert reads == [200] * 20  # a read never draws a lost reply
    assert [(t["kind"], t["path"], t["attempt"]) for t in injected] == [
        ("lost_reply", "/api/items", a) for a in range(1, MAX_FAULTY_ATTEMPTS + 1)
    ]
    assert [t["detail"]["committed"] for t in injected] == [{"status": 200, "id": n} for n in (1, 2, 3)]
    assert [t["detail"]["reply"] for t in injected] == ["cut" if f.status is None else "error" for f in plan]


@contextmanager
def serve_workers(db: Path, spec: str, seed: int, workers: int = 2) -> Iterator[str]:
    """``uvicorn --workers`` in a subprocess, building ``make_app`` from FAULTS_TEST_* in each worker."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = {
        **os.environ,
        "FAULTS_TEST_DB": str(db),
        "FAULTS_TEST_SPEC": spec,
        "FAULTS_TEST_SEED": str(seed),
        "PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(Path(__file__).parent)]),
    }
    cmd = [sys.executable, "-m", "uvicorn", f"{Path(__file__).stem}:make_app", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    output = db.with_suffix(".log")
    with output.open("wb") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, output.read_text()
            assert time.monotonic() < deadline, "uvicorn workers did not start"
            try:
                if requests.get(f"{base}/sandbox/ping", timeout=1).ok:
                    break
            except requests.exceptions.ConnectionError:
                time.sleep(0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    # Workers must not have logged errors: injected drops are expected and silenced, anything else is a bug.
    assert "Traceback" not in output.read_text() and "ERROR" not in output.read_text(), output.read_text()


def test_two_workers_share_attempt_counts(tmp_path: Path) -> None:
    db = tmp_path / "workers.db"
    spec, seed = "flaky:http_503=0.3,http_429=0.2,drop_connection=0.2,latency=0,slow_page=0", 9
    profile = parse_faults(spec)
    create_tables(sa.create_engine(f"sqlite:///{db}"))
    with serve_workers(db, spec, seed) as base:

        def hit(i: int) -> tuple[int, str, int | None]:
            # A new connection per request, so both workers take turns on the same keys.
            try:
                r = requests.get(f"{base}/api/items/{i}", timeout=10, headers={"Connection": "close"})
            except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError):
                return i, "drop", None
            return i, ("ok" if r.ok else STATUS_KIND[r.status_code]), (r.json()["pid"] if r.ok else None)

        keys = list(range(40))
        with ThreadPoolExecutor(16) as pool:
            # Attempts 1..4 of every key at once: with a shared, atomic counter each number is handed out once.
            results = list(pool.map(hit, [i for i in keys for _ in range(MAX_FAULTY_ATTEMPTS + 1)]))
        fifth = [hit(i) for i in keys]

    for i in keys:
        key = request_key("GET", f"/api/items/{i}")
        expected = []
        for attempt in range(1, MAX_FAULTY_ATTEMPTS + 2):
            fault = decide(profile, seed, key, attempt)
            expected.append("ok" if fault is None else "drop" if fault.kind == "drop_connection" else fault.kind)
        assert sorted(o for k, o, _ in results if k == i) == sorted(expected), i
    assert all(outcome == "ok" for _, outcome, _ in fifth)
    assert len({pid for *_, pid in results + fifth if pid}) == 2
    with sa.create_engine(f"sqlite:///{db}").connect() as conn:
        counts = conn.execute(sa.text("SELECT attempts FROM sandbox_fault_attempts")).scalars().all()
    assert sorted(counts) == [MAX_FAULTY_ATTEMPTS + 2] * len(keys)
