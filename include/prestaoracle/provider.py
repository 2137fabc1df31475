"""Airflow provider metadata: registers the ``prestashop`` and ``oraclefusion`` connection types and their forms.

Airflow 3.3's UI reads only this declarative metadata (``conn-fields``, ``ui-field-behaviour``), never hook methods.
"""

from __future__ import annotations

from typing import Any

from prestaoracle import __version__

# A connection type is a URI scheme: Airflow warns about "_" (RFC 3986 allows only letters, digits, "+", "-", ".")
# and turns "-" back into "_" whenever it parses a connection from JSON or a URI, so "oracle-fusion" would come back
# as "oracle_fusion". Letters only survive every path unchanged. The connection id stays oracle_fusion_default.
ORACLE_FUSION_CONN_TYPE = "oraclefusion"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "prestaoracle",
        "name": "PrestaShop ⇄ Oracle ERP",
        "description": "Hooks and connection types for the PrestaShop webservice and Oracle Fusion Cloud REST.",
        "versions": [__version__],
        "connection-types": [
            {
                "connection-type": "prestashop",
                "hook-class-name": "prestaoracle.hooks.prestashop.PrestaShopHook",
                "hook-name": "PrestaShop Webservice",
                "conn-fields": {
                    "shop_id": {"label": "Shop id (multistore)", "schema": {"type": ["integer", "null"]}},
                    "timeout": {"label": "Timeout (s)", "schema": {"type": ["number", "null"], "default": 30}},
                    "page_size": {"label": "Page size", "schema": {"type": ["integer", "null"], "default": 100}},
                    "shop_timezone": {"label": "Shop time zone", "description": "The shop's PS_TIMEZONE, e.g. "
                                      "Europe/Paris; empty: read from the shop's configurations",
                                      "schema": {"type": ["string", "null"]}},
                    "overlap_minutes": {"label": "Extraction overlap (minutes)",
                                        "schema": {"type": ["number", "null"], "default": 5, "minimum": 0}},
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "login", "port"],
                    "relabeling": {"host": "Shop base URL", "password": "Webservice key"},
                    "placeholders": {"host": "https://shop.example.com"},
                },
            },
            {
                "connection-type": ORACLE_FUSION_CONN_TYPE,
                "hook-class-name": "prestaoracle.hooks.fusion.OracleFusionHook",
                "hook-name": "Oracle Fusion Cloud (REST)",
                "conn-fields": {
                    "auth": {"label": "Authentication", "schema": {"type": ["string", "null"],
                                                                   "enum": ["oauth2", "basic"], "default": "oauth2"}},
                    "token_url": {"label": "Token URL (OAuth2)", "schema": {"type": ["string", "null"]}},
                    "scope": {"label": "Scope (OAuth2)", "schema": {"type": ["string", "null"]}},
                    "timeout": {"label": "Timeout (s)", "schema": {"type": ["number", "null"], "default": 60}},
                    "overlap_minutes": {"label": "Extraction overlap (minutes)",
                                        "schema": {"type": ["number", "null"], "default": 30, "minimum": 0}},
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"host": "Pod base URL", "login": "Client id / user",
                                   "password": "Client secret / password"},
                    "placeholders": {"host": "https://abcd.fa.us2.oraclecloud.com"},
                },
            },
        ],
    }
