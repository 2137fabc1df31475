"""POST, PUT, PATCH and DELETE as PrestaShop 8.1.2 applies them, side effects included.

Bodies are XML only (even for JSON output). PUT replaces the whole object, PATCH assigns only what it
carries, and the object saved is the one the body's ``<id>`` names, whatever the URL says. Responses echo
the in-memory object after save (values as sent), not a fresh read of the database. Every date a write sets is
the request's shop time (``stamp``: the shop clock's wall time in the shop's zone), as PHP's ``date()`` gives it.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from typing import Any
from xml.etree.ElementTree import Element

import sqlalchemy as sa
from defusedxml import ElementTree as SafeET

from prestaoracle.sandbox.prestashop import store
from prestaoracle.sandbox.prestashop.errors import PhpFatal, WSError
from prestaoracle.sandbox.prestashop.render import Record, wire
from prestaoracle.sandbox.prestashop.schema import DECIMALS, Field, Resource

TRACKING_RE = re.compile(r"^[~:#,%&_=()\[\].? +\-@/a-zA-Z0-9]+$")
NOT_WRITABLE = {("products", "manufacturer_name"), ("products", "quantity")}
PAYMENT_MODULE_NAMES = {"ps_checkpayment": "Payments by check", "ps_wirepayment": "Bank wire"}
WARNING_SUFFIX = " (/var/www/html/classes/webservice/WebserviceRequest.php, line 1544)"


def parse_body(body: bytes) -> list[tuple[str, dict[str, str]]]:
    """The entities of a write body as (node name, {field: text}); malformed XML answers like libxml does."""
    text = body.decode("utf-8", errors="replace")
    if text.startswith("xml="):
        text = text[4:]
    try:
        root = SafeET.fromstring(text.encode("utf-8"))
    except SafeET.ParseError:
        raise _xml_error(text) from None
    except Exception as exc:  # defusedxml refuses entities and DTDs outright
        raise WSError(500, (127, f"XML error : {exc}\nXML length : {len(text)}\nOriginal XML : {text}")) from None
    return [(child.tag, _fields_of(child)) for child in root]


def _fields_of(node: Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for child in node:
        if child.tag == "associations":
            continue
        languages = child.findall("language")
        out[child.tag] = (languages[0].text or "") if languages else (child.text or "")
    return out


def _xml_error(text: str) -> WSError:
    """libxml's three warning lines (message, source line, caret) and error 127, as SimpleXML reports them."""
    parser = xml.parsers.expat.ParserCreate()
    stack: list[tuple[str, int]] = []
    parser.StartElementHandler = lambda name, _a: stack.append((name, parser.CurrentLineNumber))
    parser.EndElementHandler = lambda _n: stack.pop()
    line_no, col = 1, len(text)
    try:
        parser.Parse(text, True)
        message = "Start tag expected, '<' not found"
    except xml.parsers.expat.ExpatError as exc:
        line_no, col = exc.lineno, exc.offset
        if exc.code == xml.parsers.expat.errors.codes[xml.parsers.expat.errors.XML_ERROR_NO_ELEMENTS] and stack:
            message = f"Premature end of data in tag {stack[-1][0]} line {stack[-1][1]}"
            col = len(text.splitlines()[-1]) if text.splitlines() else 0
            line_no = max(1, len(text.splitlines()))
        else:
            message = xml.parsers.expat.errors.messages.get(exc.code, str(exc))
    lines = text.splitlines() or [""]
    source = lines[min(line_no, len(lines)) - 1]
    warn = "[PHP Warning #2] SimpleXMLElement::__construct(): "
    return WSError(
        500,
        (3, f"{warn}Entity: line {line_no}: parser error : {message}{WARNING_SUFFIX}"),
        (3, f"{warn}{source}{WARNING_SUFFIX}"),
        (3, f"{warn}{' ' * col}^{WARNING_SUFFIX}"),
        (127, f"XML error : String could not be parsed as XML\nXML length : {len(text)}\nOriginal XML : {text}"),
    )


def _validation(res: Resource, name: str, problem: str) -> WSError:
    return WSError(400, (85, f'Validation error: "Property {res.php_class}-&gt;{name} {problem}"'))


def _coerce(res: Resource, f: Field, text: str) -> Any:
    """A posted text as the store keeps it; invalid numbers are validation errors as in ObjectModel."""
    kind = f.base_kind
    if kind in ("i", "b"):
        if text == "":
            return 0
        if not re.fullmatch(r"-?\d+", text.strip()):
            raise _validation(res, f.name, "is not valid")
        return int(text)
    if kind in DECIMALS:
        if text == "":
            return 0.0
        try:
            return float(text)
        except ValueError:
            raise _validation(res, f.name, "is not valid") from None
    return text


def _check_fields(res: Resource, sent: dict[str, str]) -> None:
    for name in sent:
        if name not in res.field_map:
            raise WSError(400, (123, f'The field "{name}" does not exist in the resource {res.name}'))
        if (res.name, name) in NOT_WRITABLE:
            raise WSError(400, (93, f'parameter "{name}" not writable. Please remove this attribute of this XML'))


def _validate_required(res: Resource, sent: dict[str, str], partial: bool = False) -> None:
    """Required means not blank (Validate::isEmpty: '' or NULL); 0 is a value. PATCH checks what it carries."""
    for name in res.required:
        if partial and name not in sent:
            continue
        if sent.get(name, "").strip() == "":
            raise _validation(res, name, "is empty.")


class Writer:
    """Applies one write request inside a transaction and returns the echoed records."""

    def __init__(self, conn: sa.Connection, res: Resource, stamp: str) -> None:
        self.conn = conn
        self.res = res
        self.table = store.TABLES[res.name]
        self.stamp = stamp

    def post(self, entities: list[tuple[str, dict[str, str]]]) -> list[Record]:
        if self.res.name == "orders":
            raise WSError(
                400,
                (85, 'Validation error: "Property Order-&gt;id_cart is not valid": the sandbox does not create '
                     "orders from carts (PrestaShop builds them through a payment module)"),
            )
        out = []
        for _node, sent in self._entities(entities):
            if sent.get("id", "").strip():
                raise WSError(400, (91, "id is forbidden when adding a new resource"))
            sent.pop("id", None)
            _check_fields(self.res, sent)
            _validate_required(self.res, sent)
            values = {f.name: _coerce(self.res, f, sent.get(f.name, "")) for f in self.res.fields if f.name != "id"}
            for d in self.res.has_dates:
                values[d] = self.stamp
            self._validate_fields(values)
            if self.res.name == "order_histories":
                self._change_order_state(values)
            new_id = store.insert(self.conn, self.res.name, values)
            echo = self._echo(sent, values, new_id)
            if self.res.name == "order_histories":
                echo = [(f, int(values["id_order_state"]) if f.name == "id_order_state" else v) for f, v in echo]
            out.append(Record(self.res, echo))
        return out

    def update(self, entities: list[tuple[str, dict[str, str]]], patch: bool) -> list[Record]:
        seen: set[str] = set()
        out = []
        for _node, sent in self._entities(entities):
            raw_id = sent.get("id", "").strip()
            if not raw_id:
                raise WSError(400, (90, "id is required when modifying a resource"))
            if raw_id in seen:
                raise WSError(400, (89, "id is duplicate in request"))
            seen.add(raw_id)
            _check_fields(self.res, sent)
            row = self.conn.execute(sa.select(self.table).where(self.table.c.id == int(raw_id))).first()
            if row is None:
                raise WSError(404, (92, "Invalid ID"))
            current = dict(row._mapping)
            values: dict[str, Any] = {}
            for f in self.res.fields:
                if f.name == "id" or f.virtual:
                    continue
                if f.name in sent:
                    values[f.name] = _coerce(self.res, f, sent[f.name])
                elif patch:
                    values[f.name] = current[f.name]
                elif f.name in self.res.required:
                    raise WSError(400, (41, f'parameter "{f.name}" required'))
                else:
                    # PUT replaces: an omitted optional field is saved as NULL, which MySQL stores as 0 or ''.
                    values[f.name] = _coerce(self.res, f, "")
            if "date_upd" in self.res.field_map:
                values["date_upd"] = self.stamp
            if "date_add" in self.res.field_map and not values.get("date_add"):
                values["date_add"] = self.stamp
            _validate_required(self.res, sent, partial=True)
            self._before_update(values)
            self.conn.execute(self.table.update().where(self.table.c.id == int(raw_id)).values(**values))
            self._after_update(values)
            out.append(Record(self.res, self._echo(sent, values, int(raw_id), loaded=current if patch else None)))
        return out

    def delete(self, ids: list[int]) -> None:
        found = {r.id for r in store.rows_by(self.conn, self.res.name, "id", ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise WSError(404, (87, f"Id(s) not exists: {', '.join(map(str, missing))}"))
        self.conn.execute(self.table.delete().where(self.table.c.id.in_(ids)))

    def _entities(self, entities: list[tuple[str, dict[str, str]]]) -> list[tuple[str, dict[str, str]]]:
        chosen = [(n, dict(s)) for n, s in entities if n == self.res.item_node]
        if not chosen:
            raise WSError(400, (41, f'parameter "{self.res.item_node}" required'))
        return chosen

    def _echo(self, sent: dict[str, str], values: dict[str, Any], new_id: int,
              loaded: dict[str, Any] | None = None) -> list[tuple[Field, Any]]:
        """Fields as the in-memory object holds them: what was sent stays a string, the rest as loaded."""
        echo: list[tuple[Field, Any]] = []
        for f in self.res.fields:
            if f.name == "id":
                echo.append((f, str(new_id)))
            elif f.name in ("date_add", "date_upd") and values.get(f.name):
                echo.append((f, values[f.name]))
            elif f.name in sent:
                echo.append((f, sent[f.name]))
            elif loaded is not None and f.name in loaded:
                echo.append((f, wire(f, loaded[f.name])))
            else:
                echo.append((f, ""))
        return echo

    def _change_order_state(self, values: dict[str, Any]) -> None:
        """OrderHistory::changeIdOrderState: the order's state, validity, invoice, delivery slip and payment."""
        orders = store.TABLES["orders"]
        order = self.conn.execute(sa.select(orders).where(orders.c.id == values["id_order"])).first()
        states = store.TABLES["order_states"]
        state = self.conn.execute(sa.select(states).where(states.c.id == values["id_order_state"])).first()
        if order is None or state is None:
            raise PhpFatal("Invalid new order status")
        stamp = values["date_add"]
        upd: dict[str, Any] = {"current_state": state.id, "valid": state.logable, "date_upd": stamp}
        if state.invoice and not order.invoice_number:
            number = (self.conn.execute(sa.select(sa.func.max(orders.c.invoice_number))).scalar() or 0) + 1
            upd.update(invoice_number=number, invoice_date=stamp)
            carriers = store.TABLES["order_carriers"]
            self.conn.execute(carriers.update().where(carriers.c.id_order == order.id).values(id_order_invoice=number))
        if state.delivery and not order.delivery_number:
            number = (self.conn.execute(sa.select(sa.func.max(orders.c.delivery_number))).scalar() or 0) + 1
            upd.update(delivery_number=number, delivery_date=stamp)
        due = round((order.total_paid_tax_incl or 0) - (order.total_paid_real or 0), 6)
        if state.paid and due > 0:
            store.insert(self.conn, "order_payments", dict(
                order_reference=order.reference, id_currency=order.id_currency, amount=due,
                payment_method=PAYMENT_MODULE_NAMES.get(order.module, order.payment),
                conversion_rate=order.conversion_rate, transaction_id="", card_number="", card_brand="",
                card_expiration="", card_holder="", date_add=stamp, id_employee=None,
            ))
            upd["total_paid_real"] = (order.total_paid_real or 0) + due
        self.conn.execute(orders.update().where(orders.c.id == order.id).values(**upd))

    def _validate_fields(self, values: dict[str, Any]) -> None:
        """ObjectModel::validateFields, which the webservice runs before add() and update() alike: the first
        invalid field answers 400 code 85 and nothing is saved."""
        if self.res.name == "order_carriers":
            tracking = values.get("tracking_number") or ""
            if tracking and not TRACKING_RE.match(tracking):
                raise _validation(self.res, "tracking_number", "is not valid")

    def _before_update(self, values: dict[str, Any]) -> None:
        self._validate_fields(values)
        if self.res.name == "stock_availables" and values.get("depends_on_stock"):
            raise WSError(
                500,
                (133, "You cannot update the available stock when it depends on stock."),
                (46, "Unable to save resource"),
            )

    def _after_update(self, values: dict[str, Any]) -> None:
        """A combination's stock row re-sums its product's row, as StockAvailable::postSave does."""
        if self.res.name != "stock_availables" or not values.get("id_product_attribute"):
            return
        t = self.table
        pid, shop = values["id_product"], values.get("id_shop")
        total = self.conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(t.c.quantity), 0)).where(
                t.c.id_product == pid, t.c.id_product_attribute != 0, t.c.id_shop == shop
            )
        ).scalar()
        self.conn.execute(
            t.update().where(t.c.id_product == pid, t.c.id_product_attribute == 0, t.c.id_shop == shop)
            .values(quantity=total)
        )

