"""OData-Version / OData-MaxVersion negotiation (OData 4.01 Part 1 §8.1.5, §8.2.6, ABNF `odata-version`).

The service writes OData 4.0 payloads and understands 4.0 and 4.01 requests: a MaxVersion of 4.0 or
more gets a 4.0 answer (what a request without the header gets), one below 4.0 a 400; an OData-Version
other than 4.0 / 4.01 is a 400 too. The data answered is compared with the physical tables."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from gateway.demo import schema
from tests.conftest import Backend
from tests.write.batch_support import accounts, customer, new_tag, removing

ACCEPTED = [{}, {"OData-MaxVersion": "4.0"}, {"OData-MaxVersion": "4.01"}, {"OData-MaxVersion": "5.0"},
            {"OData-Version": "4.0"}, {"OData-Version": "4.01", "OData-MaxVersion": "4.01"}]
REFUSED = [({"OData-MaxVersion": "3.0"}, "cannot answer in an earlier version"),
           ({"OData-MaxVersion": "2.0"}, "cannot answer in an earlier version"),
           ({"OData-MaxVersion": "four"}, "is not a version"),
           ({"OData-Version": "5.0"}, "is not one this service understands"),
           ({"OData-Version": "4.02"}, "is not one this service understands"),
           ({"OData-Version": "3.0", "OData-MaxVersion": "4.0"}, "is not one this service understands"),
           ({"OData-Version": "4"}, "is not a version")]


@pytest.fixture
def tagged(backend: Backend) -> Iterator[list[str]]:
    yield from removing(backend)


def _companies(backend: Backend) -> list[str]:
    with backend.engine.connect() as connection:
        return sorted(row[0] for row in connection.execute(select(schema.DATAAREA.c.ID)))


@pytest.mark.parametrize("headers", ACCEPTED, ids=lambda headers: ",".join(f"{k}={v}" for k, v in headers.items()) or "none")
def test_a_version_the_service_can_answer_in_gets_a_4_0_answer(
    client: TestClient, backend: Backend, headers: dict[str, str]
) -> None:
    response = client.get("/data/LegalEntities?$select=LegalEntityId&$orderby=LegalEntityId", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["OData-Version"] == "4.0"
    assert [row["LegalEntityId"] for row in response.json()["value"]] == _companies(backend)


@pytest.mark.parametrize(("headers", "says"), REFUSED, ids=[",".join(f"{k}={v}" for k, v in h.items()) for h, _ in REFUSED])
@pytest.mark.parametrize("path", ["/data/LegalEntities", "/data/", "/data/$metadata", "/data/$batch"])
def test_a_version_the_service_cannot_honour_is_400(
    client: TestClient, headers: dict[str, str], says: str, path: str
) -> None:
    if path.endswith("$batch"):
        response = client.post(path, json={"requests": [{"id": "1", "method": "GET", "url": "LegalEntities"}]},
                               headers=headers)
    else:
        response = client.get(path, headers=headers)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "BadRequest" and says in error["message"]
    assert response.headers["OData-Version"] == "4.0"


def test_a_refused_write_writes_nothing(client: TestClient, backend: Backend, tagged: list[str]) -> None:
    tag = new_tag("V")
    tagged.append(tag)
    response = client.post("/data/CustomersV3", json=customer(f"{tag}-1"), headers={"OData-Version": "5.0"})
    assert response.status_code == 400 and "OData-Version" in response.json()["error"]["message"]
    assert accounts(backend, tag) == []


def test_each_request_of_a_batch_is_held_to_its_own_headers(
    client: TestClient, backend: Backend, tagged: list[str]
) -> None:
    """Part 1 §8.2.6: OData-MaxVersion on a request inside a batch applies to that request."""
    tag = new_tag("V")
    tagged.append(tag)
    batch = {"requests": [
        {"id": "old", "method": "POST", "url": "CustomersV3", "headers": {"odata-maxversion": "3.0"},
         "body": customer(f"{tag}-1")},
        {"id": "new", "method": "POST", "url": "CustomersV3", "headers": {"odata-maxversion": "4.0"},
         "body": customer(f"{tag}-2")},
    ]}
    response = client.post("/data/$batch", json=batch, headers={"Prefer": "odata.continue-on-error"})
    assert response.status_code == 200, response.text
    answers = {item["id"]: item for item in response.json()["responses"]}
    assert answers["old"]["status"] == 400 and "OData-MaxVersion 3.0" in answers["old"]["body"]["error"]["message"]
    assert answers["new"]["status"] == 201
    assert accounts(backend, tag) == [f"{tag}-2"]


@pytest.mark.parametrize(("max_version", "answered"), [(None, "4.0"), ("4.0", "4.0"), ("4.01", "4.01")])
def test_a_json_batch_answer_says_4_01_to_a_client_that_accepts_it(
    client: TestClient, backend: Backend, max_version: str | None, answered: str
) -> None:
    """The JSON batch format is 4.01's own: labelled so when the client accepts 4.01 answers (its
    responses' payloads stay 4.0's)."""
    headers = {} if max_version is None else {"OData-MaxVersion": max_version}
    batch = {"requests": [{"id": "1", "method": "GET", "url": "LegalEntities/$count"}]}
    response = client.post("/data/$batch", json=batch, headers=headers)
    assert response.status_code == 200 and response.headers["OData-Version"] == answered
    with backend.engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(schema.DATAAREA)).scalar_one()
    assert response.json()["responses"][0]["body"] == str(count)
