"""Every entity the gate knows, by name, and the names the extraction uses for some of them."""

from __future__ import annotations

from .rules import Entity
from .suites_oracle import ENTITIES as ORACLE
from .suites_prestashop import ENTITIES as PRESTASHOP

ENTITIES: dict[str, Entity] = {e.name: e for e in (*PRESTASHOP, *ORACLE)}

ALIASES = {"stock_availables": "stock", "order_slip": "order_slips", "order_details": "orders"}
"""PrestaShop resource names the extraction uses → the gate's entity (``order_details`` are validated with their
order)."""


EXTRACTED: dict[tuple[str, str], tuple[str, ...]] = {
    ("prestashop", "orders"): ("customers", "addresses", "orders", "order_payments"),
}
"""What an extraction brings into canonical tables, when it is more than its own entity: the mapping writes the
order family (lines, carriers, histories, payments, customers, addresses) as one."""


def for_extracted(source: str, entity: str) -> tuple[str, ...]:
    """The gate entities to validate after ``source/entity`` was extracted and mapped, in a sensible order."""
    return EXTRACTED.get((source, entity), (get(entity).name,))


def get(name: str) -> Entity:
    """The entity called ``name`` (or by its PrestaShop resource name); a clear error for anything else."""
    entity = ENTITIES.get(ALIASES.get(name, name))
    if entity is None:
        raise KeyError(f"the quality gate has no suite for {name!r}; known entities: {', '.join(ENTITIES)}")
    return entity
