"""Writes back to the shop: order status, tracking numbers, stock, prices. Each write happens at most once.

The webservice never de-duplicates: posting the same ``order_histories`` twice adds a second history row and re-runs
its side effects (payments, invoices, e-mails). And a write can fail *ambiguously* (timeout, cut answer, 5xx): it
may have been applied. So every write here is a convergence loop:

1. read the target's current value (through the list endpoint, or the XML document for a PUT);
2. if it already has the wanted value, stop (returns False when nothing had to be written);
3. send the write once; on an ambiguous failure wait (backoff, ``Retry-After``), then go back to 1 - the write is
   re-sent only after reading that it did not land. Definite refusals (400, 401, 404...) raise at once.

The loop is bounded by the client's :class:`~prestaoracle.retry.RetryPolicy` (``attempts`` sends at most, within
its time budget) and then raises :class:`RetryBudgetExhausted`. Tracking/stock/price updates use PATCH (8.0+: only
the given fields change) or, with ``use_patch=False`` or on a 1.7 shop that refuses PATCH, PUT with the **full**
document read just before (PUT replaces the whole object; a partial PUT wipes the omitted fields). Even a full PUT
is not perfectly neutral: NULL columns come back as empty values and PrestaShop stores them as 0/'' (e.g.
``combinations.default_on`` NULL -> 0), the same value once normalised but a reason to prefer PATCH wherever the
shop supports it.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from prestaoracle import retry
from prestaoracle.retry import GaveUp

from .client import PrestaShopClient
from .errors import (
    InvalidValueError,
    PrestaShopError,
    RequestError,
    RetryBudgetExhausted,
    UnexpectedResponse,
)
from .reader import PrestaShopReader
from .xmlbody import build_document, entity_element, entity_fields, replace_fields

__all__ = ["TRACKING_NUMBER_MAX", "PrestaShopWriter", "validate_tracking_number"]

log = logging.getLogger("prestaoracle.prestashop")

# PrestaShop's Validate::isTrackingNumber (classes/Validate.php) and OrderCarrier's size (64).
_TRACKING = re.compile(r"[~:#,%&_=()\[\].? +\-@/a-zA-Z0-9]+")
TRACKING_NUMBER_MAX = 64
_INT32 = (-(2**31), 2**31 - 1)
# Fields a PUT must not send back (setter-less virtual fields: 400 code 93 "not writable").
_READ_ONLY = {"products": ("manufacturer_name", "quantity")}
_NODES = {"order_carriers": "order_carrier", "stock_availables": "stock_available", "products": "product",
          "combinations": "combination", "order_histories": "order_history"}


def validate_tracking_number(tracking: str) -> str:
    """Return ``tracking`` if PrestaShop would accept it, else raise :class:`InvalidValueError` saying why."""
    if not isinstance(tracking, str) or not tracking:
        raise InvalidValueError("tracking number is empty")
    if len(tracking) > TRACKING_NUMBER_MAX:
        raise InvalidValueError(
            f"tracking number {tracking!r} is {len(tracking)} characters long; PrestaShop allows {TRACKING_NUMBER_MAX}"
        )
    if not _TRACKING.fullmatch(tracking):
        bad = sorted({c for c in tracking if not _TRACKING.fullmatch(c)})
        raise InvalidValueError(
            f"tracking number {tracking!r} contains {''.join(bad)!r}: PrestaShop's isTrackingNumber only allows "
            "letters, digits, spaces and ~:#,%&_=()[].?+-@/ (it would answer 400 code 85)"
        )
    return tracking


def _decimal(value: object, what: str) -> Decimal:
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise InvalidValueError(f"{what} {value!r} is not a number") from None
    if not number.is_finite():
        raise InvalidValueError(f"{what} {value!r} is not a finite number")
    return number.quantize(Decimal("0.000001"))


def _same_decimal(current: object, wanted: Decimal) -> bool:
    try:
        return Decimal(str(current).strip()) == wanted
    except InvalidOperation:
        return False


def _same_int(current: object, wanted: int) -> bool:
    try:
        return int(str(current).strip()) == wanted
    except ValueError:
        return False


class PrestaShopWriter:
    """Write-side API over a :class:`PrestaShopClient`; every method returns whether it had to write."""

    def __init__(self, client: PrestaShopClient, reader: PrestaShopReader | None = None) -> None:
        self.client = client
        self.reader = reader or PrestaShopReader(client)
        self._state_ids: frozenset[int] | None = None
        self._patch_refused = False

    # -- order status --------------------------------------------------------------------------------------------

    def set_order_state(self, id_order: int, id_order_state: int, *, send_email: bool = False) -> bool:
        """Move order ``id_order`` to ``id_order_state`` with ``POST order_histories``, unless it is already there.

        Returns True when a history row was posted. ``send_email=True`` adds ``sendemail=1`` (the customer gets the
        state's e-mail if the state has one). The state id is checked against ``order_states`` first, because
        PrestaShop answers an unknown state with a bare 500 that looks like an outage.
        """
        id_order, state = int(id_order), int(id_order_state)
        if id_order < 1 or state < 1:
            raise InvalidValueError(f"order id and state id must be positive, got {id_order}, {state}")
        known = self._order_states()
        if state not in known:
            raise InvalidValueError(
                f"order state {state} does not exist in this shop (known: {', '.join(map(str, sorted(known)))})"
            )
        body = build_document("order_history", {"id_order": id_order, "id_order_state": state})
        params = {"sendemail": "1"} if send_email else None

        def read() -> Mapping[str, Any]:
            return self.reader.get_one("orders", id_order, display=["id", "current_state"])

        def send(_: Mapping[str, Any]) -> None:
            self.client.send_xml("POST", "order_histories", body, params, resource="order_histories")

        return self._converge(
            f"order {id_order} -> state {state}",
            read,
            lambda current: _same_int(current.get("current_state"), state),
            send,
        )

    def _order_states(self) -> frozenset[int]:
        if self._state_ids is None:
            rows = self.reader.get_list("order_states", display=["id"])
            self._state_ids = frozenset(int(r["id"]) for r in rows)
        return self._state_ids

    # -- field updates -------------------------------------------------------------------------------------------

    def set_tracking_number(
        self, id_order_carrier: int, tracking: str, *, use_patch: bool = True, send_email: bool = False
    ) -> bool:
        """Set ``order_carriers.tracking_number`` (validated locally against ``isTrackingNumber`` first).

        PATCH sends only id + tracking_number; PUT sends the full document read first (every other field kept).
        ``send_email=True`` asks PrestaShop for its "in transit" e-mail.
        """
        validate_tracking_number(tracking)
        return self._set_fields(
            "order_carriers", int(id_order_carrier), {"tracking_number": tracking},
            lambda cur: str(cur.get("tracking_number") or "") == tracking,
            use_patch=use_patch, params={"sendemail": "1"} if send_email else None,
        )

    def add_order_carrier(
        self,
        id_order: int,
        tracking: str,
        *,
        id_carrier: int,
        id_order_invoice: int | None = None,
        weight: Decimal | str | int = 0,
    ) -> tuple[int, bool]:
        """Add an ``order_carriers`` row to order ``id_order`` carrying ``tracking`` (a further parcel of a split
        shipment), unless the order already has a row with that tracking number.

        Returns ``(id_order_carrier, wrote)``. The shop never de-duplicates a POST, so the convergence loop reads the
        order's rows first and again after an ambiguous failure: the tracking number itself is the key. The new row
        carries no shipping cost (the order's first row already does) and no e-mail: PrestaShop sends the
        "in transit" mail on updates only.
        """
        validate_tracking_number(tracking)
        id_order, id_carrier = int(id_order), int(id_carrier)
        if id_order < 1 or id_carrier < 1:
            raise InvalidValueError(f"order id and carrier id must be positive, got {id_order}, {id_carrier}")
        body = build_document("order_carrier", {
            "id_order": id_order, "id_carrier": id_carrier, "id_order_invoice": id_order_invoice or 0,
            "weight": _decimal(weight, "weight"), "shipping_cost_tax_excl": 0, "shipping_cost_tax_incl": 0,
            "tracking_number": tracking,
        })
        found: list[int] = []

        def read() -> Mapping[str, Any]:
            rows = self.reader.get_list("order_carriers", display=["id", "tracking_number"],
                                        filters={"id_order": [id_order]})
            ids = sorted(int(r["id"]) for r in rows if str(r.get("tracking_number") or "") == tracking)
            return {"match": ids[0] if ids else None}

        def done(current: Mapping[str, Any]) -> bool:
            if current["match"] is None:
                return False
            found.append(int(current["match"]))
            return True

        def send(_: Mapping[str, Any]) -> None:
            answer = self.client.send_xml("POST", "order_carriers", body, resource="order_carriers")
            if answer is not None:
                new_id = entity_fields(entity_element(answer, "order_carrier")).get("id", "")
                if new_id.strip().isdigit():
                    found.append(int(new_id))

        wrote = self._converge(f"order {id_order} + order_carrier tracking={tracking}", read, done, send)
        if not found:  # the POST answered without an id we could read: the row is there, find it
            match = read()["match"]
            if match is None:
                raise UnexpectedResponse(f"order {id_order}: the order_carrier with tracking {tracking} was posted "
                                         "but cannot be read back", method="POST",
                                         url=self.client.url_for("order_carriers"))
            found.append(int(match))
        return found[-1], wrote

    def set_stock(self, id_stock_available: int, quantity: int, *, use_patch: bool = True) -> bool:
        """Set the absolute quantity of one ``stock_availables`` row (the only way the webservice writes stock).

        Write combination rows, not the product row of a product with combinations: PrestaShop recomputes that one
        as the sum of its combinations. A row that ``depends_on_stock`` is refused locally (PrestaShop: code 133).
        """
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise InvalidValueError(f"stock quantity must be an integer, got {quantity!r}")
        if not _INT32[0] <= quantity <= _INT32[1]:
            raise InvalidValueError(f"stock quantity {quantity} is outside PrestaShop's 32-bit range")

        def matches(cur: Mapping[str, Any]) -> bool:
            if str(cur.get("depends_on_stock") or "0").strip() not in ("0", ""):
                raise InvalidValueError(
                    f"stock_available {id_stock_available} depends on stock (advanced stock management); "
                    "PrestaShop refuses quantity writes on it (code 133)"
                )
            return _same_int(cur.get("quantity"), quantity)

        return self._set_fields("stock_availables", int(id_stock_available), {"quantity": quantity}, matches,
                                use_patch=use_patch)

    def set_product_price(self, id_product: int, price: Decimal | str | int, *, use_patch: bool = True) -> bool:
        """Set a product's base price (tax excluded, 6 decimals as PrestaShop stores it)."""
        wanted = _decimal(price, "price")
        if wanted < 0:
            raise InvalidValueError(f"product price must not be negative, got {wanted}")
        return self._set_fields("products", int(id_product), {"price": wanted},
                                lambda cur: _same_decimal(cur.get("price"), wanted), use_patch=use_patch)

    def set_combination_price_impact(
        self, id_combination: int, impact: Decimal | str | int, *, use_patch: bool = True
    ) -> bool:
        """Set a combination's price impact (added to the product price; may be negative)."""
        wanted = _decimal(impact, "price impact")
        return self._set_fields("combinations", int(id_combination), {"price": wanted},
                                lambda cur: _same_decimal(cur.get("price"), wanted), use_patch=use_patch)

    def _set_fields(
        self,
        resource: str,
        object_id: int,
        changes: Mapping[str, object],
        matches: Callable[[Mapping[str, Any]], bool],
        *,
        use_patch: bool,
        params: Mapping[str, str] | None = None,
    ) -> bool:
        node = _NODES[resource]
        label = f"{resource} {object_id} {', '.join(f'{k}={v}' for k, v in changes.items())}"
        if use_patch and not self._patch_refused:
            try:
                return self._converge(
                    label,
                    lambda: self.reader.get_one(resource, object_id),
                    matches,
                    lambda _: self._send(
                        "PATCH", resource, object_id, build_document(node, {"id": object_id, **changes}), params
                    ),
                )
            except RequestError as exc:
                if not (exc.status == 405 and 23 in exc.codes):
                    raise
                # PrestaShop 1.7: "Method PATCH is not valid". Nothing was written; use a full-document PUT.
                log.warning("PrestaShop refuses PATCH (1.7?); falling back to full-document PUT for %s", resource)
                self._patch_refused = True

        def read_document() -> Mapping[str, Any]:
            entity = entity_element(self.client.get_xml(f"{resource}/{object_id}", resource=resource), node)
            return {"__element__": entity, **entity_fields(entity)}

        def put(current: Mapping[str, Any]) -> None:
            entity: ET.Element = current["__element__"]
            body = replace_fields(entity, node, changes, drop=_READ_ONLY.get(resource, ()))
            self._send("PUT", resource, object_id, body, params)

        return self._converge(label, read_document, matches, put)

    def _send(
        self, method: str, resource: str, object_id: int, body: bytes, params: Mapping[str, str] | None
    ) -> None:
        self.client.send_xml(method, f"{resource}/{object_id}", body, params, resource=resource)

    # -- the convergence loop ------------------------------------------------------------------------------------

    def _converge(
        self,
        label: str,
        read: Callable[[], Mapping[str, Any]],
        done: Callable[[Mapping[str, Any]], bool],
        send: Callable[[Mapping[str, Any]], None],
    ) -> bool:
        """Read, compare, send once; after an ambiguous failure, read again before any re-send (module doc).

        Each try of the client's retry policy is one read and at most one send, so ``attempts`` bounds the sends
        and ``budget`` the whole loop.
        """
        sent = 0

        def landed(current: Mapping[str, Any]) -> bool:
            if sent:
                log.info("PrestaShop write %s: an earlier attempt did land", label)
            return sent > 0

        def attempt(remaining: float) -> bool:
            nonlocal sent
            current = read()
            if done(current):
                return landed(current)
            sent += 1
            send(current)
            log.info("PrestaShop write %s: done", label)
            return True

        def unknown(exc: BaseException, wait: float) -> None:
            log.warning("PrestaShop write %s: outcome unknown (%s); re-reading before any retry in %.2fs",
                        label, exc, wait)

        def give_up(gave_up: GaveUp) -> bool:
            current = read()  # the last send may have landed after all
            if done(current):
                return landed(current)
            last = gave_up.error
            assert isinstance(last, PrestaShopError)
            raise RetryBudgetExhausted(method=last.method or "write", url=last.url, attempts=sent,
                                       last_status=last.status, last_error=last.message, why=str(gave_up))

        return retry.call(self.client.retries, attempt, transient=self.client.is_transient, give_up=give_up,
                          label=f"PrestaShop write {label}", on_retry=unknown, sleep=self.client.sleep)
