"""Shared test helpers: where the recorded PrestaShop fixtures live and how to get a free TCP port.

Kept small on purpose; anything bigger goes in ``tests/support/``.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import pytest

# Airflow reads its home and config at import: give every test process a private, example-free home before any
# test imports it, so no test touches ~/airflow or depends on another's metadata.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="prestaoracle-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(Path(__file__).resolve().parents[1] / "dags"))

# The recorded PrestaShop 8.1.2 traffic lives next to the repository (shared/ is a sibling of the checkout),
# both here and in CI, so it is found relative to this file rather than through configuration.
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "prestashop-8.1.2"


def free_port() -> int:
    """Return a TCP port that was free a moment ago, so parallel sandboxes (xdist workers) do not collide."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Make ``--dist loadgroup`` group again: pytest 9.2 derives ``nodeid`` from ``item._id``, so the ``@group``
    suffix pytest-xdist 3.8 writes to ``item._nodeid`` is lost and every group's tests are spread over the workers
    (each building the module's sandboxes again, in parallel with their twin). The suffix goes on ``_id`` here."""
    if not getattr(config.option, "loadgroup", False):  # set in the workers of a --dist loadgroup run
        return
    from _pytest.nodeid import NodeId

    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})
        suffix = "@" + "_".join(names)
        if names and not item.nodeid.endswith(suffix):
            item._id = NodeId.parse(item.nodeid + suffix)
