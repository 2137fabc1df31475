"""A thin HTTP client for the Oracle sandbox in tests: base URL, Basic auth, JSON in and out, clock control."""

from __future__ import annotations

from typing import Any

import requests

FSCM = "/fscmRestApi/resources/11.13.18.05"
CRM = "/crmRestApi/resources/11.13.18.05"
V4_JSON = {"REST-Framework-Version": "4", "Accept": "application/json"}


class Pod:
    def __init__(self, base: str, user: str, secret: str, backend: str | None = None) -> None:
        self.base, self.backend = base, backend
        self.s = requests.Session()
        self.s.auth = (user, secret)

    def url(self, path: str, root: str = FSCM) -> str:
        return f"{self.base}{root}{path}"

    def get(self, path: str, root: str = FSCM, headers: dict | None = None, **params: Any) -> requests.Response:
        return self.s.get(self.url(path, root), params=params, headers=headers, timeout=30)

    def post(self, path: str, body: Any, root: str = FSCM, headers: dict | None = None) -> requests.Response:
        return self.s.post(self.url(path, root), json=body, headers=headers, timeout=30)

    def patch(self, path: str, body: Any, headers: dict | None = None) -> requests.Response:
        return self.s.patch(self.url(path), json=body, headers=headers, timeout=30)

    def items(self, path: str, root: str = FSCM, **params: Any) -> list[dict]:
        """Every row of a collection, paging with ``offset += count`` (reference §2.2)."""
        out, offset = [], 0
        while True:
            resp = self.get(path, root, limit=500, offset=offset, onlyData="true", **params)
            assert resp.status_code == 200, resp.text
            body = resp.json()
            out += body["items"]
            offset += body["count"]
            if not body["hasMore"]:
                return out

    def advance(self, minutes: float) -> str:
        resp = requests.post(f"{self.base}/sandbox/clock/advance", params={"minutes": minutes}, timeout=60)
        assert resp.status_code == 200, resp.text
        return resp.json()["now"]

    def now(self) -> str:
        return requests.get(f"{self.base}/sandbox/clock", timeout=30).json()["now"]
