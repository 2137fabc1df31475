"""Scrub the webservice key out of any text before it reaches a message, a log line or an exception.

The key is the only credential of a PrestaShop webservice: whoever reads it can change orders and stock. It travels
in the ``Authorization: Basic base64(key:)`` header (and, on misconfigured setups, as ``?ws_key=``), so it can leak
in three spellings: raw, base64-encoded, and as a query parameter. Every piece of text this package produces from a
URL, a response or a lower-level exception goes through :meth:`Redactor.scrub` first.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["REDACTED", "Redactor", "redact_url"]

REDACTED = "***"
_WS_KEY_PARAM = re.compile(r"(?i)(ws_key=)[^&\s#\"']*")
_AUTH_HEADER = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?\s*(?:basic|bearer)?\s*)[A-Za-z0-9+/=._\-]+")


def redact_url(url: str) -> str:
    """Return ``url`` without credentials: ``ws_key`` query values and ``user:password@`` are replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _WS_KEY_PARAM.sub(rf"\g<1>{REDACTED}", url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = _WS_KEY_PARAM.sub(rf"\g<1>{REDACTED}", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class Redactor:
    """Knows one secret (the key) and removes every spelling of it from text.

    Built once per client, so even text we did not produce (a ``requests`` exception message, a server error body
    that echoes the query string) is cleaned before we put it into an exception or a log record.
    """

    def __init__(self, secret: str) -> None:
        self._needles: list[str] = []
        if secret:
            raw = secret.encode("utf-8")
            candidates = {
                secret,
                base64.b64encode(raw + b":").decode("ascii"),
                base64.b64encode(raw).decode("ascii"),
                base64.b64encode(raw + b":").decode("ascii").rstrip("="),
            }
            # Longest first, so a base64 form is not half-replaced by a shorter needle inside it.
            self._needles = sorted((c for c in candidates if len(c) >= 4), key=len, reverse=True)

    def scrub(self, text: object) -> str:
        """``str(text)`` with the key (raw or base64), ``ws_key=`` values and Authorization values replaced."""
        out = str(text)
        for needle in self._needles:
            out = out.replace(needle, REDACTED)
        out = _WS_KEY_PARAM.sub(rf"\g<1>{REDACTED}", out)
        return _AUTH_HEADER.sub(rf"\g<1>{REDACTED}", out)

    def url(self, url: str) -> str:
        """A URL safe to show: :func:`redact_url` plus removal of the key wherever else it appears."""
        return self.scrub(redact_url(url))
