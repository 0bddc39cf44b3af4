"""Signed $skiptokens: HMAC-SHA256 over the whole token, one key per serve shared by its workers.

Tokens are taken apart and rebuilt here with base64, json and hmac themselves (not the gateway's
helpers), so an edit is exactly what a client could do by hand.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from gateway import cli
from gateway.demo.generate import build_demo_database
from gateway.protect import signing
from gateway.settings import Settings, setting_names
from tests.conftest import Backend, bearer, make_client, server_arguments, stop_process
from tests.test_e2e_uvicorn import _command, _free_port, _wait_until_up
from tests.test_errors import assert_odata_error

CUSTOMERS = "/data/CustomersV3"
PAGE = {"Prefer": "odata.maxpagesize=2"}
QUERY = {"$select": "CustomerAccount,CreditLimit", "$orderby": "CreditLimit desc"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def first_token(client: TestClient) -> str:
    body = client.get(CUSTOMERS, params=QUERY, headers=PAGE).json()
    return str(body["@odata.nextLink"].split("$skiptoken=")[1])


def open_token(token: str) -> dict[str, Any]:
    payload, _, _ = token.partition(".")
    return dict(json.loads(_unb64(payload)))


def sealed(payload: dict[str, Any], key: bytes) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return _b64(raw) + "." + _b64(hmac.new(key, raw, hashlib.sha256).digest())


def service_key(client: TestClient) -> bytes:
    return bytes(client.app.state.services["/data"].signing_key)  # type: ignore[attr-defined]


def next_page(client: TestClient, token: str) -> Any:
    return client.get(CUSTOMERS, params={**QUERY, "$skiptoken": token}, headers=PAGE)


def test_a_token_is_a_payload_and_its_hmac(sqlite_client: TestClient) -> None:
    token = first_token(sqlite_client)
    payload, _, mac = token.partition(".")
    assert _unb64(mac) == hmac.new(service_key(sqlite_client), _unb64(payload), hashlib.sha256).digest()
    assert next_page(sqlite_client, token).status_code == 200


@pytest.mark.parametrize(
    "edit",
    [
        lambda p: {**p, "k": [["d", "NaN"], *p["k"][1:]]},
        lambda p: {**p, "k": [["f", 1e300], *p["k"][1:]]},
        lambda p: {**p, "k": [p["k"][0], ["s", "US-001"][:1] + [5], *p["k"][2:]]},
        lambda p: {**p, "k": [["x", 1], *p["k"][1:]]},
        lambda p: {**p, "t": 10**30},
    ],
    ids=["nan", "other-number", "number-for-string", "unknown-tag", "huge-top"],
)
def test_an_edited_token_is_refused(sqlite_client: TestClient, edit: Any) -> None:
    token = first_token(sqlite_client)
    forged = sealed(edit(open_token(token)), b"a key the client guessed")
    assert_odata_error(next_page(sqlite_client, forged), 400, "InvalidSkipToken")
    unsigned = token.partition(".")[0]
    assert_odata_error(next_page(sqlite_client, unsigned), 400, "InvalidSkipToken")


@pytest.mark.parametrize(
    "values",
    [
        [["d", "NaN"], ["s", "usmf"], ["s", "US-001"]],  # NaN where a decimal is
        [["s", "2000"], ["s", "usmf"], ["s", "US-001"]],  # text where a decimal is
        [["i", 2000], ["i", 5], ["s", "US-001"]],  # a number where a string is
        [["i", 2**64], ["s", "usmf"], ["s", "US-001"]],  # past 64 bits
        [["n"], ["s", "usmf"], ["s", "US-001"]],  # null for a key that is never null
        [["b", True], ["s", "usmf"], ["s", "US-001"]],  # a boolean tag
        [["t", "2020-01-01T00:00:00"], ["s", "usmf"], ["s", "US-001"]],  # a date/time where a decimal is
    ],
    ids=["nan", "text-for-decimal", "number-for-string", "beyond-64-bits", "null", "boolean", "datetime"],
)
def test_values_that_do_not_fit_the_sort_keys_are_refused_even_if_signed(
    sqlite_client: TestClient, values: list[list[Any]]
) -> None:
    """Even with the server's key (shared with a buggy build, leaked): the values are checked too."""
    payload = open_token(first_token(sqlite_client))
    assert len(payload["k"]) == 3  # CreditLimit, then the key: dataAreaId, CustomerAccount
    forged = sealed({**payload, "k": values}, service_key(sqlite_client))
    assert_odata_error(next_page(sqlite_client, forged), 400, "InvalidSkipToken")


def test_a_next_link_works_on_every_gateway_with_the_same_key(sqlite_backend: Backend) -> None:
    with make_client(sqlite_backend, signing_key="shared secret") as one, \
            make_client(sqlite_backend, signing_key="shared secret") as two, \
            make_client(sqlite_backend, signing_key="another secret") as other:
        token = first_token(one)
        assert next_page(two, token).status_code == 200
        assert_odata_error(next_page(other, token), 400, "InvalidSkipToken")
        for client in (one, two, other):
            client.app.state.engine.dispose()  # type: ignore[attr-defined]


def test_without_a_key_each_process_draws_one_at_random() -> None:
    assert len(signing.process_key()) == 32
    assert signing.key_from_setting("") == signing.process_key()
    assert signing.key_from_setting("abc") == b"abc"


def test_serve_gives_every_worker_the_same_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent draws one key and hands it on (as every setting) through the environment."""
    from gateway import balance

    started: list[dict[str, Any]] = []
    monkeypatch.setattr(balance, "serve", lambda host, port, workers: started.append({"workers": workers}) or 0)
    for name in setting_names():  # serve() exports every setting: restored after the test
        monkeypatch.delenv("FNO_GATEWAY_" + name.upper(), raising=False)
    port = _free_port()  # serve() checks the port first (8000 may be taken by a gateway the user runs)
    cli.serve(Settings(workers=2, dataverse_db="none", port=port))
    key = os.environ["FNO_GATEWAY_SIGNING_KEY"]
    assert len(key) >= 40 and started[0]["workers"] == 2
    assert cli.settings_from_environment().signing_key == key  # what each worker's app is built with
    cli.serve(Settings(workers=2, dataverse_db="none", port=port))
    assert os.environ["FNO_GATEWAY_SIGNING_KEY"] != key  # a new start draws a new key
    cli.serve(Settings(workers=2, dataverse_db="none", signing_key="given", port=port))
    assert os.environ["FNO_GATEWAY_SIGNING_KEY"] == "given"


@pytest.mark.e2e
def test_next_links_work_across_the_workers_of_one_serve(tmp_path: Path) -> None:
    """`serve --workers 2` without a key: every nextLink, each on a new connection (so on either
    worker), is accepted; with a key drawn per worker about half of them would be refused."""
    url = f"sqlite:///{tmp_path / 'fno.db'}"
    build_demo_database(url, scale=0.05, seed=42, progress=False)
    port = _free_port()
    log = tmp_path / "server.log"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FNO_GATEWAY_")}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*_command(), "serve", "--db", url, "--port", str(port), "--workers", "2", "--dataverse-db", "none",
             *server_arguments()],
            stdout=sink, stderr=subprocess.STDOUT, env=environment,
        )
    try:
        base = f"http://127.0.0.1:{port}/data/"
        _wait_until_up(process, base, log)
        link = base + "SalesOrderLines?$select=LineAmount&$orderby=LineAmount desc"
        pages = 0
        while link and pages < 30:
            with httpx2.Client(timeout=30) as fresh:  # a new connection: the kernel picks the worker
                response = fresh.get(link, headers={"Prefer": "odata.maxpagesize=3", **bearer()})
            assert response.status_code == 200, response.text
            link = response.json().get("@odata.nextLink")
            pages += 1
        assert pages == 30
    finally:
        stop_process(process)
