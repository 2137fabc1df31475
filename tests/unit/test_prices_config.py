"""The prices flow's configuration: the packaged defaults, the file an operator points to, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from prestaoracle.flows.orders.config import ConfigError
from prestaoracle.flows.prices import CONFIG_ENV, PricesConfig, load_config


def test_packaged_defaults_and_the_operators_file(tmp_path: Path) -> None:
    assert load_config(environ={}) == PricesConfig(price_list=None, tolerance=0.005, max_change_pct=20.0)
    path = tmp_path / "prices.yaml"
    path.write_text("price_list: 300100090000001\nmax_change_pct: 35\n", encoding="utf-8")
    assert load_config(environ={CONFIG_ENV: str(path)}) == PricesConfig(price_list="300100090000001",
                                                                      max_change_pct=35.0)


@pytest.mark.parametrize(("text", "message"), [
    ("max_change_pct: lots\n", "are numbers"),
    ("max_change_pct: -5\n", "must not be negative"),
    ("pricelist: Webshop EUR\n", "unknown setting.*pricelist"),
    ("- a list\n", "must be a mapping"),
    ("stop_after_unanswered: 0\n", "stop_after_unanswered must be a whole number >= 1"),
])
def test_mistakes_name_what_to_fix(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):  # the CLI exits 2 on a ConfigError
        load_config(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
