"""The operator's order-to-cash settings: target, gates, customer mode, state map, alert addresses.

Read from ``PRESTAORACLE_ORDER_CONFIG`` (YAML), else the packaged ``config.default.yaml``; a few values can be set
from the environment so one deployment file serves every Airflow component (``PRESTAORACLE_ORACLE_TARGET``,
``PRESTAORACLE_ONCALL_EMAIL``, ``PRESTAORACLE_BUSINESS_EMAIL``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from prestaoracle.settings import ConfigError

__all__ = ["DEFAULT_PATH", "Alerts", "ConfigError", "Customers", "EbsSettings", "FusionSettings", "Gates",
           "OrderFlowConfig", "StatusSettings", "load_config"]

DEFAULT_PATH = Path(__file__).with_name("config.default.yaml")
TARGETS = ("fusion", "ebs")
PAYMENT_RULES = ("paid", "authorized", "never")
CUSTOMER_MODES = ("match", "create", "webshop")


@dataclass(frozen=True)
class Gates:
    payment: str = "paid"
    paid_states: frozenset[int] = frozenset({2, 3, 4, 5, 9, 11})
    authorized_states: frozenset[int] = frozenset({13})
    cancel_unpaid_after_days: int | None = 14
    importable_states: frozenset[int] = frozenset({2, 3, 4, 5, 9, 10, 11, 12, 13})
    cancel_states: frozenset[int] = frozenset({6})
    refund_states: frozenset[int] = frozenset({7})


@dataclass(frozen=True)
class Customers:
    mode: str = "match"


@dataclass(frozen=True)
class FusionSettings:
    batch_size: int = 25


@dataclass(frozen=True)
class EbsSettings:
    order_source_id: int = 1001
    org_id: int = 204
    ship_from_org: str = "M1"


@dataclass(frozen=True)
class StatusSettings:
    state_map: Mapping[str, int] = field(default_factory=dict)
    notify_customer: bool = False


@dataclass(frozen=True)
class Alerts:
    on_call: tuple[str, ...] = ()
    business: tuple[str, ...] = ()
    smtp_conn_id: str = "smtp_default"


@dataclass(frozen=True)
class OrderFlowConfig:
    oracle_target: str = "fusion"
    shop_id: int = 1
    gates: Gates = Gates()
    customers: Customers = Customers()
    fusion: FusionSettings = FusionSettings()
    ebs: EbsSettings = EbsSettings()
    status: StatusSettings = StatusSettings()
    alerts: Alerts = Alerts()
    source: str = str(DEFAULT_PATH)

    @property
    def ledger_target(self) -> str:
        from prestaoracle.flows.orders.types import EBS_TARGET, FUSION_TARGET

        return FUSION_TARGET if self.oracle_target == "fusion" else EBS_TARGET

    def with_target(self, target: str | None) -> OrderFlowConfig:
        """The same settings for another target (a DAG param or ``--param oracle_target=ebs``)."""
        if not target:
            return self
        return replace(self, oracle_target=_choice("oracle_target", target, TARGETS, self.source))


def _choice(key: str, value: Any, allowed: tuple[str, ...], source: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{source}: {key} is {value!r}; write one of {', '.join(allowed)}")
    return str(value)


def _states(key: str, value: Any, source: str) -> frozenset[int]:
    try:
        return frozenset(int(v) for v in value or ())
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: {key} must be a list of PrestaShop order state ids (numbers), got "
                          f"{value!r}") from None


def _emails(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").split(",")]
    return tuple(str(v).strip() for v in value or () if str(v).strip())


def _section(raw: Mapping[str, Any], name: str, source: str) -> Mapping[str, Any]:
    value = raw.get(name) or {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}: {name} must be a mapping of settings, got {type(value).__name__}")
    return value


def load_config(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> OrderFlowConfig:
    """The configuration at ``path`` (default: ``PRESTAORACLE_ORDER_CONFIG`` or the packaged defaults)."""
    env = os.environ if environ is None else environ
    path = Path(path or env.get("PRESTAORACLE_ORDER_CONFIG") or DEFAULT_PATH)
    source = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"order-to-cash configuration {source} does not exist: fix PRESTAORACLE_ORDER_CONFIG or "
                          "--config") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping of settings")
    g, c, f, e, s, a = (_section(raw, n, source) for n in ("gates", "customers", "fusion", "ebs", "status", "alerts"))
    cancel_after = g.get("cancel_unpaid_after_days", Gates.cancel_unpaid_after_days)
    gates = Gates(
        payment=_choice("gates.payment", g.get("payment", Gates.payment), PAYMENT_RULES, source),
        paid_states=_states("gates.paid_states", g.get("paid_states", Gates.paid_states), source),
        authorized_states=_states("gates.authorized_states", g.get("authorized_states", Gates.authorized_states),
                                  source),
        cancel_unpaid_after_days=None if cancel_after in (None, "", 0) else int(cancel_after),
        importable_states=_states("gates.importable_states", g.get("importable_states", Gates.importable_states),
                                  source),
        cancel_states=_states("gates.cancel_states", g.get("cancel_states", Gates.cancel_states), source),
        refund_states=_states("gates.refund_states", g.get("refund_states", Gates.refund_states), source),
    )
    state_map = s.get("state_map") or {}
    try:
        state_map = {str(k).upper(): int(v) for k, v in state_map.items()}
    except (TypeError, ValueError, AttributeError):
        raise ConfigError(f"{source}: status.state_map maps Oracle status codes to PrestaShop state ids (numbers), "
                          f"got {state_map!r}") from None
    batch_size = int(f.get("batch_size", FusionSettings.batch_size))
    if batch_size < 1:
        raise ConfigError(f"{source}: fusion.batch_size must be at least 1 (1 sends one request per order)")
    config = OrderFlowConfig(
        oracle_target=_choice("oracle_target", env.get("PRESTAORACLE_ORACLE_TARGET")
                              or raw.get("oracle_target", "fusion"), TARGETS, source),
        shop_id=int(raw.get("shop_id", 1)),
        gates=gates,
        customers=Customers(mode=_choice("customers.mode", c.get("mode", "match"), CUSTOMER_MODES, source)),
        fusion=FusionSettings(batch_size=batch_size),
        ebs=EbsSettings(order_source_id=int(e.get("order_source_id", 1001)), org_id=int(e.get("org_id", 204)),
                        ship_from_org=str(e.get("ship_from_org", "M1"))),
        status=StatusSettings(state_map=state_map, notify_customer=bool(s.get("notify_customer", False))),
        alerts=Alerts(on_call=_emails(env.get("PRESTAORACLE_ONCALL_EMAIL") or a.get("on_call")),
                      business=_emails(env.get("PRESTAORACLE_BUSINESS_EMAIL") or a.get("business")),
                      smtp_conn_id=str(a.get("smtp_conn_id") or "smtp_default")),
        source=source,
    )
    if config.oracle_target == "ebs" and config.customers.mode == "create":
        raise ConfigError(f"{source}: customers.mode create is for Fusion only (EBS accounts are created in EBS); "
                          "write match or webshop")
    return config
