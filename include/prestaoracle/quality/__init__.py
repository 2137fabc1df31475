"""The data quality gate: Great Expectations suites per canonical entity, built in code at run time.

``validate_entity(staging_db, entity, run_id=…, report_dir=…)`` validates the entity's pending rows (the batch in
hand, with pandas) and the rules that need whole tables (in the staging database), marks each row ``passed`` or
``quarantined``, writes one ``validate`` dead letter per failing record, updates Data Docs and writes an HTML and
JSON report. See docs/quality.md.

Modules: ``rules`` (the vocabulary), ``suites_prestashop`` / ``suites_oracle`` (the rules per entity),
``entities`` (the registry), ``frames`` (the batch as DataFrames and derived columns), ``gx_project`` (context,
assets, suites, checkpoints), ``outcomes`` (per-record verdicts into staging), ``report`` (HTML and JSON),
``runner`` (``validate_entity``). Importing this package does not import GX or pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runner import QualityResult, release, validate_entity

__all__ = ["ENTITY_NAMES", "QualityResult", "release", "validate_entity"]

ENTITY_NAMES = ("orders", "customers", "addresses", "products", "combinations", "stock", "order_slips",
                "order_payments", "onhand", "prices", "accounts", "sales_orders", "shipment_lines", "invoices",
                "receipts")


def __getattr__(name: str) -> Any:
    if name in ("validate_entity", "QualityResult", "release"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(name)
