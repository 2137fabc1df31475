"""A retried load task re-attaches, through Airflow's own task state store, to the orders its killed try sent.

A DAG written for the test runs the product's Fusion loader with ``task_state_store`` from the task context, as
``prestashop_orders_to_oracle``'s ``load`` task does. Try 1 dies right after its batch POST went out (the orders
committed in the pod, the answer never seen); Airflow retries the task; try 2 finds the keys in the store, looks them
up instead of sending them again, and reports them ``created``/recovered. The pod ends with each order once, and
no batch was ever refused as a duplicate (a blind re-send would be).
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from prestaoracle.oracle import FusionClient, OAuth2ClientCredentials
from prestaoracle.oracle import fusion_query as fq
from tests.conftest import free_port
from tests.support.sandbox import run_sandbox

pytestmark = pytest.mark.timeout(600)
DAG_ID = "state_store_reattach_probe"

PROBE = textwrap.dedent(f'''
    """Loads orders into the Fusion pod; try 1 dies after its first batch POST."""
    import json
    import os
    from datetime import timedelta

    import pendulum
    from airflow.sdk import dag, task


    @dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
    def {DAG_ID}():
        @task(retries=1, retry_delay=timedelta(seconds=0), retry_exponential_backoff=0)
        def load(task_state_store=None, ti=None):
            from prestaoracle.flows.orders.fusion import FusionOrderLoader
            from prestaoracle.flows.orders.types import OrderToLoad
            from prestaoracle.oracle import FusionClient, OAuth2ClientCredentials

            pod = os.environ["STATE_PROBE_POD"]
            orders = [OrderToLoad(**o) for o in json.loads(os.environ["STATE_PROBE_ORDERS"])]
            sent = []

            class Dying(FusionClient):
                def batch(self, parts, **kwargs):
                    answer = super().batch(parts, **kwargs)
                    sent.append([p["id"] for p in parts])
                    if ti.try_number == 1:
                        raise RuntimeError("worker killed after its batch POST went out")
                    return answer

            client = Dying(pod, auth=OAuth2ClientCredentials(f"{{pod}}/oauth2/v1/token", "cid", "secret"))
            try:
                out = FusionOrderLoader(client, batch_size=10).load(orders, state=task_state_store)
            finally:
                client.close()
            return {{"try": ti.try_number, "sent": sent, "in_flight_seen": task_state_store.get("in_flight"),
                    "outcomes": [[o.key, o.status, o.recovered] for o in out]}}

        load()


    {DAG_ID}()
''')


@pytest.fixture(scope="module")
def pod() -> Iterator[str]:
    with run_sandbox("--only", "oracle", "--oracle-port", str(free_port()), "--prestashop-port", str(free_port()),
                     "--orders", "40", "--seed", "7", "--oracle-client-id", "cid", "--oracle-client-secret",
                     "secret") as url:
        yield url


def _orders(client: FusionClient, count: int) -> list[dict]:
    party = next(client.search_accounts(fq.ge("CreditLimit", 1_000_000), PartyType="ORGANIZATION",
                                        CurrencyCode="EUR"))["PartyNumber"]
    stocked = [r["ItemNumber"] for r in client.onhand_balances("M1", fields="ItemNumber,PrimaryQuantity")
               if r["PrimaryQuantity"] >= 50]
    active = {r["ItemNumber"] for r in client.iter_collection("itemsV2", q=fq.eq("ItemStatusValue", "Active"),
                                                             fields="ItemNumber")}
    eur = next(client.price_lists(fq.eq("CurrencyCode", "EUR")))["PriceListId"]
    priced = {r["Item"] for r in client.price_list_charges(eur, [s for s in stocked if s in active])}
    skus = [s for s in stocked if s in priced][:3]
    out = []
    for n in range(1, count + 1):
        key = f"PS1-{9000 + n}"
        out.append({"key": key, "id_order": 9000 + n, "payload": {
            "SourceTransactionNumber": f"REF{key}", "SourceTransactionSystem": "PSHOP", "SourceTransactionId": key,
            "BusinessUnitName": "Vision Operations", "BuyingPartyNumber": party, "TransactionalCurrencyCode": "EUR",
            "TransactionOn": "2026-11-30T10:00:00+00:00", "RequestedFulfillmentOrganizationCode": "M1",
            "CustomerPONumber": f"REF{key}", "FreezePriceFlag": True, "SubmittedFlag": True,
            "lines": [{"SourceTransactionLineId": f"{key}-1", "SourceTransactionLineNumber": "1",
                       "SourceTransactionScheduleId": "1", "SourceScheduleNumber": "1",
                       "TransactionCategoryCode": "ORDER", "ProductNumber": skus[n % len(skus)],
                       "OrderedQuantity": 1, "OrderedUOMCode": "Ea"}]}})
    return out


def test_a_retried_load_task_reattaches_through_the_task_state_store(pod: str, airflow_db: None, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    client = FusionClient(pod, auth=OAuth2ClientCredentials(f"{pod}/oauth2/v1/token", "cid", "secret"))
    try:
        orders = _orders(client, 25)
        dags = tmp_path / "dags"
        dags.mkdir()
        (dags / f"{DAG_ID}.py").write_text(PROBE, encoding="utf-8")
        # dag.test() serialises a DAG only from a configured bundle: this folder first, the project's second (so
        # the project's DAGs stay active for the other DAG tests of this process).
        local = "airflow.dag_processing.bundles.local.LocalDagBundle"
        monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([
            {"name": "state-store-test", "classpath": local, "kwargs": {"path": str(dags), "refresh_interval": 0}},
            {"name": "dags-folder", "classpath": local, "kwargs": {}}]))
        monkeypatch.setenv("STATE_PROBE_POD", pod)
        monkeypatch.setenv("STATE_PROBE_ORDERS", json.dumps(orders))
        bag = DagBag(dag_folder=str(dags))
        assert bag.import_errors == {}
        run = bag.get_dag(DAG_ID).test(logical_date=None)
        ti = run.get_task_instance("load")
        assert run.state == "success" and ti.try_number == 2, (run.state, ti.try_number)
        result = ti.xcom_pull(task_ids="load")

        keys = [o["key"] for o in orders]
        flt = fq.eq("SourceTransactionSystem", "PSHOP") & fq.in_("SourceTransactionId", keys)
        in_pod = Counter(r["SourceTransactionId"] for r in client.iter_collection(
            "salesOrdersForOrderHub", q=flt, fields="SourceTransactionId"))
    finally:
        client.close()
    assert in_pod == Counter(dict.fromkeys(keys, 1)), "each order exactly once in Oracle"
    outcomes = {key: (status, recovered) for key, status, recovered in result["outcomes"]}
    first_batch = keys[:10]  # what try 1 sent before it died
    assert all(outcomes[k] == ("created", True) for k in first_batch), outcomes
    assert all(outcomes[k] == ("created", False) for k in keys[10:]), outcomes
    assert all(first_batch[0] not in batch for batch in result["sent"]), "try 2 sent try 1's orders again"
