"""``python -m prestaoracle.quality release --entity orders --key 12 --note "ann: the other order was cancelled"``

Lets a record the gate holds go on as it is, by a person's decision (the note stays on its dead letter). The
staging database is the ``staging_default`` connection, or ``--staging URL``.
"""

from __future__ import annotations

import argparse
import sys

from prestaoracle.connections import staging_url

from .runner import release


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m prestaoracle.quality", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    release_cmd = commands.add_parser("release", help="let a held record go on as it is")
    release_cmd.add_argument("--entity", required=True, help="orders, customers, addresses, …")
    release_cmd.add_argument("--key", required=True, help="the record key (its id; composite keys joined by |)")
    release_cmd.add_argument("--note", required=True, help="who decided and why")
    release_cmd.add_argument("--staging", default=None, help="staging database URL (default: staging_default)")
    args = parser.parse_args(argv)
    try:
        closed = release(args.staging or staging_url(), args.entity, args.key, note=args.note)
    except (KeyError, LookupError) as exc:
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    print(f"{args.entity} {args.key} released; {closed} dead letter(s) marked ignored")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
