"""Where the product keeps its files, and the few settings that are not connections.

Everything comes from the environment (a deployment sets it once for every Airflow component), with defaults that
suit one machine: reports under ``$AIRFLOW_HOME/prestaoracle/reports`` (or ``var/reports`` outside Airflow), the
GX project of the repository, the mapping configuration shipped with the package.

| variable | what |
|---|---|
| ``PRESTAORACLE_REPORTS_DIR`` | data-quality and run reports (HTML + JSON) |
| ``PRESTAORACLE_GX_ROOT`` | the Great Expectations file project (Data Docs build under it) |
| ``PRESTAORACLE_MAPPING_CONFIG`` | a YAML/JSON mapping configuration (defaults, lookups, rates); see docs/mapping.md |
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ConfigError", "file_part", "mapping_config", "reports_dir"]


class ConfigError(ValueError):
    """A flow's configuration is wrong; the message names the key and what to write. The CLI exits 2 on it."""


def reports_dir() -> Path:
    """The directory reports are written to (created on first use)."""
    if os.environ.get("PRESTAORACLE_REPORTS_DIR"):
        path = Path(os.environ["PRESTAORACLE_REPORTS_DIR"])
    elif os.environ.get("AIRFLOW_HOME"):
        path = Path(os.environ["AIRFLOW_HOME"]) / "prestaoracle" / "reports"
    else:
        path = Path("var") / "reports"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def mapping_config() -> Path | None:
    """The operator's mapping configuration file, or None for the packaged defaults."""
    value = os.environ.get("PRESTAORACLE_MAPPING_CONFIG")
    return Path(value) if value else None


def file_part(run_id: str) -> str:
    """``run_id`` fit for a report's file name (Airflow run ids carry ``:`` and ``+``)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
