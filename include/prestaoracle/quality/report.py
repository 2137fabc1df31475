"""The run report: a JSON summary for machines and an HTML page (Jinja2) for people, with the same numbers as the
Data Docs pages they link to."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

SAMPLE = 200
"""Quarantined records listed in the report (all of them are in ``dead_letters``)."""


def file_stem(entity: str, run_id: str) -> str:
    """``<entity>-<run_id>`` with the characters file systems and URLs dislike (``:``, ``+``, ``/``) as ``_``."""
    return f"{entity}-{re.sub(r'[^A-Za-z0-9._-]', '_', run_id)}"


def write(report_dir: Path, summary: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``<entity>-<run_id>.json`` and ``.html``; returns their paths."""
    report_dir.mkdir(parents=True, exist_ok=True)
    stem = file_stem(summary["entity"], summary["run_id"])
    json_path, html_path = report_dir / f"{stem}.json", report_dir / f"{stem}.html"
    json_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    html_path.write_text(_template().render(r=summary), encoding="utf-8")
    return html_path, json_path


def _template() -> Any:
    env = Environment(loader=PackageLoader("prestaoracle.quality", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2")
