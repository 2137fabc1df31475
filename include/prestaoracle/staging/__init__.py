"""The staging database: landing, canonical typed tables, upserts, watermarks, idempotency ledger, dead letters,
run metrics (SQLAlchemy Core; SQLite by default, PostgreSQL in production).

One module per job: ``schema`` (tables), ``migrate`` (Alembic ``upgrade``; revisions in ``migrations/``),
``revision`` (writes the next revision), ``ddl`` (committed SQL files),
``db`` (``connect`` and the ``Staging`` facade), ``upsert``, ``landing``, ``watermarks``, ``ledger``,
``dead_letters``, ``metrics``. Secrets are removed with ``prestaoracle.secrets`` (dropped from landed payloads,
masked in dead letters, metrics and ledger errors). Functions take a SQLAlchemy ``Connection`` and never
commit: the caller's transaction decides what becomes visible together.
"""

from . import dead_letters, landing, ledger, metrics, migrate, schema, watermarks
from .db import Staging, StagingTx, connect, create_engine
from .dead_letters import DeadLetter, quarantine
from .landing import LandResult, land
from .ledger import LedgerEntry
from .metrics import StepCounts, record_step, timed_step
from .migrate import upgrade
from .schema import REASON_CLASSES, TABLES
from .upsert import COPY_THRESHOLD, UpsertResult, copy_upsert, upsert

__all__ = [
    "COPY_THRESHOLD", "REASON_CLASSES", "TABLES", "DeadLetter", "LandResult", "LedgerEntry", "Staging", "StagingTx",
    "StepCounts", "UpsertResult", "connect", "copy_upsert", "create_engine", "dead_letters", "land", "landing",
    "ledger", "metrics", "migrate", "quarantine", "record_step", "schema", "timed_step", "upgrade",
    "upsert", "watermarks",
]
