"""Landing: keep the raw payload of the latest version of every record read from a source.

``land(conn, source, entity, records, run_id=…)`` stores each record as canonical JSON with its SHA-1 in
``landing_records`` and says what it found:

* ``new``: first time this ``(source, entity, record_id)`` is seen;
* ``changed``: the payload differs from the stored one; the row is replaced and takes this run's ``run_id``;
* ``unchanged``: same payload (same hash); the row is **not** rewritten, so it keeps the ``run_id`` of the run that
  last changed it, and its ``mapped_sha1`` (set by ``map_landed``) still says it needs no mapping; a new or changed
  row keeps the old ``mapped_sha1``, so the mapping picks it up whatever run it runs in;
* ``stale``: the stored version is certainly newer by ``date_key`` (an overlap window re-read an old version);
  ignored. Naive dates are wall-clock times in ``date_tz`` (the shop's zone): an update in the repeated hour of a
  daylight-saving fall-back is never taken for an old version (see ``_older``);
* ``duplicates``: the same record twice in one call; the last one counts.

With ``history=True`` every new or changed version is also kept once in ``landing_history``.
Records are stored as given (the API's field names and text values) minus their secrets: ``secrets.drop_secrets``
removes secret keys (customer ``passwd`` hashes, ``secure_key``, reset tokens, OAuth tokens, API keys…) at any depth
and cuts card numbers to their last four digits before the payload is hashed, so neither ``landing_records`` nor
``landing_history`` ever holds them and the same record read twice still has the same hash. A record without
``id_key`` raises: that is a wrong ``id_key``, not bad data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import sqlalchemy as sa
from more_itertools import batched

from prestaoracle.secrets import drop_secrets

from ._common import MAX_PARAMS, canonical_json, loads, order_key, sha1_hex, utcnow
from .schema import landing_history, landing_records
from .upsert import upsert


@dataclass(frozen=True)
class LandResult:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    stale: int = 0
    duplicates: int = 0

    @property
    def written(self) -> int:
        return self.new + self.changed

    @property
    def read(self) -> int:
        return self.new + self.changed + self.unchanged + self.stale + self.duplicates


def _stored(conn: sa.Connection, source: str, entity: str, ids: list[str]) -> dict[str, tuple[str, str | None]]:
    t = landing_records
    found: dict[str, tuple[str, str | None]] = {}
    for part in batched(ids, MAX_PARAMS):
        query = sa.select(t.c.record_id, t.c.payload_sha1, t.c.date_upd).where(
            t.c.source == source, t.c.entity == entity, t.c.record_id.in_(part))
        found.update({rid: (sha, date) for rid, sha, date in conn.execute(query)})
    return found


def _older(incoming: str | None, stored: str | None, tz: tzinfo | None = None) -> bool:
    """True only when the incoming version is *certainly* older than the stored one.

    Dates with an offset are instants. A naive date is the source's wall-clock time in ``tz`` (PrestaShop's
    ``date_upd``), which in the repeated hour of a daylight-saving fall-back can mean two instants an hour apart:
    each side is then the range of what it can mean, and "older" requires the incoming range to end before the
    stored one starts. Inside that hour an update is therefore landed, never dropped as stale; outside it the
    result is the plain comparison. Without ``tz`` naive dates are UTC.
    """
    if incoming is None or stored is None:
        return False
    a, b = _span(incoming, tz), _span(stored, tz)
    if a is None or b is None:
        a_key, b_key = order_key(incoming), order_key(stored)
        return a_key[0] == b_key[0] and a_key[1] < b_key[1]
    return a[1] < b[0]


def _span(value: str, tz: tzinfo | None) -> tuple[datetime, datetime] | None:
    """Earliest and latest UTC instant a date can mean; None when it is not a date."""
    kind, _ = order_key(value)
    if kind != 1:
        return None
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is not None or tz is None:
        instant = parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
        return instant, instant
    both = sorted(parsed.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1))
    return both[0], both[1]


def land(conn: sa.Connection, source: str, entity: str, records: Iterable[Mapping[str, Any]], *,
         id_key: str = "id", date_key: str | None = "date_upd", run_id: str, extracted_at: datetime | None = None,
         history: bool = False, date_tz: tzinfo | None = None) -> LandResult:
    """Store raw records in ``landing_records`` on ``conn`` (the caller commits); see the module docstring."""
    extracted_at = extracted_at or utcnow()
    batch: dict[str, dict[str, Any]] = {}
    seen = 0
    for record in records:
        seen += 1
        if record.get(id_key) in (None, ""):
            raise ValueError(f"{source}/{entity} record {seen} has no {id_key!r}; is id_key right?")
        payload = canonical_json(drop_secrets(record))
        date_upd = record.get(date_key) if date_key else None
        record_id = str(record[id_key])
        batch[record_id] = {
            "source": source, "entity": entity, "record_id": record_id,
            "date_upd": None if date_upd in (None, "") else str(date_upd),
            "payload": payload, "payload_sha1": sha1_hex(payload), "run_id": run_id, "extracted_at": extracted_at,
        }
    stored = _stored(conn, source, entity, list(batch))
    new = changed = unchanged = stale = 0
    to_write = []
    for record_id, row in batch.items():
        previous = stored.get(record_id)
        if previous is None:
            new += 1
        elif previous[0] == row["payload_sha1"]:
            unchanged += 1
            continue
        elif _older(row["date_upd"], previous[1], date_tz):
            stale += 1
            continue
        else:
            changed += 1
        to_write.append(row)
    if to_write:
        # The payload hash decides "changed": a concurrent lander with the same version changes nothing.
        upsert(conn, landing_records, to_write, ["source", "entity", "record_id"],
               compare_cols=["payload_sha1"])
        if history:
            upsert(conn, landing_history, to_write, ["source", "entity", "record_id", "payload_sha1"],
                   update_cols=[])
    return LandResult(new, changed, unchanged, stale, seen - len(batch))


def landed(conn: sa.Connection, source: str, entity: str, *, run_id: str | None = None) -> list[dict[str, Any]]:
    """The payloads of ``landing_records`` for a source entity (only those a run changed, with ``run_id``)."""
    t = landing_records
    query = sa.select(t.c.payload).where(t.c.source == source, t.c.entity == entity).order_by(t.c.record_id)
    if run_id is not None:
        query = query.where(t.c.run_id == run_id)
    return [loads(payload) for payload in conn.execute(query).scalars()]
