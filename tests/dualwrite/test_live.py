"""Live sync over HTTP on both endpoints: the business cases, filters, refusals, limits, no echo.

Every check reads the physical tables of the other database with plain SQL.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import create_engine

from gateway.dualwrite.store import RUNNING
from tests.dualwrite.conftest import Sides

ORGANIZATION = "Microsoft.Dynamics.DataEntities.DirPartyType'Organization'"


def organization(sides: Sides, index: int = 0) -> dict[str, Any]:
    """An organization customer of usmf (straight from the F&O tables) and its account's Guid."""
    rows = sides.fo_sql(
        'SELECT c."ACCOUNTNUM" AS account FROM "CUSTTABLE" c JOIN "DIRPARTYTABLE" p ON p."RECID" = c."PARTY" '
        "WHERE c.\"DATAAREAID\" = 'usmf' AND p.\"PARTYTYPE\" = 2 ORDER BY c.\"ACCOUNTNUM\"")
    account = rows[index].account
    return {"account": account, "accountid": account_row(sides, account).accountid}


def account_row(sides: Sides, account: str, company: str = "usmf") -> Any:
    rows = sides.dv_sql(
        "SELECT a.* FROM account a JOIN cdm_company c ON c.cdm_companyid = a.msdyn_company "
        "WHERE a.accountnumber = :account AND c.cdm_companycode = :company", account=account, company=company)
    assert len(rows) <= 1
    return rows[0] if rows else None


def customer_row(sides: Sides, account: str, company: str = "usmf") -> Any:
    rows = sides.fo_sql(
        'SELECT c."CREDITMAX" AS credit, c."BLOCKED" AS blocked, p."NAME" AS name, a."STREET" AS street, '
        'a."CITY" AS city, a."ZIPCODE" AS zip FROM "CUSTTABLE" c JOIN "DIRPARTYTABLE" p ON p."RECID" = c."PARTY" '
        'LEFT JOIN "LOGISTICSPOSTALADDRESS" a ON a."RECID" = p."PRIMARYADDRESS" '
        'WHERE c."DATAAREAID" = :company AND c."ACCOUNTNUM" = :account', account=account, company=company)
    return rows[0] if rows else None


def change_logs(sides: Sides) -> tuple[int, int]:
    count = 'SELECT count(*) FROM "DUALWRITECHANGES"'
    return sides.fo_sql(count)[0][0], sides.dv_sql(count)[0][0]


# ---------------------------------------------------------------- the two business cases
def test_address_changed_on_the_account_reaches_fo_at_once(sides: Sides) -> None:
    customer = organization(sides, 0)
    response = sides.client.patch(
        f"/api/data/v9.2/accounts({customer['accountid']})",
        json={"address1_line1": "500 Pine Street", "address1_city": "Seattle", "address1_postalcode": "98101"})
    assert response.status_code == 204, response.text
    row = customer_row(sides, customer["account"])
    assert (row.street, row.city, row.zip) == ("500 Pine Street", "Seattle", "98101")
    assert change_logs(sides) == (0, 0)  # nothing echoes: neither side captured the sync's own writes


def test_credit_limit_raised_on_the_account_is_the_customers_credit_limit(sides: Sides) -> None:
    customer = organization(sides, 1)
    sides.fo_exec('UPDATE "CUSTTABLE" SET "CREDITMAX" = 2000 WHERE "DATAAREAID" = \'usmf\' AND "ACCOUNTNUM" = :a',
                  a=customer["account"])
    sides.drain()
    assert Decimal(str(account_row(sides, customer["account"]).creditlimit)) == 2000
    response = sides.client.patch(f"/api/data/v9.2/accounts({customer['accountid']})", json={"creditlimit": 5000})
    assert response.status_code == 204, response.text
    assert Decimal(str(customer_row(sides, customer["account"]).credit)) == 5000
    # ... and F&O's own endpoint says so too
    body = sides.client.get(f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{customer['account']}')").json()
    assert body["CreditLimit"] == 5000


def test_fo_writes_reach_the_account(sides: Sides) -> None:
    customer = organization(sides, 2)
    url = f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{customer['account']}')"
    response = sides.client.patch(url, json={"OrganizationName": "Contoso Renamed", "OnHoldStatus": "Invoice"})
    assert response.status_code == 204, response.text
    account = account_row(sides, customer["account"])
    assert account.name == "Contoso Renamed"
    assert bool(account.creditonhold) is True  # any hold status but No is "on hold"
    response = sides.client.patch(f"/api/data/v9.2/accounts({customer['accountid']})", json={"creditonhold": False})
    assert response.status_code == 204
    assert customer_row(sides, customer["account"]).blocked == 0  # false → No


def test_created_customer_is_created_account_and_back(sides: Sides) -> None:
    number = "DW-" + uuid.uuid4().hex[:6].upper()
    response = sides.client.post("/data/CustomersV3", json={
        "dataAreaId": "usrt", "CustomerAccount": number, "OrganizationName": "New Org", "CustomerGroupId": "",
        "CreditLimit": 100, "AddressCity": "Redmond"})
    assert response.status_code == 201, response.text
    account = account_row(sides, number, "usrt")
    assert (account.name, account.address1_city, account.customertypecode) == ("New Org", "Redmond", 3)
    # A Dataverse-side create becomes an F&O customer (with its party and address).
    company = sides.dv_sql("SELECT cdm_companyid FROM cdm_company WHERE cdm_companycode = 'demf'")[0][0]
    other = "DW-" + uuid.uuid4().hex[:6].upper()
    response = sides.client.post("/api/data/v9.2/accounts", json={
        "name": "Made in Dataverse", "accountnumber": other, "_msdyn_company_value": company,
        "creditlimit": 750, "address1_line1": "Hauptstr. 1", "customertypecode": 3})
    assert response.status_code == 201, response.text
    row = customer_row(sides, other, "demf")
    assert (row.name, Decimal(str(row.credit)), row.street) == ("Made in Dataverse", 750, "Hauptstr. 1")
    # Fields the create left out agree too: creditonhold is false (Dataverse's default), not null beside "No".
    made = account_row(sides, other, "demf")
    assert (row.blocked, made.creditonhold is not None and not made.creditonhold) == (0, True)
    assert change_logs(sides) == (0, 0)


def test_delete_on_one_side_deletes_on_the_other(sides: Sides) -> None:
    number = "DW-" + uuid.uuid4().hex[:6].upper()
    assert sides.client.post("/data/CustomersV3", json={
        "dataAreaId": "usmf", "CustomerAccount": number, "OrganizationName": "Short-lived"}).status_code == 201
    accountid = account_row(sides, number).accountid
    assert sides.client.delete(f"/api/data/v9.2/accounts({accountid})").status_code == 204
    assert customer_row(sides, number) is None


# ---------------------------------------------------------------- what is not synced
def test_persons_are_not_accounts(sides: Sides) -> None:
    number = "DW-" + uuid.uuid4().hex[:6].upper()
    response = sides.client.post("/data/CustomersV3", json={
        "dataAreaId": "usmf", "CustomerAccount": number, "OrganizationName": "Jane Doe", "PartyType": "Person"})
    assert response.status_code == 201
    assert account_row(sides, number) is None  # the map's F&O filter keeps persons out
    accounts = sides.dv_sql("SELECT count(*) FROM account")[0][0]
    organizations = sides.fo_sql('SELECT count(*) FROM "CUSTTABLE" c JOIN "DIRPARTYTABLE" p ON p."RECID" = c."PARTY" '
                                 'WHERE p."PARTYTYPE" = 2')[0][0]
    assert accounts == organizations


def test_one_way_maps_do_not_flow_back(sides: Sides) -> None:
    before = sides.fo_sql('SELECT "NAME" FROM "DATAAREA" WHERE "ID" = \'usmf\'')[0][0]
    companyid = sides.dv_sql("SELECT cdm_companyid FROM cdm_company WHERE cdm_companycode = 'usmf'")[0][0]
    response = sides.client.patch(f"/api/data/v9.2/cdm_companies({companyid})", json={"cdm_name": "Renamed in DV"})
    assert response.status_code == 204
    assert sides.fo_sql('SELECT "NAME" FROM "DATAAREA" WHERE "ID" = \'usmf\'')[0][0] == before


# ---------------------------------------------------------------- refusals roll the origin back
def test_other_side_constraint_violation_rolls_back_and_names_the_map(sides: Sides) -> None:
    first, second = organization(sides, 3), organization(sides, 9)
    before = customer_row(sides, first["account"])
    sides.dv_exec("UPDATE account SET name = 'DW-UNIQUE taken' WHERE accountid = :id", id=second["accountid"])
    sides.dv_exec("CREATE UNIQUE INDEX dw_test_unique_name ON account (name) WHERE substr(name, 1, 9) = 'DW-UNIQUE'")
    try:
        response = sides.client.patch(f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{first['account']}')",
                                      json={"OrganizationName": "DW-UNIQUE taken", "CreditLimit": 999})
    finally:
        sides.dv_exec("DROP INDEX dw_test_unique_name")
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "DualWriteFailed" and error["target"] == "Customers V3"
    assert "F&O → Dataverse" in error["message"]
    after = customer_row(sides, first["account"])
    assert (after.name, after.credit) == (before.name, before.credit)  # the F&O write was rolled back
    logged = sides.fo_sql('SELECT "KIND", "MAPNAME" FROM "DUALWRITEERROR" ORDER BY "SEQ" DESC')[0]
    assert (logged.KIND, logged.MAPNAME) == ("live", "Customers V3")


def test_other_side_validation_refuses(sides: Sides) -> None:
    customer = organization(sides, 10)
    before = account_row(sides, customer["account"])
    response = sides.client.patch(f"/api/data/v9.2/accounts({customer['accountid']})", json={"name": "N" * 150})
    assert response.status_code == 400, response.text
    assert "Dataverse → F&O" in response.json()["error"]["message"]  # F&O names hold 100 characters
    assert account_row(sides, customer["account"]).name == before.name


def test_missing_lookup_target_refuses(sides: Sides) -> None:
    customer = organization(sides, 11)
    group = sides.fo_sql('SELECT "CUSTGROUP" FROM "CUSTGROUP" WHERE "DATAAREAID" = \'usmf\' ORDER BY 1')[-1][0]
    sides.dv_exec("DELETE FROM msdyn_customergroup WHERE msdyn_groupid = :g", g=group)
    response = sides.client.patch(f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{customer['account']}')",
                                  json={"CustomerGroupId": group})
    assert response.status_code == 400, response.text
    assert "msdyn_customergroup" in response.json()["error"]["message"]


def test_other_database_down_refuses_with_503(sides: Sides) -> None:
    customer = organization(sides, 4)
    before = customer_row(sides, customer["account"])
    endpoint = sides.dual.dv
    working = endpoint.engine
    endpoint.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1})
    try:
        response = sides.client.patch(f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{customer['account']}')",
                                      json={"CreditLimit": 4242})
    finally:
        endpoint.engine.dispose()
        endpoint.engine = working
    assert response.status_code == 503, response.text
    assert "Customers V3" in response.json()["error"]["message"]
    assert customer_row(sides, customer["account"]).credit == before.credit


def test_dry_run_keeps_nothing_on_either_side(sides: Sides) -> None:
    customer = organization(sides, 5)
    before_fo, before_dv = customer_row(sides, customer["account"]), account_row(sides, customer["account"])
    response = sides.client.patch(f"/api/data/v9.2/accounts({customer['accountid']})", json={"creditlimit": 31337},
                                  headers={"Prefer": "tx=rollback"})
    assert response.status_code == 204
    assert customer_row(sides, customer["account"]).credit == before_fo.credit
    assert account_row(sides, customer["account"]).creditlimit == before_dv.creditlimit


def test_compensation_when_the_origin_commit_fails(sides: Sides, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.write import unit as unit_module

    customer = organization(sides, 6)
    before_dv = account_row(sides, customer["account"])
    original_exit = unit_module.WriteUnit.__exit__

    class CommitFails:
        """The origin's transaction, whose COMMIT fails (as a lost connection or a full disk would)."""

        def __init__(self, transaction: Any) -> None:
            self.transaction = transaction

        @property
        def is_active(self) -> bool:
            return bool(self.transaction.is_active)

        def commit(self) -> None:
            self.transaction.rollback()
            raise RuntimeError("commit failed")

        def rollback(self) -> None:
            self.transaction.rollback()

    def failing_commit(self: Any, kind: Any, error: Any, trace: Any) -> None:
        if self.hook is not None and self.catalog is sides.dual.fo.catalog:
            self._transaction = CommitFails(self._transaction)
        original_exit(self, kind, error, trace)

    monkeypatch.setattr(unit_module.WriteUnit, "__exit__", failing_commit)
    response = sides.client.patch(f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{customer['account']}')",
                                  json={"CreditLimit": 8888, "OrganizationName": "Never Kept"})
    monkeypatch.undo()
    assert response.status_code == 500
    after = account_row(sides, customer["account"])
    assert (after.name, after.creditlimit) == (before_dv.name, before_dv.creditlimit)
    assert sides.fo_sql('SELECT count(*) FROM "DUALWRITEINTENT"')[0][0] == 0
    assert sides.dv_sql('SELECT count(*) FROM "DUALWRITEINTENT"')[0][0] == 0
    kinds = [tuple(row) for row in sides.fo_sql('SELECT "CODE", "STATUS" FROM "DUALWRITEERROR" WHERE "KIND" = \'live\'')]
    assert ("Compensated", "Resolved") in kinds  # said, but nothing is left to do: no alert counts it


# ---------------------------------------------------------------- limits
def test_limits_refuse_big_transactions_and_jobs_take_orders(sides: Sides) -> None:
    sides.dual.limits.live_rows = 3
    try:
        customer = organization(sides, 7)
        requests = [{"id": str(i), "atomicityGroup": "g", "method": "PATCH",
                     "url": f"CustomersV3(dataAreaId='usmf',CustomerAccount='{organization(sides, i)['account']}')",
                     "body": {"CreditLimit": 100 + i}} for i in range(4)]
        response = sides.client.post("/data/$batch", json={"requests": requests})
        statuses = [item["status"] for item in response.json()["responses"]]
        assert statuses[0] == 400 and set(statuses[1:]) == {424}, response.text
        assert "live dual-write takes at most 3" in response.json()["responses"][0]["body"]["error"]["message"]
        # An order with five lines is beyond the limit too, but its maps have an integration job.
        order = "DW-" + uuid.uuid4().hex[:6].upper()
        requests = [{"id": "h", "atomicityGroup": "o", "method": "POST", "url": "SalesOrderHeadersV2", "body": {
            "dataAreaId": "usmf", "SalesOrderNumber": order, "OrderingCustomerAccountNumber": customer["account"]}}]
        item = sides.fo_sql('SELECT "ITEMID" FROM "INVENTTABLE" WHERE "DATAAREAID" = \'usmf\' ORDER BY "ITEMID"')[0][0]
        requests += [{"id": f"l{i}", "atomicityGroup": "o", "method": "POST", "url": "SalesOrderLines", "body": {
            "dataAreaId": "usmf", "InventoryLotId": f"{order}-{i}", "SalesOrderNumber": order, "ItemNumber": item,
            "OrderedSalesQuantity": i + 1}} for i in range(5)]
        response = sides.client.post("/data/$batch", json={"requests": requests})
        assert {item["status"] for item in response.json()["responses"]} == {201}, response.text
        assert sides.dv_sql("SELECT count(*) FROM salesorder WHERE msdyn_salesordernumber = :o", o=order)[0][0] == 0
        job = sides.fo_sql('SELECT "STATUS", "ROWS" FROM "DUALWRITEJOB"')[0]
        assert (job.STATUS, job.ROWS) == ("Queued", 6)
        sides.drain()
        job = sides.fo_sql('SELECT "STATUS", "ROWS", "APPLIED", "FAILED" FROM "DUALWRITEJOB"')[0]
        assert (job.STATUS, job.ROWS, job.APPLIED, job.FAILED) == ("Done", 6, 6, 0)
        lines = sides.dv_sql("SELECT d.quantity FROM salesorderdetail d JOIN salesorder o ON o.salesorderid = d.salesorderid "
                             "WHERE o.msdyn_salesordernumber = :o ORDER BY d.quantity", o=order)
        assert [int(row.quantity) for row in lines] == [1, 2, 3, 4, 5]
    finally:
        sides.dual.limits.live_rows = 1000


def test_time_limit(sides: Sides) -> None:
    sides.dual.limits.live_seconds = 0.0
    try:
        customer = organization(sides, 8)
        response = sides.client.patch(f"/api/data/v9.2/accounts({customer['accountid']})", json={"creditlimit": 1})
    finally:
        sides.dual.limits.live_seconds = 120.0
    assert response.status_code == 400
    assert "past the live limit" in response.json()["error"]["message"]


def test_every_map_is_running(sides: Sides) -> None:
    assert set(sides.dual.states().values()) == {RUNNING}


def test_dataverse_creates_without_numbers_get_autonumbers(sides: Sides) -> None:
    company = sides.dv_sql("SELECT cdm_companyid FROM cdm_company WHERE cdm_companycode = 'usmf'")[0][0]
    response = sides.client.post("/api/data/v9.2/accounts", json={
        "name": "Numbered by Dataverse", "_msdyn_company_value": company, "customertypecode": 3})
    assert response.status_code == 201, response.text
    number = response.json()["accountnumber"]
    assert number.startswith("ACC-") and len(number) == 10
    assert customer_row(sides, number).name == "Numbered by Dataverse"  # F&O has it under that number
    accountid = response.json()["accountid"]
    order = sides.client.post("/api/data/v9.2/salesorders", json={
        "_msdyn_company_value": company, "_customerid_value": accountid,
        "_transactioncurrencyid_value": sides.dv_sql("SELECT transactioncurrencyid FROM transactioncurrency "
                                                     "WHERE isocurrencycode = 'USD'")[0][0]})
    assert order.status_code == 201, order.text
    order_number = order.json()["msdyn_salesordernumber"]
    assert order_number.startswith("ORD-")
    header = sides.fo_sql('SELECT "CUSTACCOUNT", "CURRENCYCODE" FROM "SALESTABLE" WHERE "DATAAREAID" = \'usmf\' '
                          'AND "SALESID" = :n', n=order_number)
    assert [tuple(row) for row in header] == [(number, "USD")]


def test_a_lossy_value_map_keeps_fos_own_value(sides: Sides) -> None:
    customer = organization(sides, 12)
    url = f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{customer['account']}')"
    assert sides.client.patch(url, json={"OnHoldStatus": "Invoice"}).status_code == 204
    assert bool(account_row(sides, customer["account"]).creditonhold) is True
    # The account says "on hold" again (with another change): F&O keeps Invoice, it does not become All.
    response = sides.client.patch(f"/api/data/v9.2/accounts({customer['accountid']})",
                                  json={"creditonhold": True, "creditlimit": 1212})
    assert response.status_code == 204
    assert customer_row(sides, customer["account"]).blocked == 1  # Invoice
    assert sides.client.patch(f"/api/data/v9.2/accounts({customer['accountid']})",
                              json={"creditonhold": False}).status_code == 204
    assert customer_row(sides, customer["account"]).blocked == 0  # No
    assert sides.client.patch(f"/api/data/v9.2/accounts({customer['accountid']})",
                              json={"creditonhold": True}).status_code == 204
    assert customer_row(sides, customer["account"]).blocked == 2  # All: the map's choice for a new hold


def test_the_integration_key_cannot_change_once_synced(sides: Sides) -> None:
    customer = organization(sides, 13)
    response = sides.client.patch(f"/api/data/v9.2/accounts({customer['accountid']})",
                                  json={"accountnumber": "RENAMED-1"})
    assert response.status_code == 400, response.text
    assert "integration key" in response.json()["error"]["message"]
    assert account_row(sides, customer["account"]) is not None  # nothing changed on either side
    assert customer_row(sides, "RENAMED-1") is None
