"""The issue's end-to-end case against a real `fno-gateway serve` process with its events worker: an
endpoint and activations made over OData with a token, a credit limit raised from 2,000 to 5,000
through /data, then through /api/data/v9.2 (the virtual table), then with plain SQL: one signed event
each at the webhook and one message each in a RabbitMQ queue, with the old and new limit. Callers
without the privilege cannot configure events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import create_engine, text

from gateway.demo.generate import build_demo_database
from tests.conftest import (
    bearer,
    free_port,
    repository_root,
    server_arguments,
    stop_process,
    wait_until_serving,
)
from tests.events.conftest import running_receiver, token_object_id, wait_for

SECRET = "served-test-secret"
CREDIT = "CustomerCreditLimitChangedBusinessEvent"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A served gateway (events worker on) over a fresh SQLite F&O database with virtual tables enabled."""
    fo = f"sqlite:///{tmp_path / 'fo.db'}"
    dv = f"sqlite:///{tmp_path / 'dv.db'}"
    build_demo_database(fo, scale=0.01, seed=3, progress=False)
    environment = {**os.environ, "FNO_GATEWAY_SECRET_SUBSCRIBER": SECRET}
    common = ["--db", fo, "--dataverse-db", dv, "--dualwrite-maps", "none"]
    enabled = subprocess.run([sys.executable, "-m", "gateway.cli", "virtual", "enable", "CustCustomerV3Entity",
                              *common], cwd=repository_root(), capture_output=True, text=True, env=environment)
    assert enabled.returncode == 0, enabled.stderr
    port = free_port()
    log = (tmp_path / "gateway.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", *common, "--port", str(port), "--events-worker",
         "--events-first-retry", "0.05", *server_arguments()],
        cwd=repository_root(), stdout=log, stderr=subprocess.STDOUT, env=environment)
    try:
        wait_until_serving(port)
        yield f"http://127.0.0.1:{port}", fo
    finally:
        stop_process(process)
        log.close()


def test_a_credit_limit_raised_three_ways_reaches_the_webhook_and_the_queue(served: tuple[str, str],
                                                                            tmp_path: Path) -> None:
    from tests.events.test_transports import AMQP_URL, connect

    root, fo = served
    admin = bearer("events-admin")
    consumer = connect()  # skips, saying why, without a broker
    queue = f"fno-served-{uuid.uuid4().hex[:8]}"
    engine = create_engine(fo)
    try:
        with running_receiver(tmp_path, "--secret", SECRET) as receiver, httpx2.Client(base_url=root, timeout=30) as http:
            # Who may configure events: not a reader.
            refused = http.post("/data/BusinessEventsEndpoints", headers=bearer("reader", ("DataReader",)),
                                json={"EndpointId": "x", "Url": receiver.url})
            assert refused.status_code == 403, refused.text
            for body in ({"EndpointId": "hook", "Url": receiver.url, "SecretName": "subscriber"},
                         {"EndpointId": "rabbit", "EndpointType": "RabbitMQ", "Url": AMQP_URL, "QueueName": queue}):
                response = http.post("/data/BusinessEventsEndpoints", headers=admin, json=body)
                assert response.status_code == 201, response.text
            bad = http.post("/data/BusinessEventsActivations", headers=admin,
                            json={"BusinessEventId": "NoSuchEvent", "EndpointId": "hook"})
            assert bad.status_code == 400, bad.text
            with engine.begin() as connection:  # before the activations: no event
                connection.execute(text("UPDATE \"CUSTTABLE\" SET \"CREDITMAX\" = 2000 "
                                        "WHERE \"DATAAREAID\" = 'usmf' AND \"ACCOUNTNUM\" = 'US-001'"))
            for endpoint in ("hook", "rabbit"):
                response = http.post("/data/BusinessEventsActivations", headers=admin,
                                     json={"BusinessEventId": CREDIT, "EndpointId": endpoint})
                assert response.status_code == 201, response.text
                assert response.json()["ActivationId"].startswith("ACT-")
            customer = "/data/CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')"
            assert http.patch(customer, headers=admin, json={"CreditLimit": 5000}).status_code == 204
            virtual = "/api/data/v9.2/mserp_custcustomerv3entities"
            found = http.get(virtual, headers=admin, params={
                "$filter": "mserp_dataareaid eq 'usmf' and mserp_customeraccount eq 'US-001'",
                "$select": "mserp_custcustomerv3entityid"}).json()["value"]
            guid = found[0]["mserp_custcustomerv3entityid"]
            response = http.patch(f"{virtual}({guid})", headers=admin, json={"mserp_creditlimit": 6000})
            assert response.status_code == 204, response.text
            with engine.begin() as connection:
                connection.execute(text("UPDATE \"CUSTTABLE\" SET \"CREDITMAX\" = 7000 "
                                        "WHERE \"DATAAREAID\" = 'usmf' AND \"ACCOUNTNUM\" = 'US-001'"))
            wait_for(lambda: len(receiver.events()) >= 3, 30, "three webhook events")
            hooked = receiver.events()
            state = http.get("/data/BusinessEventsEndpoints('hook')", headers=admin).json()
        channel = consumer.channel()
        messages: list[Any] = []
        wait_for(lambda: _take(channel, queue, messages) >= 3, 30, "three queued messages")
        consumer.channel().queue_delete(queue)
    finally:
        consumer.close()
        engine.dispose()
    me = token_object_id(admin)
    expected = [(Decimal(2000), Decimal(5000), me), (Decimal(5000), Decimal(6000), me), (Decimal(6000), Decimal(7000), None)]
    assert all(event["SignatureVerified"] for event in hooked)
    for received in ([event["Body"] for event in hooked], messages):
        assert [(Decimal(str(event["OldCreditLimit"])), Decimal(str(event["NewCreditLimit"])),
                 event["InitiatingUserAADObjectId"]) for event in received] == expected
        assert {event["BusinessEventId"] for event in received} == {CREDIT}
        assert [event["ControlNumber"] for event in received] == [1, 2, 3]
        assert all(event["CustomerAccount"] == "US-001" and event["BusinessEventLegalEntity"] == "usmf"
                   for event in received)
    assert state["NextControlNumber"] == 4


def _take(channel: Any, queue: str, into: list[Any]) -> int:
    while (message := channel.basic_get(queue, auto_ack=True))[0] is not None:
        into.append(json.loads(message[2]))
    return len(into)
