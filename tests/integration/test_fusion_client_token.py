"""OAuth2 token lifetime against the Oracle emulator issuing 2-second tokens (``--oracle-token-ttl 2``).

The client must renew a token before it expires, so it never sends an expired one (no 401 at all). A token that
dies early on the pod's side (revoked mid-run) is covered by test_fusion_client_faults.py, and the replay after a
401 by test_fusion_client_retry.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from conftest import free_port
from support.sandbox import run_sandbox

from prestaoracle.oracle import FusionClient, OAuth2ClientCredentials, RetryPolicy

pytestmark = pytest.mark.xdist_group("fusion_client_ttl")


@pytest.fixture(scope="module")
def pod() -> Iterator[str]:
    with run_sandbox("--only", "oracle", "--oracle-port", str(free_port()), "--prestashop-port", str(free_port()),
                     "--orders", "200", "--seed", "3", "--oracle-client-id", "cid",
                     "--oracle-client-secret", "secret", "--oracle-token-ttl", "2") as url:
        yield url


def make(pod: str, refresh_margin: float) -> tuple[FusionClient, OAuth2ClientCredentials]:
    auth = OAuth2ClientCredentials(f"{pod}/oauth2/v1/token", "cid", "secret", refresh_margin=refresh_margin)
    return FusionClient(pod, auth=auth, timeout=10, retries=RetryPolicy(backoff=0.05)), auth


def test_token_is_refreshed_before_it_expires(pod: str) -> None:
    client, auth = make(pod, refresh_margin=60)  # margin capped at half the 2 s lifetime: renew after 1 s
    for _ in range(5):
        client.get("itemsV2", {"limit": 1})
    assert auth.token_fetches == 1
    time.sleep(1.2)
    client.get("itemsV2", {"limit": 1})
    assert auth.token_fetches == 2
    assert client.stats.unauthorized_replays == 0  # never sent an expired token


def test_idle_past_expiry_gets_a_new_token_first(pod: str) -> None:
    client, auth = make(pod, refresh_margin=0)  # use each token to its very end
    client.get("itemsV2", {"limit": 1})
    time.sleep(2.3)  # the token is now dead on the pod
    assert client.get("itemsV2", {"limit": 1, "onlyData": "true"})["items"]
    assert auth.token_fetches == 2 and client.stats.unauthorized_replays == 0
    assert client.stats.requests == 4  # two tokens, two reads: no refused request
