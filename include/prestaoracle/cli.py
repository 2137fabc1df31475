"""``python -m prestaoracle …``: the product's command line."""

from __future__ import annotations

import argparse
import secrets
import signal
import string
import sys
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prestaoracle.sandbox.oracle.ebs_link import EbsStandIn


def _iso(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO date such as 2026-01-31T12:00") from None


def _instant(value: str) -> datetime:
    """An ISO date for the extraction window: with its offset, or UTC when it has none (never the local clock)."""
    moment = _iso(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _minutes(value: str) -> float:
    try:
        minutes = float(value)
    except ValueError:
        minutes = -1.0
    if minutes < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of minutes >= 0")
    return minutes


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds >= 0")
    return seconds


def _ws_key(value: str) -> str:
    if len(value) != 32 or not value.isalnum():
        raise argparse.ArgumentTypeError("a PrestaShop webservice key is 32 letters or digits")
    return value


def _resources(value: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in value.split(",") if name.strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m prestaoracle", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sb = sub.add_parser("sandbox", help="run the PrestaShop (and Oracle) emulators in the foreground")
    sb.add_argument("--only", choices=("prestashop", "oracle"), help="run one half only")
    sb.add_argument("--host", default="127.0.0.1")
    sb.add_argument("--prestashop-port", type=int, default=9101)
    sb.add_argument("--oracle-port", type=int, default=9102)
    sb.add_argument("--dataset", choices=("generated", "demo"), default="generated",
                    help="'demo' serves the real demo shop the fixtures were recorded from")
    sb.add_argument("--orders", type=int, default=1000, help="orders to generate (default 1000)")
    sb.add_argument("--seed", type=int, default=7, help="seed of the data and of the faults (default 7)")
    sb.add_argument("--start", type=_iso, help="first order date (default: --days before --end)")
    sb.add_argument("--end", type=_iso, help="last order date (default: today 00:00)")
    sb.add_argument("--days", type=int, default=90, help="length of the order period (default 90)")
    sb.add_argument("--faults", default="none",
                    help="fault profile: none, flaky, hostile, optionally with rates: 'flaky:http_503=0.2'")
    sb.add_argument("--ws-key", type=_ws_key, help="PrestaShop webservice key (32 characters; default random)")
    sb.add_argument("--oracle-client-id", default="prestaoracle-sandbox", help="OAuth client id (and Basic user)")
    sb.add_argument("--oracle-client-secret", help="OAuth client secret (and Basic password; default random)")
    sb.add_argument("--oracle-token-ttl", type=int, default=3600, help="seconds an access token lives (3600)")
    sb.add_argument("--oracle-clock-start", type=_iso, help="where the pod's clock starts (default: now, UTC)")
    sb.add_argument("--oracle-real-time", action="store_true",
                    help="let the pod's clock run in real time (default: frozen, moved by /sandbox/clock/advance)")
    sb.add_argument("--oracle-db-url", help="SQLAlchemy URL of the pod's store (default: SQLite in --data-dir)")
    sb.add_argument("--workers", type=int, default=2, help="server worker processes per emulator (default 2)")
    sb.add_argument("--data-dir", type=Path, default=Path("var/sandbox"), help="where the emulators keep their data")
    sb.add_argument("--prestashop-db-url", help="SQLAlchemy URL of the shop's store (default: SQLite in --data-dir)")
    sb.add_argument("--shop-timezone", default="Europe/Paris",
                    help="the shop's PS_TIMEZONE: its dates are wall times there (default Europe/Paris, not UTC)")
    sb.add_argument("--shop-clock", type=_iso,
                    help="where the shop's clock starts: an instant with offset, or a shop wall time (default: now)")
    sb.add_argument("--shop-clock-frozen", action="store_true",
                    help="stop the shop's clock (moved by POST /sandbox/clock and /sandbox/clock/advance)")
    sb.add_argument("--ws-resources", type=_resources,
                    help="comma-separated resources granted to the webservice key (default: all served; "
                         "the recorded key's 15 with --dataset demo, without configurations)")
    sb.add_argument("--ebs-db-url",
                    help="SQLAlchemy URL (SQLite file or PostgreSQL) of an EBS stand-in to run next to the pod: "
                         "created and seeded from the same shop unless that shop already seeded it")
    sb.add_argument("--ebs-import-every", type=_seconds, default=5.0,
                    help="seconds between the stand-in's scheduled Order Import runs (default 5; 0 = only on "
                         "POST /sandbox/ebs/import)")
    sb.set_defaults(func=cmd_sandbox)

    ex = sub.add_parser("extract", help="run one extraction into staging through the configured connections")
    ex.add_argument("--source", choices=("prestashop", "oracle"), required=True)
    ex.add_argument("--entity", required=True, help="e.g. orders, customers, stock_availables; sales_orders, onhand")
    ex.add_argument("--since", type=_instant, help="start of an explicit window, ISO with offset (no offset: UTC); "
                    "default: the entity's watermark minus the overlap")
    ex.add_argument("--until", type=_instant, help="end of the window, ISO with offset (no offset: UTC); default: "
                    "the source's clock (its HTTP Date header)")
    ex.add_argument("--overlap-minutes", type=_minutes, help="how far before the watermark to re-read (default: the "
                    "connection's overlap_minutes, else 5 for PrestaShop, 30 for Oracle)")
    ex.add_argument("--run-id", help="run id recorded with what is landed (default: manual__<time>)")
    ex.set_defaults(func=cmd_extract)

    mp = sub.add_parser("map", help="dry-run the mapping of one staged record; check specs; add binds, lookups, "
                        "rates (see docs/mapping.md)")
    action = mp.add_mutually_exclusive_group(required=True)
    action.add_argument("--entity", choices=("order", "customer", "sales_order"), help="what --id names")
    action.add_argument("--check", action="store_true", help="load and validate every spec")
    action.add_argument("--bind", nargs=3, metavar=("ENTITY", "SHOP_ID", "TARGET_ID"),
                        help="bind a shop id to its Oracle counterpart, e.g. sku 12:34 AS54888")
    action.add_argument("--unbind", nargs=2, metavar=("ENTITY", "SHOP_ID"))
    action.add_argument("--set-lookup", nargs=3, metavar=("NAME", "KEY", "VALUE"), help="add a lookup pair")
    action.add_argument("--set-rate", nargs=3, metavar=("FROM", "TO", "RATE"), help="add an exchange rate")
    mp.add_argument("--id", help="the record's id (with --entity)")
    mp.add_argument("--config", type=Path, help="mapping configuration, YAML or JSON (default: built in)")
    mp.add_argument("--valid-from", type=_day, help="first day a --set-rate applies (ISO date)")
    mp.add_argument("--system", default="prestashop", help="--bind/--unbind: whose id SHOP_ID is")
    mp.add_argument("--target", default="oracle", help="--bind/--unbind: whose id TARGET_ID is")
    mp.set_defaults(func=cmd_map)

    from prestaoracle import run

    run.add_parser(sub)

    demo = sub.add_parser("demo", help="start the sandbox on embedded defaults and show what the product reads")
    demo.set_defaults(func=cmd_demo)
    return parser


def cmd_extract(args: argparse.Namespace) -> int:
    from prestaoracle import connections
    from prestaoracle.flows import extract
    from prestaoracle.staging import connect

    try:
        staging = connect(connections.staging_url(), upgrade=True)
        if args.source == "prestashop":
            conn = connections.get(connections.PRESTASHOP)
            client = connections.prestashop_client(connections.PRESTASHOP, conn)
            run = extract.extract_prestashop
        else:
            conn = connections.get(connections.ORACLE_FUSION)
            client = connections.fusion_client(connections.ORACLE_FUSION, conn)
            run = extract.extract_oracle
        overlap = (timedelta(minutes=args.overlap_minutes) if args.overlap_minutes is not None
                   else connections.extract_overlap(conn.conn_id, conn))
        result = run(client, staging, args.entity, since=args.since, until=args.until, run_id=args.run_id,
                     overlap=overlap)
    except (connections.ConnectionNotConfigured, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    return 0


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO date such as 2026-01-31") from None


def cmd_map(args: argparse.Namespace) -> int:
    from prestaoracle.mapping import command

    return command.run(args)


def cmd_demo(_args: argparse.Namespace) -> int:
    from prestaoracle import demo

    return demo.main()


def cmd_sandbox(args: argparse.Namespace) -> int:
    from prestaoracle.sandbox import faults
    from prestaoracle.sandbox.prestashop import clock as shop_clock
    from prestaoracle.sandbox.prestashop import server as ps_server
    from prestaoracle.sandbox.prestashop.schema import key_permissions
    from prestaoracle.sandbox.storage import sqlite_url

    try:
        faults.parse_faults(args.faults)
    except ValueError as exc:
        print(f"error: --faults: {exc}", file=sys.stderr)
        return 2
    try:
        tz = shop_clock.zone(args.shop_timezone)
        clock_start = None if args.shop_clock is None else shop_clock.instant(args.shop_clock, tz)
        # The generated period ends at the start of the shop's "today" unless told otherwise.
        today = (clock_start or datetime.now(UTC)).astimezone(tz).date()
        end = args.end or datetime.combine(today, datetime.min.time())
        start = args.start or end - timedelta(days=args.days)
        if shop_clock.instant(start, tz) >= shop_clock.instant(end, tz):
            print("error: --start must be before --end", file=sys.stderr)
            return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    key = args.ws_key or _random_key(32)
    spec = ps_server.ShopSpec(args.dataset, args.orders, args.seed, start, end, args.faults, key,
                              timezone=args.shop_timezone, clock_start=clock_start,
                              clock_frozen=args.shop_clock_frozen, ws_resources=args.ws_resources)
    try:
        key_permissions(spec.granted())
    except ValueError as exc:
        print(f"error: --ws-resources: {exc}", file=sys.stderr)
        return 2
    if args.ebs_db_url and args.only == "prestashop":
        print("error: --ebs-db-url needs the Oracle half (its clock and its /sandbox/ebs routes): drop "
              "--only prestashop", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    data = ps_server.shop_rows(spec)
    stand_in = None
    if args.ebs_db_url and args.only != "prestashop":
        stand_in = _prepare_ebs(args.ebs_db_url, data[1], args.seed)
        if stand_in is None:
            return 2
    procs, banners = [], []
    pod_db_url = ""
    if args.only != "oracle":
        db_url = args.prestashop_db_url or sqlite_url(args.data_dir, "prestashop.sqlite")
        counts = ps_server.prepare(db_url, spec, data)
        print(f"PrestaShop sandbox: {args.dataset} shop loaded in {time.perf_counter() - t0:.1f}s "
              f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items()) if v)})", flush=True)
        procs.append(ps_server.spawn(db_url, args.host, args.prestashop_port, args.workers))
        url = f"http://{args.host}:{args.prestashop_port}/api/"
        banners.append((url, f"PrestaShop webservice: {url}  key: {key}  faults: {args.faults}  "
                             f"shop time zone: {args.shop_timezone}"))
    if args.only != "prestashop":
        from prestaoracle.sandbox.oracle import server as ora_server

        secret = args.oracle_client_secret or _random_key(24)
        clock_start = args.oracle_clock_start or datetime.now(UTC).replace(microsecond=0)
        if clock_start.tzinfo is None:
            clock_start = clock_start.replace(tzinfo=UTC)
        pod = ora_server.PodSpec(args.seed, args.faults, args.oracle_client_id, secret, args.oracle_token_ttl,
                                 clock_start, args.oracle_real_time)
        db_url = args.oracle_db_url or sqlite_url(args.data_dir, "oracle.sqlite")
        counts = ora_server.prepare(db_url, data[1], pod, stand_in)
        print(f"Oracle sandbox: pod seeded ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()) if v)})",
              flush=True)
        procs.append(ora_server.spawn(db_url, args.host, args.oracle_port, args.workers))
        url = f"http://{args.host}:{args.oracle_port}/"
        banner = (f"Oracle Fusion REST: {url}fscmRestApi/resources/11.13.18.05/  token: {url}oauth2/v1/token  "
                  f"client id: {args.oracle_client_id}  secret: {secret}")
        if stand_in is not None:
            from prestaoracle.secrets import redact_url

            every = f"every {args.ebs_import_every:g} s" if args.ebs_import_every else "only when asked"
            banner += (f"\nEBS stand-in: {redact_url(args.ebs_db_url)}  Order Import {every} and on POST "
                       f"{url}sandbox/ebs/import; its fulfilment follows {url}sandbox/clock")
        banners.append((f"{url}sandbox/clock", banner))
        pod_db_url = db_url
    try:
        for (url, banner), proc in zip(banners, procs, strict=True):
            if not _wait_up(url, proc):
                print(f"error: the sandbox at {url} did not start", file=sys.stderr)
                _stop(procs)
                return 1
            print(banner, flush=True)
    except KeyboardInterrupt:
        _stop(procs)  # interrupted while starting: leave no server behind
        return 0
    manager = None
    if stand_in is not None:
        from prestaoracle.sandbox.oracle.ebs_link import ConcurrentManager

        manager = ConcurrentManager(pod_db_url, args.ebs_import_every)
        manager.start()
    try:
        return _run_until_interrupted(procs)
    finally:
        if manager is not None:
            manager.stop()


def _prepare_ebs(url: str, shop_rows: dict[str, list[dict]], seed: int) -> EbsStandIn | None:
    """Create and seed the EBS stand-in (or find it seeded from this shop); None after printing why it cannot."""
    import sqlalchemy as sa

    from prestaoracle.sandbox.oracle import ebs_link
    from prestaoracle.secrets import redact_url

    t0 = time.perf_counter()
    try:
        stand_in = ebs_link.prepare_ebs(url, shop_rows, seed)
    except ebs_link.EbsSeedMismatch as exc:
        print(f"error: --ebs-db-url: {exc}", file=sys.stderr)
        return None
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        print(f"error: --ebs-db-url {redact_url(url)} is not a SQLAlchemy URL the sandbox can open ({exc}); "
              "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB", file=sys.stderr)
        return None
    except sa.exc.OperationalError as exc:
        print(f"error: --ebs-db-url {redact_url(url)}: the database cannot be reached "
              f"({type(exc.orig).__name__}); check that it exists and the server runs", file=sys.stderr)
        return None
    doc = stand_in.document
    what = ("seeded" if stand_in.seeded_now else "already seeded from this shop, kept as it is")
    print(f"EBS stand-in: {what} in {time.perf_counter() - t0:.1f}s (customers {len(doc['customers'])}, "
          f"missing SKUs {len(doc['missing_skus'])}, inactive SKUs {len(doc['inactive_skus'])})", flush=True)
    return stand_in


def _random_key(length: int) -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(length))


def _wait_up(url: str, proc, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            urllib.request.urlopen(url, timeout=2)
            return True
        except urllib.error.HTTPError:
            return True  # 401 without a key: the server is up
        except OSError:
            time.sleep(0.2)
    return False


def _run_until_interrupted(procs: list) -> int:
    stop = {"now": False}

    def _on_signal(_sig, _frame) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    while not stop["now"] and all(p.poll() is None for p in procs):
        time.sleep(0.2)
    _stop(procs)
    return 0 if stop["now"] else 1


def _stop(procs: list) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(timeout=10)
        except Exception:
            p.kill()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
