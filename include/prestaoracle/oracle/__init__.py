"""Oracle ERP clients: Fusion Cloud REST (:mod:`.fusion`); E-Business Suite lives in ``ebs`` (python-oracledb).

Import the Fusion client from here or from :mod:`prestaoracle.oracle.fusion`; filters come from
:mod:`prestaoracle.oracle.fusion_query` and errors from :mod:`prestaoracle.oracle.errors`.
"""

from prestaoracle.oracle.errors import ERROR_CLASSES, ErrorDetail, FusionError
from prestaoracle.oracle.fusion import (
    BasicAuth,
    BatchResult,
    CreateResult,
    FusionClient,
    OAuth2ClientCredentials,
    RetryPolicy,
    order_key,
)
from prestaoracle.oracle.fusion_query import Q, QueryError

__all__ = [
    "ERROR_CLASSES",
    "BasicAuth",
    "BatchResult",
    "CreateResult",
    "ErrorDetail",
    "FusionClient",
    "FusionError",
    "OAuth2ClientCredentials",
    "Q",
    "QueryError",
    "RetryPolicy",
    "order_key",
]
