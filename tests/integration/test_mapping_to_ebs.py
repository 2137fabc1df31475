"""Mapped orders go into the EBS Order Import interface: a generated shop is landed and mapped into staging, the
EBS stand-in is seeded from the same shop, customers are bound to the EBS accounts that carry their shop id, and
the ``ebs_order`` payloads (as ``EbsOrder``) are inserted with the product's EBS client.

EBS may refuse an order for what its seed made different on purpose (an item it does not have); it must never
refuse one as malformed (``invalid_data``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from support.ebs import seeded_ebs

from prestaoracle.mapping import MappingContext, MappingMissing, binder, map_landed, map_record
from prestaoracle.mapping.documents import order_documents, to_ebs_order
from prestaoracle.oracle.ebs import EbsClient
from prestaoracle.sandbox.prestashop.generate import generate_shop
from prestaoracle.staging import connect

FAMILY = ("orders", "order_details", "order_carriers", "order_histories", "order_payments", "customers",
          "addresses", "currencies", "countries")


def test_mapped_orders_are_inserted_into_the_ebs_interface(tmp_path: Path) -> None:
    shop = generate_shop(120, 11, datetime(2026, 9, 1), datetime(2026, 9, 30, 23, 59, 59)).rows
    staging = connect(tmp_path / "staging.db", upgrade=True)
    for entity in FAMILY:
        staging.land("prestashop", entity, shop[entity], run_id="run-1")
    assert map_landed(staging, "prestashop", "orders", run_id="run-1", context=MappingContext.from_config()).failed == 0

    with seeded_ebs("sqlite", shop, tmp_path, "mapping_to_ebs") as (engine, _report):
        ebs = EbsClient(engine)
        accounts = ebs.customers(active_only=True)
        with staging.transaction() as tx:
            bound = 0
            for account in accounts:
                ref = account.orig_system_reference or ""
                if ref.startswith("PRESTASHOP-"):
                    binder.bind(tx.conn, "ebs_customer", ref.removeprefix("PRESTASHOP-"), account.cust_account_id)
                    bound += 1
        assert bound > 10
        with staging.engine.connect() as conn:
            context = MappingContext.from_config().with_staging(conn)
            documents = order_documents(conn, range(1, 121))
        orders, unbound = [], 0
        for doc in documents.values():
            try:
                orders.append(to_ebs_order(map_record("ebs_order", doc, context)))
            except MappingMissing as exc:
                assert exc.field == "sold_to_org_id" and "--bind ebs_customer" in exc.how_to_fix
                unbound += 1
        assert orders and unbound
        result = ebs.interface_orders(orders)
        assert len(result.inserted) >= 0.8 * len(orders), result.rejected[:3]
        for rejection in result.rejected:
            assert rejection.reason in ("mapping_missing", "business_rule"), rejection
        # Exactly once: the same orders again insert nothing.
        again = ebs.interface_orders(orders)
        assert again.inserted == [] and sorted(again.already_pending) == sorted(result.inserted)
    staging.dispose()


def test_an_unbound_customer_without_a_catch_all_account_is_mapping_missing() -> None:
    doc = {"id_order": 5, "id_customer": 9, "currency_iso": "EUR", "reference": "R", "lines": [],
           "delivery_address": {"country_iso": "FR"}, "date_add": None, "module": "x", "id_carrier": 1}
    with pytest.raises(MappingMissing) as caught:
        map_record("ebs_order", doc, MappingContext.from_config())
    assert caught.value.field == "sold_to_org_id"
    ctx = MappingContext.from_config().with_lookups({"ebs_webshop_account": {"FR:EUR": "1290"}})
    assert map_record("ebs_order", doc, ctx)["sold_to_org_id"] == 1290
