"""Stand-in for Oracle E-Business Suite (R12) at the database level, on SQLite or PostgreSQL.

The product's EBS path writes the Order Import interface tables and reads orders, on-hand, prices, shipments and
receivables with SQL; no Oracle database can run in tests, so this package provides the same tables
(``schema``), the programs that change them (``run_order_import``, ``advance``) and realistic data (``seed``).
What it assumes where EBS behaviour is uncertain is listed in ``contract``.
"""

from prestaoracle.sandbox.ebs.order_import import (
    FailedOrder,
    ImportedOrder,
    ImportMessage,
    ImportResult,
    run_order_import,
)
from prestaoracle.sandbox.ebs.schema import create_schema
from prestaoracle.sandbox.ebs.seed import CustomerSeed, SeedReport, seed
from prestaoracle.sandbox.ebs.shipping import AdvanceResult, advance, tracking_number

__all__ = [
    "AdvanceResult",
    "CustomerSeed",
    "FailedOrder",
    "ImportMessage",
    "ImportResult",
    "ImportedOrder",
    "SeedReport",
    "advance",
    "create_schema",
    "run_order_import",
    "seed",
    "tracking_number",
]
