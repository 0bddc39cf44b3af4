"""System query option names in any case, with or without `$` (OData 4.01 Part 2 §5: "the $ prefix is
optional" and names are case-insensitive), beside custom options that only look alike — compared with
a hand-written query over the customer groups' table."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from gateway.demo import schema
from tests.conftest import Backend

GROUPS = schema.CUSTGROUP


def _expected(backend: Backend, top: int | None = None) -> list[str]:
    """usmf's customer groups whose NAME sorts before 'M', by id descending."""
    with backend.engine.connect() as connection:
        rows = connection.execute(select(GROUPS.c.CUSTGROUP, GROUPS.c.NAME).where(GROUPS.c.DATAAREAID == "usmf"))
        ids = sorted((group for group, name in rows if name is not None and name < "M"), reverse=True)
    return ids if top is None else ids[:top]


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["CustomerGroupId"] for row in response.json()["value"]]


SPELLINGS = [
    ("$filter", "$orderby", "$select", "$top"),
    ("filter", "orderby", "select", "top"),
    ("FILTER", "ORDERBY", "SELECT", "TOP"),
    ("$Filter", "$OrderBy", "$Select", "$Top"),
    ("Filter", "orderBy", "$SELECT", "top"),
]


@pytest.mark.parametrize("names", SPELLINGS, ids=["-".join(names) for names in SPELLINGS])
def test_every_spelling_of_the_system_options(client: TestClient, backend: Backend, names: tuple[str, ...]) -> None:
    filter_, orderby, select_, top = names
    query = {filter_: "Description lt 'M'", orderby: "CustomerGroupId desc", select_: "CustomerGroupId", top: "3"}
    response = client.get("/data/CustomerGroups", params=query)
    assert _ids(response) == _expected(backend, 3)
    assert set(response.json()["value"][0]) <= {"CustomerGroupId", "@odata.etag"}  # $select applied


@pytest.mark.parametrize("custom", ["filtered", "topic", "sap-client", "selection", "x-top"])
def test_a_custom_option_that_looks_alike_does_not_clash(client: TestClient, backend: Backend, custom: str) -> None:
    """Custom options are names that are not system options, whatever they start with: ignored here."""
    query = {"FILTER": "Description lt 'M'", "$orderby": "CustomerGroupId desc", custom: "1", "top": "2"}
    assert _ids(client.get("/data/CustomerGroups", params=query)) == _expected(backend, 2)


@pytest.mark.parametrize(("first", "second"), [("$top", "top"), ("top", "TOP"), ("$Filter", "filter")])
def test_two_spellings_of_one_option_are_the_same_option(client: TestClient, first: str, second: str) -> None:
    """`top` is `$top`, not a custom option beside it: given twice, it is a 400 naming the option."""
    value = "1" if "top" in first.lower() else "CustomerGroupId ne ''"
    response = client.get("/data/CustomerGroups", params=[(first, value), (second, value)])
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "InvalidQueryOption" and "more than once" in error["message"]
    assert error["target"] == "$" + first.lstrip("$").lower()
