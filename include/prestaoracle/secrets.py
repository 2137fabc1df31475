"""Secrets out of everything the product writes: messages, log lines, exceptions, staged payloads, dead letters.

One set of rules, three ways to apply them:

* **By key**, in JSON-like values (dicts, lists, scalars, at any depth). A key is secret when it is one of
  ``SECRET_KEYS`` or ends with one of ``SECRET_SUFFIXES`` (``reset_password_token``, ``X-Api-Key``…), compared with
  case and separators ignored (``Secure-Key``, ``secureKey``, ``SECUREKEY`` and ``secure_key`` are one key), erring
  on the side of secrecy. Card numbers (``CARD_NUMBER_KEYS``) keep their last four digits only.
  ``drop_secrets(value)`` removes secret keys: what is staged (landing) never holds them, and no flow needs them
  (customer ``passwd`` hashes, ``secure_key``, reset tokens, employee passwords, OAuth tokens, API keys, CVVs).
  ``scrub(value)`` masks them as ``***`` instead, for what people read (dead letters, metrics), so the reader
  still sees that a value was there.
* **By pattern**, in free text: ``scrub_text(text)`` masks ``key=value`` and ``"key": "value"`` pairs with a secret
  key, ``Authorization:`` header values, long ``Bearer``/``Basic`` credentials, ``user:password@`` in URLs, and
  ``<passwd>…</passwd>``-style XML elements. ``redact_url`` is the same for a URL.
* **By value**: a :class:`Redactor` knows the credentials of one client (the PrestaShop webservice key; the Fusion
  client secret, token or password) and removes them from any text in every spelling they travel in (raw,
  base64 as in a Basic header, URL-encoded), then applies ``scrub_text``. Clients run every text they put into an
  exception or a log record through theirs, including text they did not write (a ``requests`` exception, a server
  body echoing the request).
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = [
    "CARD_NUMBER_KEYS", "MASK", "SECRET_KEYS", "SECRET_SUFFIXES", "Redactor", "drop_secrets", "is_card_number_key",
    "is_secret_key", "mask_card_number", "redact", "redact_url", "scrub", "scrub_text",
]

MASK = "***"
MIN_SECRET_CHARS = 4
"""Known secret values shorter than this are not replaced: they are too likely to be ordinary text."""

SECRET_KEYS = frozenset({
    "passwd", "password", "secure_key", "ws_key", "token", "access_token", "refresh_token", "id_token",
    "client_secret", "secret", "authorization", "proxy_authorization", "api_key", "apikey", "private_key",
    "cookie", "set_cookie", "cvv", "cvc", "cvv2", "card_cvv", "card_cvc",
})
SECRET_SUFFIXES = ("password", "passwd", "token", "secret", "api_key", "apikey", "secure_key", "ws_key",
                   "private_key")
CARD_NUMBER_KEYS = frozenset({"card_number", "cardnumber", "pan"})

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def _squash(key: Any) -> str:
    """``Secure-Key``, ``secureKey``, ``SECUREKEY``, ``secure_key`` → ``securekey``: case and separators ignored."""
    return _NOT_ALNUM.sub("", str(key).lower())


_SQUASHED_KEYS = frozenset(_squash(k) for k in SECRET_KEYS)
_SQUASHED_SUFFIXES = tuple(sorted({_squash(s) for s in SECRET_SUFFIXES}))
_SQUASHED_CARD_KEYS = frozenset(_squash(k) for k in CARD_NUMBER_KEYS)


@functools.lru_cache(maxsize=4096)
def _key_kind(key: Any) -> str:
    """``secret``, ``card`` or ``""``; cached, since the same few hundred field names recur in every record."""
    name = _squash(key)
    if name in _SQUASHED_CARD_KEYS:
        return "card"
    return "secret" if name in _SQUASHED_KEYS or name.endswith(_SQUASHED_SUFFIXES) else ""


def is_secret_key(key: Any) -> bool:
    return _key_kind(key) == "secret"


def is_card_number_key(key: Any) -> bool:
    return _key_kind(key) == "card"


def mask_card_number(value: Any) -> str:
    """``4111 1111 1111 1234`` → ``************1234``; anything with four digits or fewer is masked whole."""
    if not isinstance(value, str | int):
        return MASK
    digits = re.sub(r"\D", "", str(value))
    return "*" * (len(digits) - 4) + digits[-4:] if len(digits) > 4 else MASK


# ------------------------------------------------------------------------------------------ by key


def scrub(value: Any) -> Any:
    """A copy of ``value`` with secret values masked and strings through ``scrub_text``; the input is not modified."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if is_card_number_key(key):
                out[key] = mask_card_number(item)
            elif is_secret_key(key):
                out[key] = MASK
            else:
                out[key] = scrub(item)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def drop_secrets(value: Any) -> Any:
    """A copy of ``value`` without its secret keys (card numbers cut to their last four digits, an empty one kept
    empty). Other values stay exactly as given, so the result of equal inputs is equal (landing's hash is stable)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            kind = _key_kind(key)  # dict keys are hashable, so they can be cached
            if not kind:
                out[key] = drop_secrets(item) if isinstance(item, dict | list | tuple) else item
            elif kind == "card":
                out[key] = item if item in (None, "") else mask_card_number(item)
        return out
    if isinstance(value, list | tuple):
        return [drop_secrets(item) for item in value]
    return value


# ------------------------------------------------------------------------------------------ by pattern

_KEY_WORDS = "|".join(sorted({*SECRET_KEYS, *(f"[a-z0-9_]*_{s}" for s in SECRET_SUFFIXES)} - {"cookie", "set_cookie"},
                             key=len, reverse=True))
_TEXT_RULES: tuple[tuple[re.Pattern[str], Any], ...] = (
    # <passwd>…</passwd>, <ws_key><![CDATA[…]]></ws_key>
    (re.compile(rf"<((?:{_KEY_WORDS}))>(.*?)</\1>", re.IGNORECASE | re.DOTALL), rf"<\1>{MASK}</\1>"),
    # Authorization: Basic abc / "authorization": "Bearer xyz"
    (re.compile(r"""(\b(?:proxy[_-])?authorization["']?\s*[:=]\s*["']?)(?:(?:basic|bearer|token|digest)\s+)?"""
                r"""[^\s"',;&]+""", re.IGNORECASE), rf"\1{MASK}"),
    # ws_key=abc&… , password: "abc", "client_secret":"abc" (a quoted value is masked whole, quotes kept)
    (re.compile(rf"""(\b(?:{_KEY_WORDS})["']?\s*[:=]\s*)(?:"(?:[^"\\]|\\.)*"|'[^']*'|(?!\*\*\*)[^\s"',;&<>]+)""",
                re.IGNORECASE), lambda m: m.group(1) + _masked_like(m.group(0)[len(m.group(1)):])),
    # Bearer eyJ… / Basic dXNlcjpwYXNz (long enough to be a credential, not a word)
    (re.compile(r"\b(bearer)\s+[A-Za-z0-9\-._~+/]{16,}=*", re.IGNORECASE), rf"\1 {MASK}"),
    (re.compile(r"\b(basic)\s+(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{12,}={0,2}", re.IGNORECASE), rf"\1 {MASK}"),
    # scheme://user:password@host or scheme://KEY@host (PrestaShop accepts the key as the user name)
    (re.compile(r"\b([a-z][a-z0-9+.\-]*://)[^/\s@]+@", re.IGNORECASE), rf"\1{MASK}@"),
)


def _masked_like(value: str) -> str:
    return f"{value[0]}{MASK}{value[0]}" if value[:1] in ("'", '"') else MASK


def scrub_text(text: str) -> str:
    for pattern, replacement in _TEXT_RULES:
        text = pattern.sub(replacement, text)
    return text


def redact_url(url: str) -> str:
    """``url`` safe to show: ``user:password@`` / ``KEY@`` and secret query values (``ws_key=``…) masked."""
    return scrub_text(url)


# ------------------------------------------------------------------------------------------ by value


def _spellings(secret: str) -> set[str]:
    """How a secret travels: raw, URL-encoded, and base64 alone or as a Basic credential (``secret:``)."""
    raw = secret.encode("utf-8")
    basic = base64.b64encode(raw + b":").decode("ascii")
    return {secret, quote(secret, safe=""), quote_plus(secret), base64.b64encode(raw).decode("ascii"), basic,
            basic.rstrip("=")}


class Redactor:
    """Knows a client's secrets and removes every spelling of them from text, then applies ``scrub_text``.

    ``Redactor(ws_key)`` for PrestaShop; ``Redactor(client_secret, basic_credential, token)`` for Fusion. Empty
    values are ignored and values shorter than ``MIN_SECRET_CHARS`` are not searched for.
    """

    def __init__(self, *secrets: str | None) -> None:
        spellings = {s for secret in secrets if secret and len(secret) >= MIN_SECRET_CHARS
                     for s in _spellings(secret)}
        # Longest first, so a base64 form is not half-replaced by a shorter needle inside it.
        self._needles = sorted(spellings, key=len, reverse=True)

    def __repr__(self) -> str:
        return f"Redactor({len(self._needles)} spellings)"

    def scrub(self, text: object) -> str:
        """``str(text)`` without the known secrets and without anything ``scrub_text`` recognises."""
        out = str(text)
        for needle in self._needles:
            out = out.replace(needle, MASK)
        return scrub_text(out)

    __call__ = scrub

    def url(self, url: str) -> str:
        """A URL safe to show: ``redact_url`` plus removal of the known secrets wherever else they appear."""
        return self.scrub(url)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` without the given secrets (in any spelling) or anything ``scrub_text`` recognises."""
    return Redactor(*secrets).scrub(text)
