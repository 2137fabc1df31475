"""A generated shop staged the way the product stages it: landed as the webservice serves it, then mapped into
the canonical tables by the mapping engine, every row ``pending`` for the quality gate.

The bad rows reach the canonical tables as the shop has them (the mapping reports none of them): the gate's tests
then check that it finds exactly what the generator injected.
"""

from __future__ import annotations

from prestaoracle.mapping import MappingContext, map_landed
from prestaoracle.staging import Staging

LANDED = ("currencies", "countries", "orders", "order_details", "order_payments", "order_carriers",
          "order_histories", "customers", "addresses", "products", "combinations", "stock_availables", "order_slip")
MAPPED = ("orders", "customers", "addresses", "products", "combinations", "stock_availables", "order_slip")


def stage(staging: Staging, rows: dict[str, list[dict]], *, run_id: str = "test-stage") -> None:
    """Land the generated shop's records and map them (the order family brings lines, payments, customers and
    addresses along)."""
    for entity in LANDED:
        staging.land("prestashop", entity, rows[entity], run_id=run_id)
    context = MappingContext.from_config()
    for entity in MAPPED:
        result = map_landed(staging, "prestashop", entity, run_id=run_id, context=context)
        assert not result.dead_lettered, f"the mapping refused generated {entity}: {result.dead_lettered}"
