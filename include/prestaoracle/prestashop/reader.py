"""Reads: lists, full scans, incremental windows, children by parent ids, single objects. Returns raw wire records.

Records come back exactly as the webservice sent them (landing stores the original payload; ``normalize.py`` makes
typed values from it separately). The paging rules below exist because the webservice has offset paging only, no
totals, no default order and no cursor (reference §3.5, §9):

**Full scans** (:meth:`PrestaShopReader.iter_all`) page with ``limit=offset,n`` sorted by ``id`` ASC, several pages
in flight. Sorting by id makes inserts harmless (new ids land after the end); a *delete* during the scan shifts
later rows one place left, which would make offset paging skip a row at a page boundary. So every page after the
first starts one row early (``offset*n-1``): its first row must be the previous page's last row. If it is not, rows
were deleted before it and the gap ``]last_id, first_id[`` is re-read by id range, so nothing is skipped; rows seen
twice are dropped because ids only ever increase in the output.

**Incremental windows** (:meth:`PrestaShopReader.iter_changed`) select ``filter[cursor]=[since-overlap,until]``
(inclusive both ends, shop-local time, ``date=1``). Offset paging sorted by ``[cursor_ASC,id_ASC]`` (what Airbyte
does) is unsafe over a *moving* window: a record updated during the read jumps to the end of the sort order and
every later record shifts one place left, so one record per moved record is skipped at a page boundary and is never
re-read (its own date did not change, so no later window sees it as new). Here the window is instead walked by
**keyset on id** (``filter[id]=>[last_id]&sort=[id_ASC]``, ids only, 1000 per call: cheap, no N+1 ``display=full``),
then the full records are fetched by id batches in parallel. Ids never move, so an update during the read cannot
shift anything: the record is either still found by its id (fresher data), or has left the window because its date
is now after ``until``, in which case the next window (which starts at ``until-overlap``) returns it. The overlap
covers records committed late with a timestamp just before ``until`` and clock skew; duplicates across windows are
removed by id downstream (landing upserts on id), and within one call here. ``paging="offset"`` keeps the
Airbyte-style read for comparison; it de-duplicates but cannot recover skipped rows.

**Children** (:meth:`PrestaShopReader.get_by_ids`) are read by parent-id batches (``filter[id_order]=[1|2|...]``),
one call per batch, never one per parent: entities without dates (order_details, stock_availables, combinations,
order_carriers/order_payments which only have ``date_add``) must be read in full or through their parents.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Literal

from more_itertools import batched

from .client import PrestaShopClient
from .errors import NotFound, UnexpectedResponse
from .query import FilterValue, any_of, between, build_params, greater_than

__all__ = ["DATE_COLUMNS", "LIST_NODES", "PrestaShopReader"]

log = logging.getLogger("prestaoracle.prestashop")

# URL resource -> JSON list node, where they differ (reference §2, Airbyte field_path).
LIST_NODES: dict[str, str] = {
    "order_slip": "order_slips",
    "stock_movements": "stock_mvts",
    "product_customization_fields": "customization_fields",
}
# Date columns per resource: only these can drive an incremental read (``date=1`` on a table without them makes
# PrestaShop swallow an SQL error and answer an empty list, which would look like "nothing changed").
DATE_COLUMNS: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        ("orders", "customers", "addresses", "products", "order_slip", "carts", "categories", "cart_rules",
         "customer_threads", "customer_messages", "manufacturers", "suppliers", "groups", "stores"),
        frozenset({"date_add", "date_upd"}),
    ),
    **dict.fromkeys(
        ("order_histories", "order_carriers", "order_payments", "order_invoices", "messages", "stock_movements"),
        frozenset({"date_add"}),
    ),
    **dict.fromkeys(
        ("order_details", "stock_availables", "combinations", "order_states", "currencies", "carriers",
         "countries", "languages", "taxes", "product_option_values", "specific_prices"),
        frozenset(),
    ),
}
# Resources the webservice does not restrict to the context shop although they carry id_shop (reference §1.6).
_SHOP_COLUMN_FILTERED = frozenset({"orders"})
_EPOCH = datetime(1970, 1, 1)
ID_PAGE = 1000


def _row_id(row: Mapping[str, Any]) -> int:
    return int(row["id"])


class PrestaShopReader:
    """Read-side API over a :class:`PrestaShopClient`. Thread-safe; uses up to ``client.max_in_flight`` threads."""

    def __init__(self, client: PrestaShopClient, *, id_page_size: int = ID_PAGE) -> None:
        self.client = client
        self.id_page_size = id_page_size

    # -- single calls --------------------------------------------------------------------------------------------

    def get_list(
        self,
        resource: str,
        *,
        display: str | Sequence[str] | None = "full",
        filters: Mapping[str, object] | None = None,
        sort: str | Sequence[str] | None = None,
        date: bool = False,
        limit: int | tuple[int, int] | None = None,
        language: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """One list call. Returns the records (``[]`` when PrestaShop sends its bare empty-list ``[]`` body)."""
        query = build_params(
            display=display,
            filters=self._with_shop_filter(resource, filters),
            sort=sort,
            date=date,
            limit=limit,
            language=language,
            extra=params,
            tz=self.client.shop_timezone,
        )
        body = self.client.get_json(resource, query, resource=resource)
        return self._records(resource, body)

    def get_one(self, resource: str, object_id: int, *, display: str | Sequence[str] | None = "full") -> dict[str, Any]:
        """One object through the *list* endpoint (``filter[id]=[n]&display=full``).

        ``GET /api/<resource>/<id>`` in JSON drops every field whose value is falsy ("0", "", null) in 8.x/9.x, so
        a cancelled order would come back without ``valid``; lists keep every field. Raises :class:`NotFound`.
        """
        rows = self.get_list(resource, display=display, filters={"id": [int(object_id)]})
        for row in rows:
            if _row_id(row) == int(object_id):
                return row
        raise NotFound(f"PrestaShop {resource} {int(object_id)} does not exist", status=404, method="GET",
                       url=self.client.url_for(resource))

    def _with_shop_filter(self, resource: str, filters: Mapping[str, object] | None) -> dict[str, object]:
        out = dict(filters or {})
        if self.client.shop_id is not None and resource in _SHOP_COLUMN_FILTERED and "id_shop" not in out:
            out["id_shop"] = [int(self.client.shop_id)]
        return out

    @staticmethod
    def _records(resource: str, body: Any) -> list[dict[str, Any]]:
        if body == [] or body == "" or body is None:
            return []
        if isinstance(body, dict):
            node = LIST_NODES.get(resource, resource)
            value = body.get(node)
            if value is None:
                lists = [v for k, v in body.items() if k != "errors" and isinstance(v, list)]
                value = lists[0] if len(lists) == 1 else None
            if isinstance(value, list) and all(isinstance(v, dict) for v in value):
                return value
            if value == "" or value == []:
                return []
        raise UnexpectedResponse(
            f"PrestaShop list of {resource} has an unexpected shape: {type(body).__name__} "
            f"with keys {sorted(body)[:5] if isinstance(body, dict) else '-'}"
        )

    # -- full scans ----------------------------------------------------------------------------------------------

    def iter_all(
        self,
        resource: str,
        *,
        display: str | Sequence[str] | None = "full",
        filters: Mapping[str, object] | None = None,
        page_size: int | None = None,
        language: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every record of ``resource`` (matching ``filters``), in id order, each exactly once.

        Pages of ``page_size`` are fetched ``max_in_flight`` at a time and yielded in order; see the module doc for
        the one-row overlap that makes deletes during the scan harmless.
        """
        size = page_size or self.client.page_size
        if "id" in (filters or {}):
            raise ValueError("iter_all pages by id itself; use get_by_ids to read given ids")

        def fetch(page: int) -> list[dict[str, Any]]:
            limit = (0, size) if page == 0 else (page * size - 1, size + 1)
            return self.get_list(resource, display=display, filters=filters, sort=["id_ASC"], limit=limit,
                                 language=language)

        last_id = 0
        pool = ThreadPoolExecutor(max_workers=self.client.max_in_flight, thread_name_prefix="ps-page")
        pending: deque[tuple[int, Future[list[dict[str, Any]]]]] = deque()
        try:
            next_page = 0
            for _ in range(self.client.max_in_flight):
                pending.append((next_page, pool.submit(fetch, next_page)))
                next_page += 1
            while pending:
                page, future = pending.popleft()
                rows = future.result()
                expected = size if page == 0 else size + 1
                if page > 0 and rows and _row_id(rows[0]) > last_id:
                    # The overlap row is missing: rows were deleted before this page. Re-read the gap by id range.
                    for row in self._range(resource, last_id + 1, _row_id(rows[0]) - 1, display, filters, language):
                        if _row_id(row) > last_id:
                            last_id = _row_id(row)
                            yield row
                for row in rows:
                    if _row_id(row) > last_id:
                        last_id = _row_id(row)
                        yield row
                if len(rows) < expected:
                    return
                pending.append((next_page, pool.submit(fetch, next_page)))
                next_page += 1
        finally:
            for _, future in pending:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)

    def _range(
        self,
        resource: str,
        low: int,
        high: int,
        display: str | Sequence[str] | None,
        filters: Mapping[str, object] | None,
        language: int | None,
    ) -> Iterator[dict[str, Any]]:
        """Records with ``low <= id <= high`` (a small gap after deletes), paged by offset inside the range."""
        if high < low:
            return
        log.info("PrestaShop %s: rows deleted during a full scan; re-reading ids %d..%d", resource, low, high)
        size = self.client.page_size
        offset = 0
        while True:
            rows = self.get_list(resource, display=display, filters={**(filters or {}), "id": between(low, high)},
                                 sort=["id_ASC"], limit=(offset, size), language=language)
            yield from rows
            if len(rows) < size:
                return
            offset += size

    # -- incremental ---------------------------------------------------------------------------------------------

    def iter_changed(
        self,
        resource: str,
        since: datetime | None,
        until: datetime,
        *,
        cursor: str = "date_upd",
        overlap: timedelta = timedelta(minutes=5),
        display: str | Sequence[str] | None = "full",
        filters: Mapping[str, object] | None = None,
        paging: Literal["keyset", "offset"] = "keyset",
    ) -> Iterator[dict[str, Any]]:
        """Records whose ``cursor`` lies in ``[since - overlap, until]`` (shop-local time), each id once.

        ``until`` should not be later than the shop's "now" (use the data interval end): then a record updated while
        this runs gets a date after ``until`` and is returned by the next window. See the module doc for why the
        window is walked by id (``paging="keyset"``) rather than by offset.
        """
        known = DATE_COLUMNS.get(resource)
        if known is not None and cursor not in known:
            hint = (
                "use cursor='date_add'" if "date_add" in known
                else "read it in full (iter_all) or by parent ids (get_by_ids)"
            )
            raise ValueError(f"{resource} has no {cursor} column to read incrementally: {hint}")
        if cursor not in ("date_add", "date_upd"):
            raise ValueError(f"cursor must be date_add or date_upd, got {cursor!r}")
        low = (since - overlap) if since is not None else _EPOCH
        if low > until:
            raise ValueError(f"empty window: since-overlap ({low}) is after until ({until})")
        if filters and ("id" in filters or cursor in filters):
            raise ValueError(f"iter_changed sets filter[id] and filter[{cursor}] itself")
        window = between(low, until, tz=self.client.shop_timezone)
        if paging == "offset":
            yield from self._changed_by_offset(resource, cursor, window, display, filters)
            return
        ids = self._window_ids(resource, cursor, window, filters)
        log.debug("PrestaShop %s: %d ids in window %s", resource, len(ids), window)
        yield from self._by_id_batches(resource, ids, "id", self.client.page_size, display, None)

    def _window_ids(
        self, resource: str, cursor: str, window: FilterValue, filters: Mapping[str, object] | None
    ) -> list[int]:
        """Ids in the window, walked by keyset on id (ids only: one cheap call per ``id_page_size`` ids)."""
        ids: list[int] = []
        last = 0
        while True:
            rows = self.get_list(
                resource,
                display=["id"],
                filters={**(filters or {}), cursor: window, "id": greater_than(last)},
                sort=["id_ASC"],
                date=True,
                limit=self.id_page_size,
            )
            page = sorted(_row_id(r) for r in rows)
            fresh = [i for i in page if i > last]
            ids.extend(fresh)
            if len(rows) < self.id_page_size or not fresh:
                return ids
            last = fresh[-1]

    def _changed_by_offset(
        self,
        resource: str,
        cursor: str,
        window: FilterValue,
        display: str | Sequence[str] | None,
        filters: Mapping[str, object] | None,
    ) -> Iterator[dict[str, Any]]:
        seen: set[int] = set()
        size = self.client.page_size
        offset = 0
        while True:
            rows = self.get_list(resource, display=display, filters={**(filters or {}), cursor: window},
                                 sort=[f"{cursor}_ASC", "id_ASC"], date=True, limit=(offset, size))
            for row in rows:
                if _row_id(row) not in seen:
                    seen.add(_row_id(row))
                    yield row
            if len(rows) < size:
                return
            offset += size

    # -- by ids --------------------------------------------------------------------------------------------------

    def get_by_ids(
        self,
        resource: str,
        ids: Iterable[object],
        *,
        field: str = "id",
        batch: int = 100,
        display: str | Sequence[str] | None = "full",
        filters: Mapping[str, object] | None = None,
    ) -> list[dict[str, Any]]:
        """Records whose ``field`` is one of ``ids``: ``filter[field]=[a|b|...]`` per batch of ``batch`` values.

        For children pass the parent key (``get_by_ids("order_details", order_ids, field="id_order")``): one call per
        batch of parents whatever the number of children (no ``limit`` is sent, PrestaShop then returns every match).
        Batches run in parallel (``max_in_flight``); the result is in batch order, each batch sorted by id.
        """
        return list(self._by_id_batches(resource, ids, field, batch, display, filters))

    def _by_id_batches(
        self,
        resource: str,
        ids: Iterable[object],
        field: str,
        batch: int,
        display: str | Sequence[str] | None,
        filters: Mapping[str, object] | None,
    ) -> Iterator[dict[str, Any]]:
        if batch < 1:
            raise ValueError("batch must be >= 1")
        if filters and field in filters:
            raise ValueError(f"filter[{field}] is set by get_by_ids itself")
        values = _unique(ids, numeric=field == "id" or field.startswith("id_"))
        chunks = [list(chunk) for chunk in batched(values, batch)]
        if not chunks:
            return

        def fetch(chunk: list[object]) -> list[dict[str, Any]]:
            return self.get_list(resource, display=display, filters={**(filters or {}), field: any_of(chunk)},
                                 sort=["id_ASC"])

        yield from _ordered_parallel(fetch, chunks, self.client.max_in_flight)


def _unique(values: Iterable[object], *, numeric: bool) -> list[object]:
    """Distinct values; ids (``numeric``) as sorted ints, so "5" and 5 are one value and reruns issue identical
    requests. Other keys (``order_reference``) keep their order and spelling."""
    if numeric:
        return sorted({int(str(v).strip()) for v in values})
    return list(dict.fromkeys(values))


def _ordered_parallel(
    fetch: Callable[[list[object]], list[dict[str, Any]]], chunks: list[list[object]], width: int
) -> Iterator[dict[str, Any]]:
    """Run ``fetch`` over ``chunks`` with at most ``width`` in flight; yield results in chunk order."""
    pool = ThreadPoolExecutor(max_workers=max(1, min(width, len(chunks))), thread_name_prefix="ps-batch")
    pending: deque[Future[list[dict[str, Any]]]] = deque()
    try:
        todo = iter(chunks)
        for chunk in todo:
            pending.append(pool.submit(fetch, chunk))
            if len(pending) >= width:
                break
        while pending:
            rows = pending.popleft().result()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(pool.submit(fetch, nxt))
            yield from rows
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
