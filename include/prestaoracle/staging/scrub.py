"""Remove secrets from anything the staging database keeps for people to read (dead letters, errors, metrics).

``scrub(value)`` returns a copy of a JSON-like value (dicts, lists, scalars, at any depth) where the value of every
secret key is replaced by ``"***"``, and card numbers keep only their last four digits. Keys are compared with case
and separators ignored (``Secure-Key``, ``secureKey``, ``SECUREKEY`` and ``secure_key`` are one key): a key is secret
when it is one of ``SECRET_KEYS`` or ends with one of ``SECRET_SUFFIXES`` (``reset_password_token``, ``X-Api-Key``…),
erring on the side of masking. Whatever the value is (string, number, nested object) it goes. Strings elsewhere go
through ``scrub_text``.

``scrub_text(text)`` masks secrets inside free text: ``key=value`` and ``"key": "value"`` pairs with a secret key,
``Authorization:`` header values, long ``Bearer``/``Basic`` credentials, ``user:password@`` in URLs, and
``<passwd>…</passwd>``-style XML elements.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"

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


def is_secret_key(key: Any) -> bool:
    name = _squash(key)
    return name in _SQUASHED_KEYS or name.endswith(_SQUASHED_SUFFIXES)


def is_card_number_key(key: Any) -> bool:
    return _squash(key) in _SQUASHED_CARD_KEYS


def mask_card_number(value: Any) -> str:
    """``4111 1111 1111 1234`` → ``************1234``; anything with four digits or fewer is masked whole."""
    if not isinstance(value, str | int):
        return MASK
    digits = re.sub(r"\D", "", str(value))
    return "*" * (len(digits) - 4) + digits[-4:] if len(digits) > 4 else MASK


def scrub(value: Any) -> Any:
    """A copy of ``value`` without secrets (see the module docstring); the input is not modified."""
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


# ------------------------------------------------------------------------------------------ free text

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
