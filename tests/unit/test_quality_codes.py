"""The ISO code lists behind currency_known and country_known."""

from __future__ import annotations

from prestaoracle.quality import codes


def test_countries_are_iso_3166_alpha2_without_cldr_regions() -> None:
    countries = set(codes.countries())
    assert {"FR", "DE", "GB", "US", "CH", "PL", "XK"} <= countries
    assert not {"EU", "UN", "ZZ", "QO", "AC", "", "FRA"} & countries


def test_currencies_are_iso_4217_codes_in_use() -> None:
    currencies = set(codes.currencies())
    assert {"EUR", "USD", "GBP", "CHF", "PLN", "JPY"} <= currencies
    assert not {"FRF", "DEM", "XXX", "", "EURO"} & currencies
