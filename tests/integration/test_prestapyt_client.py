"""An independent, widely used client (PyPI ``prestapyt`` 0.11.1, XML only) works against the demo sandbox.

The contract tests replay recorded requests; this checks the emulator also serves the requests a third-party
client builds itself (its own URLs, its ``text/xml`` PUT bodies without the xlink namespace, PUT on the collection
URL with the id in the body) and that the values it reads are the demo shop's.

prestapyt appends ``/api/`` to the URL it is given unless it already ends so, sends the key as Basic user with an
empty password, and warns (UserWarning) because PSWS-Version 8.1.2 is above the newest version it knows (1.7.8).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import free_port
from prestapyt import PrestaShopAuthenticationError, PrestaShopWebServiceDict, PrestaShopWebServiceError
from support.sandbox import run_sandbox

pytestmark = [
    # One worker and sandbox for the module when xdist grouping works; the tests do not depend on it (the only
    # write restores what it changed).
    pytest.mark.xdist_group("ps_prestapyt"),
    pytest.mark.filterwarnings("ignore:This library may not be compatible with this version of PrestaShop"),
]

WS_KEY = "PSPRESTAPYTTESTKEY00000000000001"
assert len(WS_KEY) == 32


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    port = free_port()
    with run_sandbox(
        "--only", "prestashop", "--prestashop-port", str(port), "--dataset", "demo", "--ws-key", WS_KEY
    ) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> PrestaShopWebServiceDict:
    return PrestaShopWebServiceDict(base_url + "/api", WS_KEY)


def test_client_builds_the_api_url(client: PrestaShopWebServiceDict, base_url: str) -> None:
    """prestapyt's own URL handling lands on the sandbox's /api/ (``base + "/api"`` gets a trailing slash only)."""
    assert client._api_url == base_url + "/api/"
    headers = client.head("orders")
    assert headers["PSWS-Version"] == "8.1.2"
    assert headers["Content-Type"] == "text/xml;charset=utf-8"


def test_search_orders(client: PrestaShopWebServiceDict) -> None:
    # Sorted: a list without sort has no guaranteed order (docs/sandbox-differences.md).
    assert sorted(client.search("orders")) == [1, 2, 3, 4, 5]
    assert client.search("orders", options={"filter[reference]": "[XKBKNABJK]"}) == [1]
    assert client.search("orders", options={"filter[id]": "[999999]"}) == []


def test_get_order_1(client: PrestaShopWebServiceDict) -> None:
    order = client.get("orders", 1)["order"]
    assert order["id"] == "1"
    assert order["reference"] == "XKBKNABJK"
    assert order["id_customer"] == "2"  # xlink:href is dropped by prestapyt, the value stays
    assert order["current_state"] == "6"
    assert order["payment"] == "Payment by check"
    assert order["total_paid_tax_incl"] == "68.200000"
    assert order["invoice_date"] == "0000-00-00 00:00:00"
    assert order["shipping_number"] == {"attrs": {"notFilterable": "true"}, "value": ""}
    rows = order["associations"]["order_rows"]
    assert rows["attrs"] == {"nodeType": "order_row", "virtualEntity": "true"}
    assert [row["product_name"] for row in rows["order_row"]] == [
        "Hummingbird printed t-shirt - Color : White, Size : S",
        "Hummingbird printed sweater - Color : White, Size : S",
    ]


def test_customers(client: PrestaShopWebServiceDict) -> None:
    assert sorted(client.search("customers")) == [1, 2]
    customer = client.get("customers", 2)["customer"]
    assert (customer["email"], customer["firstname"], customer["lastname"]) == ("pub@prestashop.com", "John", "DOE")
    assert customer["birthday"] == "1970-01-15"
    assert customer["associations"]["groups"]["group"]["id"] == "3"


def test_stock_availables(client: PrestaShopWebServiceDict) -> None:
    assert len(client.search("stock_availables")) == 58
    stock = client.get("stock_availables", 1)["stock_available"]
    assert (stock["id_product"], stock["id_product_attribute"], stock["quantity"]) == ("1", "0", "2400")
    listed = client.get("stock_availables", options={"filter[id]": "[1|2]", "display": "[id,quantity]"})
    rows = sorted(listed["stock_availables"]["stock_available"], key=lambda row: int(row["id"]))
    assert [(row["id"], row["quantity"]) for row in rows] == [("1", "2400"), ("2", "2100")]


def test_edit_stock_available_quantity(client: PrestaShopWebServiceDict) -> None:
    """partial_edit = GET, merge, PUT of the whole object on the collection URL (id in the body); then read back."""
    before = client.get("stock_availables", 1)["stock_available"]["quantity"]
    assert before == "2400"
    try:
        answer = client.partial_edit("stock_availables", 1, {"stock_available": {"quantity": "2399"}})
        assert answer["prestashop"]["stock_available"]["quantity"] == "2399"
        assert client.get("stock_availables", 1)["stock_available"]["quantity"] == "2399"
        # The other stock rows are untouched.
        assert client.get("stock_availables", 2)["stock_available"]["quantity"] == "2100"
    finally:
        # Restore only if needed, so a failing PUT is reported as itself, not as a failing restore.
        if client.get("stock_availables", 1)["stock_available"]["quantity"] != before:
            client.partial_edit("stock_availables", 1, {"stock_available": {"quantity": before}})
    assert client.get("stock_availables", 1)["stock_available"]["quantity"] == before


def test_errors_as_prestapyt_sees_them(client: PrestaShopWebServiceDict, base_url: str) -> None:
    """Unknown id: 404 with an empty body, as the real shop; wrong key: 401."""
    with pytest.raises(PrestaShopWebServiceError) as unknown:
        client.get("orders", 999999)
    assert unknown.value.msg == "HTTP response is empty"
    with pytest.raises(PrestaShopAuthenticationError):
        PrestaShopWebServiceDict(base_url + "/api", "WRONGKEYWRONGKEYWRONGKEYWRONGKEY").get("orders")
