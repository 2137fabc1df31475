"""OAuth2 client credentials as the OCI IAM identity domain issues them, and Basic auth, for the Fusion emulator."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa

from prestaoracle.sandbox.oracle import store


@dataclass
class Credentials:
    client_id: str
    client_secret: str
    token_ttl: int  # seconds an access token lives (IAM's default is 3600)


class AuthError(Exception):
    """401 with a ``WWW-Authenticate`` challenge."""

    def __init__(self, message: str, challenge: str = 'Bearer realm="Oracle Fusion Applications"') -> None:
        super().__init__(message)
        self.challenge = challenge


def _basic(header: str) -> tuple[str, str] | None:
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
    except ValueError:
        return None
    return user, password


def issue_token(engine: sa.Engine, creds: Credentials, authorization: str, form: dict[str, str]) -> dict:
    """``POST /oauth2/v1/token`` with ``grant_type=client_credentials``; client authenticated by Basic or form."""
    pair = _basic(authorization) or (form.get("client_id", ""), form.get("client_secret", ""))
    if form.get("grant_type") != "client_credentials":
        raise TokenError(400, "unsupported_grant_type", "Only client_credentials is enabled for this client.")
    if pair != (creds.client_id, creds.client_secret):
        raise TokenError(401, "invalid_client", "Client authentication failed.")
    token = secrets.token_urlsafe(48)
    with engine.begin() as conn:
        serial = store.next_ids(conn, "TokenSerial")[0]
        conn.execute(store.TOKENS.insert().values(access_token=token, client_id=creds.client_id,
                                                  expires_at=time.time() + creds.token_ttl, revoked=0,
                                                  serial=serial))
    return {"access_token": token, "token_type": "Bearer", "expires_in": creds.token_ttl}


class TokenError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


def check(engine: sa.Engine, creds: Credentials, authorization: str) -> str:
    """The caller's identity, or AuthError: a live bearer token, or Basic with the integration user."""
    if authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
        with engine.connect() as conn:
            row = conn.execute(sa.select(store.TOKENS).where(store.TOKENS.c.access_token == token)).first()
        if row is None or row.revoked:
            raise AuthError("invalid token")
        if row.expires_at < time.time():
            raise AuthError("expired token")
        return row.client_id
    pair = _basic(authorization)
    if pair is None:
        raise AuthError("no credentials", 'Basic realm="Oracle Fusion Applications"')
    if pair != (creds.client_id, creds.client_secret):
        raise AuthError("bad user or password", 'Basic realm="Oracle Fusion Applications"')
    return pair[0]


def serial(engine: sa.Engine, authorization: str) -> int | None:
    """The issue number of the presented bearer token (None for Basic or an unknown token)."""
    if not authorization.lower().startswith("bearer "):
        return None
    with engine.connect() as conn:
        return conn.execute(sa.select(store.TOKENS.c.serial).where(
            store.TOKENS.c.access_token == authorization[7:].strip())).scalar()


def revoke(engine: sa.Engine, authorization: str) -> None:
    """Expire the presented token now: the 'token expired mid-run' fault."""
    if authorization.lower().startswith("bearer "):
        with engine.begin() as conn:
            conn.execute(store.TOKENS.update().where(store.TOKENS.c.access_token == authorization[7:].strip())
                         .values(revoked=1))
