"""$select of a navigation property (OData 4.01 5.1.3, what the SAP Cloud SDK v4 sends beside $expand),
and the preferences a read names in Preference-Applied (and the one it does not: odata.track-changes).

Rows are compared with the oracle's hand-written queries over the physical tables."""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import quote

from starlette.testclient import TestClient

from tests import oracle
from tests.conftest import Backend

FULL = "application/json;odata.metadata=full"
US001_KEY = "(dataAreaId='usmf',CustomerAccount='US-001')"


def _orders_by_customer(backend: Backend) -> dict[str, set[str]]:
    orders: dict[str, set[str]] = defaultdict(set)
    for row in oracle.sales_orders(backend.engine, ["usmf"]):
        orders[row["OrderingCustomerAccountNumber"]].add(row["SalesOrderNumber"])
    return orders


def test_select_with_expand_of_the_same_navigation_keeps_the_expansion(client: TestClient, backend: Backend) -> None:
    response = client.get("/data/CustomersV3", params={
        "$select": "CustomerAccount,SalesOrders", "$expand": "SalesOrders($select=SalesOrderNumber)",
        "$orderby": "CustomerAccount", "$top": "20"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith("#CustomersV3(CustomerAccount,SalesOrders())")
    expected = _orders_by_customer(backend)
    accounts = sorted(row["CustomerAccount"] for row in oracle.customers(backend.engine, ["usmf"]))[:20]
    assert [row["CustomerAccount"] for row in body["value"]] == accounts
    for row in body["value"]:
        assert set(row) == {"@odata.etag", "CustomerAccount", "SalesOrders"}
        assert {order["SalesOrderNumber"] for order in row["SalesOrders"]} == expected[row["CustomerAccount"]]


def test_select_of_a_navigation_alone_with_expand(client: TestClient, backend: Backend) -> None:
    response = client.get(f"/data/CustomersV3{US001_KEY}", params={"$select": "SalesOrders", "$expand": "SalesOrders"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert not any(name in body for name in ("CustomerAccount", "OrganizationName", "CreditLimit"))
    assert {order["SalesOrderNumber"] for order in body["SalesOrders"]} == _orders_by_customer(backend)["US-001"]


def test_select_of_a_navigation_without_expand_minimal_adds_nothing(client: TestClient) -> None:
    response = client.get("/data/CustomersV3", params={"$select": "CustomerAccount,SalesOrders", "$top": "3"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith("#CustomersV3(CustomerAccount,SalesOrders)")
    for row in body["value"]:
        assert set(row) == {"@odata.etag", "CustomerAccount"}


def test_select_of_a_navigation_without_expand_full_gives_its_link(client: TestClient, backend: Backend) -> None:
    response = client.get("/data/CustomersV3", params={
        "$select": "CustomerAccount,SalesOrders",
        "$orderby": "CustomerAccount", "$top": "5", "$format": FULL})
    assert response.status_code == 200, response.text
    expected = _orders_by_customer(backend)
    for row in response.json()["value"]:
        key = f"(dataAreaId='usmf',CustomerAccount='{row['CustomerAccount']}')"
        assert row["SalesOrders@odata.navigationLink"] == f"CustomersV3{key}/SalesOrders"
        assert "CustomerGroup@odata.navigationLink" not in row  # not selected
        assert "SalesOrders" not in row  # a link, not the orders
        # The link is relative to the service root (the context URL's base) and leads to the orders.
        followed = client.get("/data/" + quote(row["SalesOrders@odata.navigationLink"], safe="/()=',"),
                              params={"$select": "SalesOrderNumber"})
        assert followed.status_code == 200, followed.text
        assert {order["SalesOrderNumber"] for order in followed.json()["value"]} == expected[row["CustomerAccount"]]


def test_full_metadata_without_select_links_every_navigation(sqlite_client: TestClient) -> None:
    row = sqlite_client.get(f"/data/CustomersV3{US001_KEY}", params={"$format": FULL}).json()
    links = sorted(name.split("@")[0] for name in row if name.endswith("@odata.navigationLink"))
    metadata = sqlite_client.get("/data/$metadata", params={"$format": "json"}).json()
    entity_type = metadata["Microsoft.Dynamics.DataEntities"]["CustomerV3"]
    declared = sorted(name for name, member in entity_type.items()
                      if isinstance(member, dict) and member.get("$Kind") == "NavigationProperty")
    assert links == declared


def test_select_through_a_navigation_is_a_bad_request(sqlite_client: TestClient) -> None:
    response = sqlite_client.get("/data/CustomersV3", params={"$select": "CustomerGroup/Description"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"
    assert "$expand=CustomerGroup" in response.json()["error"]["message"]


# ------------------------------------------------------------------------------------- preferences
def test_track_changes_is_not_applied(sqlite_client: TestClient) -> None:
    """No change tracking: the preference is ignored, never named as applied, and no deltaLink comes."""
    response = sqlite_client.get("/data/CustomersV3", params={"$top": "2"},
                                 headers={"Prefer": "odata.track-changes"})
    assert response.status_code == 200
    assert "preference-applied" not in response.headers
    assert "@odata.deltaLink" not in response.json()


def test_only_applied_preferences_are_named(sqlite_client: TestClient) -> None:
    response = sqlite_client.get("/data/CustomersV3", params={"$top": "5"},
                                 headers={"Prefer": "odata.track-changes, odata.maxpagesize=2"})
    assert response.status_code == 200
    assert response.headers["preference-applied"] == "odata.maxpagesize=2"
    assert len(response.json()["value"]) == 2 and "@odata.nextLink" in response.json()
    assert "@odata.deltaLink" not in response.json()


def test_include_annotations_is_named_when_applied(sqlite_client: TestClient) -> None:
    prefer = 'odata.include-annotations="OData.Community.Display.V1.FormattedValue",odata.track-changes'
    response = sqlite_client.get("/data/CustomersV3", params={"$top": "2", "$select": "OnHoldStatus"},
                                 headers={"Prefer": prefer + ",odata.maxpagesize=1"})
    assert response.status_code == 200
    applied = [part.strip() for part in response.headers["preference-applied"].split(",")]
    assert sorted(applied) == sorted(['odata.maxpagesize=1',
                                      'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'])
