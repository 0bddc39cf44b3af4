"""Writes on virtual tables (DOMAIN.md §5): POST, PATCH and DELETE on /api/data/v9.2's `mserp_` tables go
to the F&O entity's own write path and land in the F&O physical tables, checked here with hand-written
SQL on a fresh F&O database per backend (never the session's shared one, which stays read-only).

What is checked: the Guid of a created row is the contract's (entity number + root RECID), values land in
CUSTTABLE/DIRPARTYTABLE/SALESLINE as the entity maps them (option sets as the enum's integer), ETags and
If-Match are the source's (the same ETag as /data's for the same row), errors name the virtual table's
columns and have Dataverse's shape, `Prefer` works as on /data, and a `$batch` change set refuses a
virtual-table write (one transaction cannot span the Dataverse store and the F&O tables).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import create_engine

from gateway.demo.generate import build_demo_database
from tests.conftest import BACKENDS, Backend
from tests.virtual.conftest import API, Virtual, close_virtual, dataverse_store, expected_guid, open_virtual

CUSTOMERS = f"{API}/mserp_custcustomerv3entities"
LINES = f"{API}/mserp_salesorderlineentities"
CUSTOMER_ENTITY = "CustCustomerV3Entity"
LINE_ENTITY = "SalesOrderLineEntity"
BLOCKED = {"No": 0, "Invoice": 1, "All": 2, "Payment": 3, "Requisition": 4, "Never": 5}  # CustVendorBlocked


@pytest.fixture(scope="module", params=BACKENDS)
def fresh(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtual]:
    """A gateway over an F&O database of this module's own (written by the tests), every table visible."""
    name = request.param
    tmp = tmp_path_factory.mktemp(f"vt-writes-{name}")
    try:
        # An empty database of its own (sqlite: a new file; servers: tables dropped), as the stores are made.
        url = dataverse_store(Backend(name, "", None), tmp, "fno_vt_writes")  # type: ignore[arg-type]
    except Exception as error:  # noqa: BLE001 - any connection failure means "server not here"
        pytest.skip(f"{name} server not reachable ({type(error).__name__}: {str(error).splitlines()[0]})")
    build_demo_database(url, scale=0.05, seed=11, progress=False)
    engine = create_engine(url)
    virtual = open_virtual(Backend(name, url, engine), tmp, "fno_vt_writes_dv")
    yield virtual
    close_virtual(virtual)
    engine.dispose()


# ---------------------------------------------------------------------- the oracle: plain SQL
def _customers(fresh: Virtual, company: str = "usmf") -> list[tuple[int, str]]:
    """(RECID, ACCOUNTNUM) of the customers of `company` that the entity shows (party joined inner)."""
    return [(int(recid), account) for recid, account in fresh.fo_sql(
        "SELECT c.RECID, c.ACCOUNTNUM FROM CUSTTABLE c JOIN DIRPARTYTABLE p ON p.RECID = c.PARTY "
        "WHERE c.DATAAREAID = :company ORDER BY c.ACCOUNTNUM", company=company)]


def _customer(fresh: Virtual, index: int, company: str = "usmf") -> tuple[str, str, int]:
    """The `index`-th customer of `company`: (its virtual URL by Guid, its account, its RECID). Each test
    takes its own index, so tests do not see each other's changes."""
    recid, account = _customers(fresh, company)[index]
    return f"{CUSTOMERS}({expected_guid(CUSTOMER_ENTITY, recid)})", account, recid


def _custtable(fresh: Virtual, recid: int) -> dict[str, Any]:
    rows = fresh.fo_sql("SELECT CREDITMAX, BLOCKED, CUSTGROUP, RECVERSION FROM CUSTTABLE WHERE RECID = :r", r=recid)
    assert len(rows) == 1, rows
    return dict(rows[0]._mapping)


def _customer_group(fresh: Virtual, company: str = "usmf") -> str:
    return str(fresh.fo_sql("SELECT MIN(CUSTGROUP) FROM CUSTGROUP WHERE DATAAREAID = :c", c=company)[0][0])


def _new_customer(fresh: Virtual, account: str, company: str = "usmf", **more: Any) -> dict[str, Any]:
    return {"mserp_dataareaid": company, "mserp_customeraccount": account,
            "mserp_organizationname": f"Virtual {account}", "mserp_customergroupid": _customer_group(fresh, company),
            **more}


def _error(response: Any, status: int, hexadecimal: str) -> dict[str, Any]:
    """The Dataverse-shaped error of a response: its hex code, the gateway's code in innererror.type."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == hexadecimal, error
    assert error["innererror"]["type"] and error["innererror"]["message"] == error["message"], error
    return error  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- create
def test_post_creates_the_customer_in_the_fo_tables(fresh: Virtual) -> None:
    body = _new_customer(fresh, "VTW-POST-1", mserp_creditlimit=1234.5, mserp_onholdstatus=BLOCKED["Invoice"])
    response = fresh.client.post(CUSTOMERS, json=body)
    assert response.status_code == 201, response.text

    rows = fresh.fo_sql(
        "SELECT c.RECID, c.DATAAREAID, c.CUSTGROUP, c.CREDITMAX, c.BLOCKED, p.NAME, p.PARTYNUMBER, p.PARTYTYPE "
        "FROM CUSTTABLE c JOIN DIRPARTYTABLE p ON p.RECID = c.PARTY WHERE c.ACCOUNTNUM = 'VTW-POST-1'")
    assert len(rows) == 1, rows
    recid, company, group, credit, blocked, name, party_number, party_type = rows[0]
    assert (company, group, name) == ("usmf", body["mserp_customergroupid"], "Virtual VTW-POST-1")
    assert Decimal(str(credit)) == Decimal("1234.5") and int(blocked) == BLOCKED["Invoice"]
    assert int(party_type) == 2  # DirPartyType Organization, the entity's default

    guid = expected_guid(CUSTOMER_ENTITY, int(recid))
    assert response.headers["location"].endswith(f"{CUSTOMERS}({guid})"), response.headers
    created = response.json()
    assert created["mserp_custcustomerv3entityid"] == guid
    assert created["mserp_primaryfield"] == "usmf|VTW-POST-1"
    assert created["mserp_partynumber"] == party_number  # from the party's number sequence
    assert created["@odata.etag"] == response.headers["etag"]
    # The Location is the row's: a GET there answers it.
    again = fresh.get(response.headers["location"])
    assert (again["mserp_customeraccount"], again["mserp_creditlimit"]) == ("VTW-POST-1", 1234.5)


def test_post_without_a_required_column_names_the_virtual_column(fresh: Virtual) -> None:
    body = _new_customer(fresh, "VTW-POST-2")
    del body["mserp_organizationname"]
    error = _error(fresh.client.post(CUSTOMERS, json=body), 400, "0x80048d19")
    assert "mserp_organizationname" in error["message"], error
    assert fresh.fo_sql("SELECT COUNT(*) FROM CUSTTABLE WHERE ACCOUNTNUM = 'VTW-POST-2'")[0][0] == 0


# ---------------------------------------------------------------------- update
def test_patch_by_guid_changes_the_credit_limit(fresh: Virtual) -> None:
    url, _, recid = _customer(fresh, 0)
    before = _custtable(fresh, recid)
    response = fresh.client.patch(url, json={"mserp_creditlimit": 4321.25})
    assert response.status_code == 204, response.text
    after = _custtable(fresh, recid)
    assert Decimal(str(after["CREDITMAX"])) == Decimal("4321.25")
    assert after["RECVERSION"] != before["RECVERSION"]
    assert response.headers["odata-entityid"].endswith(url)
    assert response.headers["etag"] == fresh.get(url)["@odata.etag"]


def test_patch_by_alternate_key_reaches_the_same_row(fresh: Virtual) -> None:
    url, account, recid = _customer(fresh, 1)
    response = fresh.client.patch(f"{CUSTOMERS}(mserp_dataareaid='usmf',mserp_customeraccount='{account}')",
                                  json={"mserp_creditlimit": 777})
    assert response.status_code == 204, response.text
    assert response.headers["odata-entityid"].endswith(url)  # answered with the Guid URL
    assert Decimal(str(_custtable(fresh, recid)["CREDITMAX"])) == 777


def test_stale_if_match_is_412_and_changes_nothing(fresh: Virtual) -> None:
    url, _, recid = _customer(fresh, 2)
    stale = fresh.get(url)["@odata.etag"]
    assert fresh.client.patch(url, json={"mserp_creditlimit": 100}).status_code == 204
    before = _custtable(fresh, recid)
    error = _error(fresh.client.patch(url, json={"mserp_creditlimit": 200}, headers={"If-Match": stale}),
                   412, "0x80060882")
    assert error["innererror"]["type"] == "PreconditionFailed"
    assert _custtable(fresh, recid) == before
    # The current ETag is accepted.
    current = fresh.get(url)["@odata.etag"]
    assert fresh.client.patch(url, json={"mserp_creditlimit": 300}, headers={"If-Match": current}).status_code == 204
    assert Decimal(str(_custtable(fresh, recid)["CREDITMAX"])) == 300


def test_the_etag_is_the_sources(fresh: Virtual) -> None:
    """Concurrency is F&O's: a virtual row's ETag is /data's ETag of the same row, so an ETag read on
    one endpoint guards a write on the other, and a write on /data makes the virtual ETag stale."""
    url, account, recid = _customer(fresh, 3)
    fo_url = f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{account}')"
    virtual_etag = fresh.get(url)["@odata.etag"]
    fo_etag = fresh.get(fo_url)["@odata.etag"]
    assert virtual_etag == fo_etag
    listed = fresh.get(f"{CUSTOMERS}?$select=mserp_customeraccount&$filter=mserp_customeraccount eq '{account}' "
                       "and mserp_dataareaid eq 'usmf'")["value"]
    assert [row["@odata.etag"] for row in listed] == [fo_etag]

    # /data's ETag works as If-Match on the virtual table ...
    response = fresh.client.patch(url, json={"mserp_creditlimit": 11}, headers={"If-Match": fo_etag})
    assert response.status_code == 204, response.text
    assert response.headers["etag"] == fresh.get(fo_url)["@odata.etag"]
    # ... and a write on /data makes the virtual table's ETag stale.
    read = fresh.get(url)["@odata.etag"]
    assert fresh.client.patch(fo_url, json={"CreditLimit": 12}).status_code == 204
    before = _custtable(fresh, recid)
    _error(fresh.client.patch(url, json={"mserp_creditlimit": 13}, headers={"If-Match": read}), 412, "0x80060882")
    assert _custtable(fresh, recid) == before and Decimal(str(before["CREDITMAX"])) == 12


def test_unknown_column_is_400_naming_the_virtual_column(fresh: Virtual) -> None:
    url, _, recid = _customer(fresh, 4)
    before = _custtable(fresh, recid)
    response = fresh.client.patch(url, json={"mserp_creditlimit": 5, "mserp_nosuchcolumn": 1})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"].startswith("0x") and error["target"] == "mserp_nosuchcolumn", error
    assert "mserp_nosuchcolumn" in error["message"]
    assert _custtable(fresh, recid) == before


def test_write_errors_do_not_name_the_fo_entity(fresh: Virtual) -> None:
    url, _, _ = _customer(fresh, 4)
    error = _error(fresh.client.patch(url, json={"mserp_nosuchcolumn": 1}), 400, "0x80060888")
    assert "CustomerV3" not in error["message"], error["message"]


@pytest.mark.parametrize("column", ["mserp_custcustomerv3entityid", "mserp_primaryfield"])
def test_the_guid_key_and_primary_field_cannot_be_written(fresh: Virtual, column: str) -> None:
    url, _, recid = _customer(fresh, 5)
    before = _custtable(fresh, recid)
    value = expected_guid(CUSTOMER_ENTITY, 1) if column.endswith("id") else "usmf|NEW"
    error = _error(fresh.client.patch(url, json={"mserp_creditlimit": 9, column: value}), 400, "0x80048d19")
    assert error["target"] == column and column in error["message"], error
    assert _custtable(fresh, recid) == before


@pytest.mark.parametrize("member", ["All", "Never"])
def test_an_option_set_integer_is_stored_as_the_enum_integer(fresh: Virtual, member: str) -> None:
    url, _, recid = _customer(fresh, 6)
    response = fresh.client.patch(url, json={"mserp_onholdstatus": BLOCKED[member]})
    assert response.status_code == 204, response.text
    assert int(_custtable(fresh, recid)["BLOCKED"]) == BLOCKED[member]
    shown = fresh.client.get(url, headers={"Prefer": 'odata.include-annotations="*"'}).json()
    assert shown["mserp_onholdstatus"] == BLOCKED[member]
    assert shown["mserp_onholdstatus@OData.Community.Display.V1.FormattedValue"] == member


@pytest.mark.parametrize(("body", "target"), [
    ({"mserp_creditlimit": "a lot"}, "mserp_creditlimit"),
    ({"mserp_creditlimit": [1]}, "mserp_creditlimit"),
    ({"mserp_onholdstatus": 99}, "mserp_onholdstatus"),  # not a member of the option set
    ({"mserp_organizationname": 5}, "mserp_organizationname"),
], ids=["text-for-decimal", "list-for-decimal", "unknown-option", "number-for-text"])
def test_a_bad_value_is_400_with_the_virtual_column_as_target(fresh: Virtual, body: dict[str, Any],
                                                              target: str) -> None:
    url, _, recid = _customer(fresh, 7)
    before = _custtable(fresh, recid)
    error = _error(fresh.client.patch(url, json=body), 400, "0x80048d19")
    assert error["target"] == target and target in error["message"], error
    assert _custtable(fresh, recid) == before


# ---------------------------------------------------------------------- delete
def test_delete_of_a_sales_order_line_removes_the_salesline_row(fresh: Virtual) -> None:
    recid, lot = fresh.fo_sql("SELECT RECID, INVENTTRANSID FROM SALESLINE WHERE DATAAREAID = 'usmf' "
                              "ORDER BY RECID")[0]
    url = f"{LINES}({expected_guid(LINE_ENTITY, int(recid))})"
    assert fresh.get(url)["mserp_inventorylotid"] == lot
    response = fresh.client.delete(url)
    assert response.status_code == 204, response.text
    assert fresh.fo_sql("SELECT COUNT(*) FROM SALESLINE WHERE RECID = :r", r=recid)[0][0] == 0
    _error(fresh.client.get(url), 404, "0x80040217")
    _error(fresh.client.delete(url), 404, "0x80040217")


# ---------------------------------------------------------------------- keys that are not the table's
def test_a_guid_of_another_entity_is_404(fresh: Virtual) -> None:
    """A sales line's Guid (a real RECID, another entity number) addresses no customer."""
    line_recid = int(fresh.fo_sql("SELECT MIN(RECID) FROM SALESLINE")[0][0])
    _, _, customer_recid = _customer(fresh, 8)
    foreign = f"{CUSTOMERS}({expected_guid(LINE_ENTITY, line_recid)})"
    disguised = f"{LINES}({expected_guid(CUSTOMER_ENTITY, customer_recid)})"  # a customer's RECID as a line
    before = _custtable(fresh, customer_recid)
    lines = fresh.fo_sql("SELECT COUNT(*) FROM SALESLINE")[0][0]
    for method, url, body in [("PATCH", foreign, {"mserp_creditlimit": 1}), ("POST", foreign, {"mserp_creditlimit": 1}),
                              ("DELETE", foreign, None), ("PATCH", disguised, {"mserp_salesprice": 1}),
                              ("DELETE", disguised, None)]:
        response = fresh.client.request(method, url, json=body)
        assert response.status_code == 404, (method, url, response.text)
        assert response.json()["error"]["code"] == "0x80040217"
    assert _custtable(fresh, customer_recid) == before
    assert fresh.fo_sql("SELECT COUNT(*) FROM SALESLINE")[0][0] == lines


# ---------------------------------------------------------------------- Prefer
def test_return_representation_answers_the_row_in_virtual_names(fresh: Virtual) -> None:
    url, account, recid = _customer(fresh, 9)
    response = fresh.client.patch(url, json={"mserp_creditlimit": 2468, "mserp_onholdstatus": BLOCKED["Payment"]},
                                  headers={"Prefer": "return=representation"})
    assert response.status_code == 200, response.text
    assert "return=representation" in response.headers.get("preference-applied", "")
    row = response.json()
    assert row["@odata.context"].endswith("$metadata#mserp_custcustomerv3entities/$entity")
    assert row["mserp_custcustomerv3entityid"] == expected_guid(CUSTOMER_ENTITY, recid)
    assert (row["mserp_customeraccount"], row["mserp_creditlimit"], row["mserp_onholdstatus"]) == \
        (account, 2468, BLOCKED["Payment"])
    assert all(name.startswith(("mserp_", "_mserp_", "@")) for name in row), sorted(row)
    assert row == fresh.get(url)  # exactly what a GET shows
    assert Decimal(str(_custtable(fresh, recid)["CREDITMAX"])) == 2468

    created = fresh.client.post(CUSTOMERS, json=_new_customer(fresh, "VTW-REPR-1"),
                                headers={"Prefer": "return=minimal"})
    assert created.status_code == 204 and not created.content, created.text
    recid = int(fresh.fo_sql("SELECT RECID FROM CUSTTABLE WHERE ACCOUNTNUM = 'VTW-REPR-1'")[0][0])
    assert created.headers["odata-entityid"].endswith(f"{CUSTOMERS}({expected_guid(CUSTOMER_ENTITY, recid)})")


def test_a_dry_run_answers_as_usual_and_writes_nothing(fresh: Virtual) -> None:
    url, _, recid = _customer(fresh, 10)
    before = _custtable(fresh, recid)
    customers = fresh.fo_sql("SELECT COUNT(*) FROM CUSTTABLE")[0][0]
    parties = fresh.fo_sql("SELECT COUNT(*) FROM DIRPARTYTABLE")[0][0]
    lines = fresh.fo_sql("SELECT COUNT(*) FROM SALESLINE")[0][0]
    line_recid = int(fresh.fo_sql("SELECT MAX(RECID) FROM SALESLINE WHERE DATAAREAID = 'usmf'")[0][0])
    dry = {"Prefer": "tx=rollback"}

    patched = fresh.client.patch(url, json={"mserp_creditlimit": 999999}, headers=dry)
    assert patched.status_code == 204, patched.text
    assert "tx=rollback" in patched.headers["preference-applied"]
    created = fresh.client.post(CUSTOMERS, json=_new_customer(fresh, "VTW-DRY-1"), headers=dry)
    assert created.status_code == 201, created.text
    assert created.json()["mserp_customeraccount"] == "VTW-DRY-1"
    deleted = fresh.client.delete(f"{LINES}({expected_guid(LINE_ENTITY, line_recid)})", headers=dry)
    assert deleted.status_code == 204, deleted.text
    # A dry run still validates: a bad value is the same 400.
    _error(fresh.client.patch(url, json={"mserp_creditlimit": "x"}, headers=dry), 400, "0x80048d19")

    assert _custtable(fresh, recid) == before
    assert fresh.fo_sql("SELECT COUNT(*) FROM CUSTTABLE")[0][0] == customers
    assert fresh.fo_sql("SELECT COUNT(*) FROM DIRPARTYTABLE")[0][0] == parties
    assert fresh.fo_sql("SELECT COUNT(*) FROM SALESLINE")[0][0] == lines
    assert fresh.fo_sql("SELECT COUNT(*) FROM CUSTTABLE WHERE ACCOUNTNUM = 'VTW-DRY-1'")[0][0] == 0


def test_a_dry_run_representation_has_the_virtual_tables_shape(fresh: Virtual) -> None:
    url, _, _ = _customer(fresh, 11)
    body = {"mserp_creditlimit": 31, "mserp_onholdstatus": BLOCKED["All"]}
    real = fresh.client.patch(url, json=body, headers={"Prefer": "return=representation"}).json()
    dry = fresh.client.patch(url, json={**body, "mserp_creditlimit": 32},
                             headers={"Prefer": "return=representation, tx=rollback"})
    assert dry.status_code == 200, dry.text
    shown = dry.json()
    assert shown["mserp_onholdstatus"] == BLOCKED["All"] and shown["mserp_partytype"] == real["mserp_partytype"]
    assert set(shown) == set(real)


# ---------------------------------------------------------------------- $batch
def test_a_change_set_refuses_a_virtual_table_write(fresh: Virtual) -> None:
    """A change set is one transaction on the Dataverse store: a virtual-table write in it is refused
    with a message that says why, the change set's native write is not applied either, and the same
    kind of write outside a change set in the same batch is applied."""
    grouped_url, grouped_account, grouped_recid = _customer(fresh, 12)
    alone_url, _, alone_recid = _customer(fresh, 13)
    grouped_before = _custtable(fresh, grouped_recid)
    symbol = "vtwz" + fresh.name[:2]
    batch = {"requests": [
        {"id": "virtual", "method": "PATCH", "atomicityGroup": "g", "body": {"mserp_creditlimit": 5151},
         "url": f"mserp_custcustomerv3entities(mserp_dataareaid='usmf',mserp_customeraccount='{grouped_account}')"},
        {"id": "native", "method": "POST", "url": "uoms", "atomicityGroup": "g",
         "body": {"msdyn_symbol": symbol, "name": "virtual batch"}},
        {"id": "alone", "method": "PATCH", "url": alone_url.removeprefix(API + "/"), "body": {"mserp_creditlimit": 6262}},
    ]}
    response = fresh.client.post(f"{API}/$batch", json=batch, headers={"Prefer": "odata.continue-on-error"})
    assert response.status_code == 200, response.text
    answers = {item["id"]: item for item in response.json()["responses"]}
    assert answers["virtual"]["status"] == 400, answers
    refusal = answers["virtual"]["body"]["error"]
    assert refusal["code"] == "0x80048d19" and "change set" in refusal["message"], refusal
    assert "outside the change set" in refusal["message"]
    assert answers["native"]["status"] == 424, answers
    assert answers["alone"]["status"] == 204, answers
    assert answers["alone"]["headers"]["odata-entityid"].endswith(alone_url)

    assert _custtable(fresh, grouped_recid) == grouped_before
    assert fresh.dv_sql("SELECT COUNT(*) FROM uom WHERE msdyn_symbol = :s", s=symbol)[0][0] == 0
    assert Decimal(str(_custtable(fresh, alone_recid)["CREDITMAX"])) == 6262

    # The multipart form refuses it the same way.
    multipart = ("--b\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n"
                 "--cs\r\nContent-Type: application/http\r\nContent-ID: 1\r\n\r\n"
                 f"PATCH {grouped_url.removeprefix(API + '/')} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
                 '{"mserp_creditlimit": 7373}\r\n--cs--\r\n--b--\r\n')
    response = fresh.client.post(f"{API}/$batch", content=multipart.encode(),
                                 headers={"Content-Type": "multipart/mixed; boundary=b"})
    assert response.status_code == 200, response.text
    assert "HTTP/1.1 400" in response.text and "change set" in response.text, response.text
    assert _custtable(fresh, grouped_recid) == grouped_before


def test_the_failed_dependencies_of_a_refused_change_set_have_dataverses_shape(fresh: Virtual) -> None:
    _, account, _ = _customer(fresh, 12)
    batch = {"requests": [
        {"id": "virtual", "method": "PATCH", "atomicityGroup": "g", "body": {"mserp_creditlimit": 1},
         "url": f"mserp_custcustomerv3entities(mserp_dataareaid='usmf',mserp_customeraccount='{account}')"},
        {"id": "native", "method": "POST", "url": "uoms", "atomicityGroup": "g",
         "body": {"msdyn_symbol": "vtwq", "name": "virtual batch"}},
    ]}
    answers = fresh.client.post(f"{API}/$batch", json=batch).json()["responses"]
    error = {item["id"]: item for item in answers}["native"]["body"]["error"]
    assert error["code"].startswith("0x") and error["innererror"]["type"] == "FailedDependency", error


# ---------------------------------------------------------------------- companies
@pytest.mark.parametrize("method", ["PATCH", "DELETE", "POST"])
def test_writes_reach_every_company_the_table_shows(fresh: Virtual, method: str) -> None:
    if method == "PATCH":
        url, _, recid = _customer(fresh, 0, company="usrt")
        response = fresh.client.patch(url, json={"mserp_creditlimit": 8080})
        assert response.status_code == 204, response.text
        assert Decimal(str(_custtable(fresh, recid)["CREDITMAX"])) == 8080
    elif method == "DELETE":
        recid = int(fresh.fo_sql("SELECT MIN(RECID) FROM SALESLINE WHERE DATAAREAID = 'demf'")[0][0])
        response = fresh.client.delete(f"{LINES}({expected_guid(LINE_ENTITY, recid)})")
        assert response.status_code == 204, response.text
        assert fresh.fo_sql("SELECT COUNT(*) FROM SALESLINE WHERE RECID = :r", r=recid)[0][0] == 0
    else:
        response = fresh.client.post(CUSTOMERS, json=_new_customer(fresh, "VTW-USRT-1", company="usrt"))
        assert response.status_code == 201, response.text
        rows = fresh.fo_sql("SELECT DATAAREAID FROM CUSTTABLE WHERE ACCOUNTNUM = 'VTW-USRT-1'")
        assert [row[0] for row in rows] == ["usrt"]
