"""ISO code lists the format rules check against, taken from the Unicode CLDR data that Babel ships.

* Countries: ISO 3166-1 alpha-2 codes, without the codes CLDR adds for regions that are not countries (``EU``,
  ``UN``, ``ZZ``…) or that ISO only reserves (``AC``, ``TA``…). ``XK`` (Kosovo, user-assigned) stays: shops and
  Oracle both use it.
* Currencies: ISO 4217 codes that are legal tender somewhere today, so a withdrawn code (``FRF``, ``DEM``) or a
  fund code is reported rather than sent to Oracle.
"""

from __future__ import annotations

from functools import cache

_NOT_COUNTRIES = frozenset({"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"})


@cache
def countries() -> tuple[str, ...]:
    from babel import Locale

    codes = {c for c in Locale("en").territories if len(c) == 2 and c.isalpha()}
    return tuple(sorted(codes - _NOT_COUNTRIES))


@cache
def currencies() -> tuple[str, ...]:
    from babel.numbers import get_territory_currencies

    codes: set[str] = set()
    for country in countries():
        codes.update(get_territory_currencies(country, tender=True))
    return tuple(sorted(codes))
