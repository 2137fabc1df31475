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


def did_you_mean(word: str, choices: list[str]) -> str:
    """The closest name by Levenshtein distance; the last of equally close names wins, as in PHP."""
    best, best_d = choices[0] if choices else "", 10**9
    for c in choices:
        d = _levenshtein(word, c)
        if d <= best_d:
            best, best_d = c, d
    return best


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]
