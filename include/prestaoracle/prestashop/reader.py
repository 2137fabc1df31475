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

The window's bounds are instants (aware datetimes) inside the product and shop-local strings on the wire: they are
converted here, at the door, with the shop's time zone (the client's ``shop_timezone``, else ``PS_TIMEZONE`` read
from ``configurations``), widened across a daylight-saving fall-back so the repeated hour is never cut out
(``shoptime.py``). Naive bounds are taken as shop-local wall-clock times and sent as they are.
:meth:`PrestaShopReader.iter_changed_pages` yields the window one id page at a time (``last_id`` says where it
stopped), so a caller can commit page by page and resume after the last committed id with ``after_id``.
:meth:`PrestaShopReader.shop_now` reads the shop server's own clock from the HTTP ``Date`` header.

**Children** (:meth:`PrestaShopReader.get_by_ids`) are read by parent-id batches (``filter[id_order]=[1|2|...]``),
one call per batch, never one per parent: entities without dates (order_details, stock_availables, combinations,
order_carriers/order_payments which only have ``date_add``) must be read in full or through their parents.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from more_itertools import batched

from .client import PrestaShopClient
from .errors import AuthError, NotFound, UnexpectedResponse
from .query import FilterValue, any_of, between, build_params, greater_than
from .shoptime import ShopTimezoneUnknown, local_bounds, parse_http_date

__all__ = ["DATE_COLUMNS", "LIST_NODES", "ChangedPage", "PrestaShopReader"]

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


TIMEZONE_HELP = (
    "Set the shop's time zone on the PrestaShop connection (prestashop_default unless you chose another id): in the "
    "Airflow UI, Admin → Connections → the connection → 'Shop time zone' (e.g. Europe/Paris); or in its extra JSON, "
    '{"shop_timezone": "Europe/Paris"}, e.g. AIRFLOW_CONN_PRESTASHOP_DEFAULT=\'{"conn_type": "prestashop", '
    '"host": "https://shop.example", "password": "<key>", "extra": {"shop_timezone": "Europe/Paris"}}\'. '
    "Alternatively give the webservice key GET permission on 'configurations' so PS_TIMEZONE can be read."
)


def _row_id(row: Mapping[str, Any]) -> int:
    return int(row["id"])


@dataclass(frozen=True)
class ChangedPage:
    """One id page of an incremental window: its records and the highest id listed (where to resume after it)."""

    records: list[dict[str, Any]]
    last_id: int


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

    # -- the shop's clock ---------------------------------------------------------------------------------------

    def shop_timezone(self) -> tzinfo:
        """The shop's time zone: the client's ``shop_timezone``, else ``PS_TIMEZONE`` from ``configurations`` (then
        kept on the client). Raises :class:`ShopTimezoneUnknown` saying how to set it when neither is available."""
        if self.client.shop_timezone is not None:
            return self.client.shop_timezone
        try:
            rows = self.get_list("configurations", filters={"name": ["PS_TIMEZONE"]})
        except AuthError as exc:
            raise ShopTimezoneUnknown(
                f"The shop's time zone is unknown: reading PS_TIMEZONE was refused ({exc.message}). {TIMEZONE_HELP}"
            ) from None
        name = self._pick_configuration(rows)
        if not name:
            raise ShopTimezoneUnknown(f"The shop's time zone is unknown: no PS_TIMEZONE setting. {TIMEZONE_HELP}")
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ShopTimezoneUnknown(
                f"The shop's PS_TIMEZONE {name!r} is not a time zone this machine knows (tzdata). {TIMEZONE_HELP}"
            ) from None
        self.client.shop_timezone = zone
        return zone

    def _pick_configuration(self, rows: list[dict[str, Any]]) -> str | None:
        """This shop's value when a multistore shop overrides it, else the global one."""
        def scope(row: dict[str, Any]) -> int:
            shop = str(row.get("id_shop") or "0")
            if self.client.shop_id is not None and shop == str(self.client.shop_id):
                return 0
            return 1 if shop == "0" and str(row.get("id_shop_group") or "0") == "0" else 2

        for row in sorted(rows, key=scope):
            value = row.get("value")
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None

    def shop_now(self, resource: str = "orders") -> datetime:
        """The shop server's clock (aware UTC), from the HTTP ``Date`` header of one cheap call on ``resource``.

        The shop's clock, not this machine's, is what the shop stamps ``date_upd`` with: a window ending at the
        worker's "now" would end in the shop's past or future by the skew between the two.
        """
        seen: list[str] = []

        def capture(response: Any, *args: Any, **kwargs: Any) -> Any:
            if response.headers.get("Date"):
                seen.append(response.headers["Date"])
            return response

        hooks = self.client.session.hooks.setdefault("response", [])
        hooks.append(capture)
        try:
            self.get_list(resource, display=["id"], limit=1)
        finally:
            hooks.remove(capture)
        now = parse_http_date(seen[-1] if seen else None)
        if now is None:
            raise UnexpectedResponse(
                f"PrestaShop answered without a readable Date header, so the shop's clock is unknown; pass the end of "
                f"the window explicitly (until=…, or --until on the command line). Got: {seen[-1:]!r}"
            )
        return now

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
        """Records whose ``cursor`` lies in ``[since - overlap, until]``, each id once.

        Aware bounds are instants, converted to the shop's local time here; naive bounds are shop-local already.
        ``until`` should not be later than the shop's "now" (:meth:`shop_now`, or the data interval end): then a
        record updated while this runs gets a date after ``until`` and is returned by the next window. See the
        module doc for why the window is walked by id (``paging="keyset"``) rather than by offset.
        """
        window = self._window(resource, since, until, cursor, overlap, filters)
        if paging == "offset":
            yield from self._changed_by_offset(resource, cursor, window, display, filters)
            return
        for page in self._changed_pages(resource, cursor, window, display, filters, 0):
            yield from page.records

    def iter_changed_pages(
        self,
        resource: str,
        since: datetime | None,
        until: datetime,
        *,
        cursor: str = "date_upd",
        overlap: timedelta = timedelta(0),
        display: str | Sequence[str] | None = "full",
        filters: Mapping[str, object] | None = None,
        after_id: int = 0,
    ) -> Iterator[ChangedPage]:
        """The window of :meth:`iter_changed`, one id page (``id_page_size`` ids) at a time, from ``after_id`` on.

        Only one page of records is held at a time, so memory does not grow with the window. A record fetched after
        it changed may carry a ``cursor`` later than ``until``: it is returned as read (fresher data), and since its
        new date is after ``until`` the next window returns it again.
        """
        window = self._window(resource, since, until, cursor, overlap, filters)
        yield from self._changed_pages(resource, cursor, window, display, filters, after_id)

    def _window(
        self,
        resource: str,
        since: datetime | None,
        until: datetime,
        cursor: str,
        overlap: timedelta,
        filters: Mapping[str, object] | None,
    ) -> FilterValue:
        """``[low,high]`` in shop-local time for ``filter[cursor]``, after checking the resource can be read so."""
        known = DATE_COLUMNS.get(resource)
        if known is not None and cursor not in known:
            hint = (
                "use cursor='date_add'" if "date_add" in known
                else "read it in full (iter_all) or by parent ids (get_by_ids)"
            )
            raise ValueError(f"{resource} has no {cursor} column to read incrementally: {hint}")
        if cursor not in ("date_add", "date_upd"):
            raise ValueError(f"cursor must be date_add or date_upd, got {cursor!r}")
        if filters and ("id" in filters or cursor in filters):
            raise ValueError(f"iter_changed sets filter[id] and filter[{cursor}] itself")
        aware = until.tzinfo is not None
        if since is not None and (since.tzinfo is not None) != aware:
            raise ValueError("since and until must both be aware (instants) or both naive (shop-local times)")
        if aware:
            low_instant = (since - overlap) if since is not None else _EPOCH.replace(tzinfo=until.tzinfo)
            if low_instant > until:
                raise ValueError(f"empty window: since-overlap ({low_instant}) is after until ({until})")
            low, high = local_bounds(low_instant, until, self.shop_timezone())
            return between(low, high)
        low = (since - overlap) if since is not None else _EPOCH
        if low > until:
            raise ValueError(f"empty window: since-overlap ({low}) is after until ({until})")
        return between(low, until)

    def _changed_pages(
        self,
        resource: str,
        cursor: str,
        window: FilterValue,
        display: str | Sequence[str] | None,
        filters: Mapping[str, object] | None,
        after_id: int,
    ) -> Iterator[ChangedPage]:
        last = int(after_id)
        while True:
            ids = self._window_id_page(resource, cursor, window, filters, last)
            if not ids:
                return
            log.debug("PrestaShop %s: %d ids after %d in window %s", resource, len(ids), last, window)
            records = list(self._by_id_batches(resource, ids, "id", self.client.page_size, display, None))
            yield ChangedPage(records, ids[-1])
            if len(ids) < self.id_page_size:
                return
            last = ids[-1]

    def _window_id_page(
        self, resource: str, cursor: str, window: FilterValue, filters: Mapping[str, object] | None, after: int
    ) -> list[int]:
        """The next ``id_page_size`` ids in the window after ``after`` (keyset on id, ids only: one cheap call)."""
        rows = self.get_list(
            resource,
            display=["id"],
            filters={**(filters or {}), cursor: window, "id": greater_than(after)},
            sort=["id_ASC"],
            date=True,
            limit=self.id_page_size,
        )
        return sorted({i for i in (_row_id(r) for r in rows) if i > after})

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
