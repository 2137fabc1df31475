"""The webservice's error documents, as PrestaShop 8.1.2 raises them."""

from __future__ import annotations


class WSError(Exception):
    """An error the webservice answers with its error document.

    ``errors`` is a list of ``(code, message)``; the HTTP status is the one of the last error raised,
    as in PrestaShop, so callers pass the final status.
    """

    def __init__(self, status: int, *errors: tuple[int, str]) -> None:
        super().__init__("; ".join(m for _, m in errors))
        self.status = status
        self.errors = list(errors)


class EmptyResponse(Exception):
    """An answer with no body at all (unknown id on GET: 404 with an empty Content-Type)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class PhpFatal(Exception):
    """An uncaught PHP exception: PHP's own 500 page, without any webservice header."""


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """PHP's getClosest(): the closest name by byte Levenshtein distance; the LAST of equally close names wins,
    which is why fixture 37 answers "conversion_rate" and not the earlier "mobile_theme" at the same distance."""
    closest, shortest = "", -1
    w = word.encode()
    for c in choices:
        lev = _levenshtein(w, c.encode())
        if lev == 0:
            return c
        if shortest < 0 or lev <= shortest:
            closest, shortest = c, lev
    return closest


def _levenshtein(a: bytes, b: bytes) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]
