"""Writes (POST, PATCH, PUT, DELETE) on /data, on every backend, checked against the physical F&O tables.

Every effect is verified with hand-written SQLAlchemy Core queries over gateway.demo.schema: which rows
exist in CUSTTABLE, DIRPARTYTABLE and LOGISTICSPOSTALADDRESS, how they link (PARTY, PRIMARYADDRESS),
which RECIDs and party numbers SYSTEMSEQUENCES handed out, how RECVERSION moved. Reading back through
the gateway is only ever a second opinion.

The demo database is shared by the whole session, so every test uses fresh keys ('T-<hex>') and the
`written` fixture deletes, after the test, every row whose RECID was handed out during the test (plus
rows with the test's keys), whatever the outcome.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx2
import pytest
from sqlalchemy import Engine, Table, delete, event, func, select, update
from starlette.testclient import TestClient

from gateway.catalog.load import DEFAULT_CATALOG, load_catalog
from gateway.demo import schema as s
from gateway.errors import InvalidValue
from gateway.write.values import parse_value
from tests.conftest import Backend, client_for, make_client
from tests.oracle import CUST_VENDOR_BLOCKED, DIR_PARTY_TYPE, as_utc_text

BASE = "http://testserver/data/"
# The tables these tests may write; the `written` fixture cleans them by RECID.
WRITTEN_TABLES = (s.CUSTTABLE, s.DIRPARTYTABLE, s.LOGISTICSPOSTALADDRESS, s.CUSTGROUP, s.SALESTABLE)
COUNTED_TABLES = (*WRITTEN_TABLES, s.VENDTABLE, s.SALESLINE)
ADDRESS = {
    "AddressStreet": "742 Evergreen Terrace",
    "AddressCity": "Springfield",
    "AddressState": "IL",
    "AddressZipCode": "62704",
    "AddressCountryRegionId": "USA",
}
ADDRESS_COLUMNS = {
    "AddressStreet": "STREET",
    "AddressCity": "CITY",
    "AddressState": "STATE",
    "AddressZipCode": "ZIPCODE",
    "AddressCountryRegionId": "COUNTRYREGIONID",
}


# ------------------------------------------------------------------------------------------------
# The physical side: hand-written Core queries
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Customer:
    """The physical rows behind one CustomersV3 entity (None where a row does not exist)."""

    cust: dict[str, Any] | None
    party: dict[str, Any] | None
    addr: dict[str, Any] | None

    def recids(self) -> dict[str, Any]:
        return {name: (row or {}).get("RECID") for name, row in self.tables().items()}

    def versions(self) -> dict[str, Any]:
        return {name: (row or {}).get("RECVERSION") for name, row in self.tables().items()}

    def tables(self) -> dict[str, dict[str, Any] | None]:
        return {"cust": self.cust, "party": self.party, "addr": self.addr}


def physical_customer(engine: Engine, account: str, company: str = "usmf") -> Customer:
    c, p, a = s.CUSTTABLE, s.DIRPARTYTABLE, s.LOGISTICSPOSTALADDRESS
    with engine.connect() as connection:
        cust = (
            connection.execute(select(c).where(c.c.DATAAREAID == company, c.c.ACCOUNTNUM == account))
            .mappings()
            .first()
        )
        if cust is None:
            return Customer(None, None, None)
        party = connection.execute(select(p).where(p.c.RECID == cust["PARTY"])).mappings().first()
        addr = None
        if party is not None and party["PRIMARYADDRESS"] is not None:
            addr = (
                connection.execute(select(a).where(a.c.RECID == party["PRIMARYADDRESS"])).mappings().first()
            )
    return Customer(dict(cust), None if party is None else dict(party), None if addr is None else dict(addr))


def row_by_recid(engine: Engine, table: Table, recid: int) -> dict[str, Any] | None:
    with engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.RECID == recid)).mappings().first()
    return None if row is None else dict(row)


def sequences(engine: Engine) -> dict[str, int]:
    seq = s.SYSTEMSEQUENCES
    with engine.connect() as connection:
        return {name: int(value) for name, value in connection.execute(select(seq.c.NAME, seq.c.NEXTVAL))}


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in COUNTED_TABLES
        }


def database_state(engine: Engine, *accounts: str) -> dict[str, Any]:
    """Everything a failed write must leave as it was: row counts, sequences, the customers' rows."""
    return {
        "counts": counts(engine),
        "sequences": sequences(engine),
        "customers": {account: physical_customer(engine, account) for account in accounts},
    }


def amount(value: Any) -> Decimal:
    return Decimal(str(value))


def expected_customer_body(row: Customer) -> dict[str, Any]:
    """CustomersV3 as the physical rows say it should read (DOMAIN.md §2)."""
    cust, party, addr = row.cust, row.party, row.addr
    assert cust is not None and party is not None
    body = {
        "dataAreaId": cust["DATAAREAID"],
        "CustomerAccount": cust["ACCOUNTNUM"],
        "PartyNumber": party["PARTYNUMBER"],
        "OrganizationName": party["NAME"],
        "PartyType": DIR_PARTY_TYPE[party["PARTYTYPE"]],
        "CustomerGroupId": cust["CUSTGROUP"],
        "SalesCurrencyCode": cust["CURRENCY"],
        "CreditLimit": amount(cust["CREDITMAX"]),
        "OnHoldStatus": CUST_VENDOR_BLOCKED[cust["BLOCKED"]],
        "LanguageId": party["LANGUAGEID"],
        "CreatedDateTime": as_utc_text(cust["CREATEDDATETIME"]),
    }
    for name, column in ADDRESS_COLUMNS.items():
        body[name] = None if addr is None else addr[column]
    return body


def comparable(body: dict[str, Any]) -> dict[str, Any]:
    values = {name: value for name, value in body.items() if "@" not in name}
    if values.get("CreditLimit") is not None:
        values["CreditLimit"] = amount(values["CreditLimit"])
    return values


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def within(value: dt.datetime, start: dt.datetime, end: dt.datetime) -> bool:
    return start <= value <= end + dt.timedelta(seconds=1)


# ------------------------------------------------------------------------------------------------
# Fixtures and helpers on the HTTP side
# ------------------------------------------------------------------------------------------------
@dataclass
class Written:
    """Fresh keys for a test, and the clean-up of everything the test wrote."""

    engine: Engine
    first_recid: int
    keys: list[str] = field(default_factory=list)

    def key(self, prefix: str = "T-", suffix: str = "") -> str:
        value = f"{prefix}{uuid.uuid4().hex[:8].upper()}{suffix}"
        self.keys.append(value)
        return value

    def clean(self) -> None:
        with self.engine.begin() as connection:
            for table in WRITTEN_TABLES:
                connection.execute(delete(table).where(table.c.RECID >= self.first_recid))
            if self.keys:
                connection.execute(delete(s.CUSTTABLE).where(s.CUSTTABLE.c.ACCOUNTNUM.in_(self.keys)))
                connection.execute(delete(s.CUSTGROUP).where(s.CUSTGROUP.c.CUSTGROUP.in_(self.keys)))
                connection.execute(delete(s.SALESTABLE).where(s.SALESTABLE.c.SALESID.in_(self.keys)))


@pytest.fixture
def written(backend: Backend) -> Iterator[Written]:
    tracker = Written(backend.engine, sequences(backend.engine)["RECID"])
    try:
        yield tracker
    finally:
        tracker.clean()


@contextmanager
def other_client(backend: Backend, **settings: object) -> Iterator[TestClient]:
    with make_client(backend, **settings) as test_client:
        try:
            yield test_client
        finally:
            test_client.app.state.engine.dispose()  # type: ignore[attr-defined]


@contextmanager
def write_statements(test_client: TestClient) -> Iterator[list[str]]:
    """The INSERT/UPDATE/DELETE statements the gateway sends while the block runs."""
    engine: Engine = test_client.app.state.engine  # type: ignore[attr-defined]
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split(None, 1)
        if words and words[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def customer_path(account: str, company: str = "usmf") -> str:
    return f"/data/CustomersV3(dataAreaId='{company}',CustomerAccount='{account}')"


def create_customer(
    test_client: TestClient, written: Written, *, address: bool = True, **properties: Any
) -> tuple[str, httpx2.Response]:
    account = written.key()
    body: dict[str, Any] = {"CustomerAccount": account, "OrganizationName": f"Org {account}"}
    if address:
        body.update(ADDRESS)
    body.update(properties)
    response = test_client.post("/data/CustomersV3", json=body)
    assert response.status_code == 201, response.text
    return account, response


def error_of(response: httpx2.Response) -> dict[str, Any]:
    payload = response.json()
    assert set(payload) == {"error"}, payload
    return payload["error"]  # type: ignore[no-any-return]


def a_customer_group(engine: Engine, company: str = "usmf") -> str:
    g = s.CUSTGROUP
    with engine.connect() as connection:
        return str(
            connection.execute(
                select(g.c.CUSTGROUP).where(g.c.DATAAREAID == company).order_by(g.c.CUSTGROUP).limit(1)
            ).scalar_one()
        )


# ------------------------------------------------------------------------------------------------
# Create
# ------------------------------------------------------------------------------------------------
def test_create_customer_with_address_writes_three_linked_tables(
    client: TestClient, backend: Backend, written: Written
) -> None:
    group = a_customer_group(backend.engine)
    account = written.key()
    body = {
        "CustomerAccount": account,
        "OrganizationName": "Lakeside Trading",
        "CustomerGroupId": group,
        "SalesCurrencyCode": "USD",
        "CreditLimit": 1234.5,
        "OnHoldStatus": "Invoice",
        "LanguageId": "en-gb",
        **ADDRESS,
    }
    before_sequences, before_counts = sequences(backend.engine), counts(backend.engine)
    start = utc_now()
    response = client.post("/data/CustomersV3", json=body)
    end = utc_now()
    assert response.status_code == 201, response.text

    row = physical_customer(backend.engine, account)
    assert row.cust is not None and row.party is not None and row.addr is not None
    # One RECID each from the one RECID sequence, which moved on by exactly three.
    first = before_sequences["RECID"]
    assert sorted(row.recids().values()) == [first, first + 1, first + 2]
    after_sequences = sequences(backend.engine)
    assert after_sequences["RECID"] == first + 3
    # The party number is the next number of the PARTYNUMBER sequence, zero-padded as F&O's.
    assert row.party["PARTYNUMBER"] == f"{before_sequences['PARTYNUMBER']:06d}"
    assert after_sequences["PARTYNUMBER"] == before_sequences["PARTYNUMBER"] + 1
    # Links: customer -> party -> primary address.
    assert row.cust["PARTY"] == row.party["RECID"]
    assert row.party["PRIMARYADDRESS"] == row.addr["RECID"]
    # A new row starts at RECVERSION 1.
    assert row.versions() == {"cust": 1, "party": 1, "addr": 1}
    # The values landed in their columns.
    assert row.cust["DATAAREAID"] == "usmf"
    assert (row.cust["CUSTGROUP"], row.cust["CURRENCY"]) == (group, "USD")
    assert amount(row.cust["CREDITMAX"]) == Decimal("1234.5")
    assert row.cust["BLOCKED"] == 1  # CustVendorBlocked.Invoice
    assert (row.party["NAME"], row.party["PARTYTYPE"], row.party["LANGUAGEID"]) == (
        "Lakeside Trading",
        2,
        "en-gb",
    )
    assert {name: row.addr[column] for name, column in ADDRESS_COLUMNS.items()} == ADDRESS
    assert within(row.cust["CREATEDDATETIME"], start, end)
    assert row.cust["MODIFIEDDATETIME"] == row.cust["CREATEDDATETIME"]
    after_counts = counts(backend.engine)
    for table, grown in (
        ("CUSTTABLE", 1),
        ("DIRPARTYTABLE", 1),
        ("LOGISTICSPOSTALADDRESS", 1),
        ("CUSTGROUP", 0),
    ):
        assert after_counts[table] == before_counts[table] + grown, table

    # The response: 201, Location, ETag, and the created entity exactly as the tables hold it.
    assert (
        response.headers["Location"] == BASE + f"CustomersV3(dataAreaId='usmf',CustomerAccount='{account}')"
    )
    assert response.headers["Content-Type"].startswith("application/json")
    created = response.json()
    assert created["@odata.context"] == BASE + "$metadata#CustomersV3/$entity"
    assert response.headers["ETag"] == created["@odata.etag"]
    assert comparable(created) == expected_customer_body(row)
    # A read agrees, ETag included.
    again = client.get(customer_path(account))
    assert again.status_code == 200
    assert again.headers["ETag"] == response.headers["ETag"]
    assert comparable(again.json()) == comparable(created)


def test_create_customer_without_address_writes_party_and_customer_only(
    client: TestClient, backend: Backend, written: Written
) -> None:
    before_sequences, before_counts = sequences(backend.engine), counts(backend.engine)
    account, response = create_customer(client, written, address=False)

    row = physical_customer(backend.engine, account)
    assert row.cust is not None and row.party is not None
    assert row.addr is None and row.party["PRIMARYADDRESS"] is None
    first = before_sequences["RECID"]
    assert sorted(value for value in row.recids().values() if value is not None) == [first, first + 1]
    assert sequences(backend.engine) == {
        **before_sequences,
        "RECID": first + 2,
        "PARTYNUMBER": before_sequences["PARTYNUMBER"] + 1,
    }
    assert counts(backend.engine)["LOGISTICSPOSTALADDRESS"] == before_counts["LOGISTICSPOSTALADDRESS"]
    # Unspecified properties get their catalog default or F&O's empty value.
    assert row.party["PARTYTYPE"] == 2  # default: Organization
    assert row.party["LANGUAGEID"] == "en-us"  # default
    assert (row.cust["CUSTGROUP"], row.cust["CURRENCY"], row.cust["BLOCKED"]) == ("", "", 0)
    assert amount(row.cust["CREDITMAX"]) == 0
    body = response.json()
    assert comparable(body) == expected_customer_body(row)
    assert all(body[name] is None for name in ADDRESS)


def test_create_in_the_company_the_request_selects(
    client: TestClient, backend: Backend, written: Written
) -> None:
    account = written.key()
    response = client.post(
        "/data/CustomersV3?company=demf",
        json={"CustomerAccount": account, "OrganizationName": "Berliner Handel"},
    )
    assert response.status_code == 201, response.text
    assert physical_customer(backend.engine, account, "usmf").cust is None
    row = physical_customer(backend.engine, account, "demf")
    assert row.cust is not None and row.cust["DATAAREAID"] == "demf"
    assert response.json()["dataAreaId"] == "demf"
    assert (
        response.headers["Location"] == BASE + f"CustomersV3(dataAreaId='demf',CustomerAccount='{account}')"
    )


def test_cross_company_create_goes_to_the_body_company_else_the_current_one(
    client: TestClient, backend: Backend, written: Written
) -> None:
    current, chosen = written.key(), written.key()
    plain = client.post(
        "/data/CustomersV3?cross-company=true", json={"CustomerAccount": current, "OrganizationName": "Here Inc"}
    )
    assert plain.status_code == 201, plain.text
    assert physical_customer(backend.engine, current, "usmf").cust is not None  # the current company
    assert plain.json()["dataAreaId"] == "usmf"
    explicit = client.post(
        "/data/CustomersV3?cross-company=true",
        json={"dataAreaId": "DEMF", "CustomerAccount": chosen, "OrganizationName": "Dort GmbH"},
    )
    assert explicit.status_code == 201, explicit.text
    row = physical_customer(backend.engine, chosen, "demf")
    assert row.cust is not None and row.cust["DATAAREAID"] == "demf"  # company ids are stored lower-case
    assert physical_customer(backend.engine, chosen, "usmf").cust is None
    assert explicit.json()["dataAreaId"] == "demf"


def test_dataareaid_in_the_body_selects_the_company(
    client: TestClient, backend: Backend, written: Written
) -> None:
    account = written.key()
    response = client.post(
        "/data/CustomersV3",
        json={"dataAreaId": "demf", "CustomerAccount": account, "OrganizationName": "Münchner Handel"},
    )
    assert response.status_code == 201, response.text
    row = physical_customer(backend.engine, account, "demf")
    assert row.cust is not None and row.cust["DATAAREAID"] == "demf"
    assert physical_customer(backend.engine, account, "usmf").cust is None
    assert response.json()["dataAreaId"] == "demf"
    assert (
        response.headers["Location"] == BASE + f"CustomersV3(dataAreaId='demf',CustomerAccount='{account}')"
    )


def test_references_of_a_create_are_looked_up_in_the_rows_own_company(
    client: TestClient, backend: Backend, written: Written
) -> None:
    group = written.key()[:10]  # a customer group that exists in demf only
    made = client.post("/data/CustomerGroups", json={"dataAreaId": "demf", "CustomerGroupId": group, "Description": "DE"})
    assert made.status_code == 201, made.text
    account = written.key()
    response = client.post("/data/CustomersV3", json={  # the caller's current company is usmf
        "dataAreaId": "demf", "CustomerAccount": account, "OrganizationName": "Gruppe GmbH", "CustomerGroupId": group})
    assert response.status_code == 201, response.text
    assert physical_customer(backend.engine, account, "demf").cust["CUSTGROUP"] == group  # type: ignore[index]
    refused = client.post("/data/CustomersV3", json={
        "CustomerAccount": written.key(), "OrganizationName": "Group Inc", "CustomerGroupId": group})
    assert refused.status_code == 400 and error_of(refused)["target"] == "CustomerGroupId"


def test_company_the_caller_may_not_see_is_403(
    client: TestClient, backend: Backend, written: Written
) -> None:
    account = written.key()
    body = {"dataAreaId": "demf", "CustomerAccount": account, "OrganizationName": "Hidden GmbH"}
    before = database_state(backend.engine)
    with other_client(backend, companies="usmf,usrt") as limited:
        for path in ("/data/CustomersV3", "/data/CustomersV3?cross-company=true"):
            response = limited.post(path, json=body)
            assert response.status_code == 403, response.text
            assert error_of(response)["target"] == "dataAreaId"
    # A company that does not exist at all is not one the caller may see either.
    response = client.post("/data/CustomersV3", json={**body, "dataAreaId": "zzzz"})
    assert response.status_code == 403, response.text
    assert error_of(response)["target"] == "dataAreaId"
    assert database_state(backend.engine) == before


# ------------------------------------------------------------------------------------------------
# Update
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "value", "touched", "column"),
    [
        ("CreditLimit", 2500.75, "cust", "CREDITMAX"),
        ("OrganizationName", "Renamed Trading", "party", "NAME"),
        ("AddressCity", "Shelbyville", "addr", "CITY"),
    ],
    ids=["CUSTTABLE", "DIRPARTYTABLE", "LOGISTICSPOSTALADDRESS"],
)
def test_patch_writes_the_table_of_the_property(
    client: TestClient, backend: Backend, written: Written, name: str, value: Any, touched: str, column: str
) -> None:
    account, created = create_customer(client, written)
    old_etag = created.headers["ETag"]
    long_ago = dt.datetime(2001, 1, 1, 8, 0, 0)
    with backend.engine.begin() as connection:  # so that the PATCH visibly sets MODIFIEDDATETIME
        connection.execute(
            update(s.CUSTTABLE).where(s.CUSTTABLE.c.ACCOUNTNUM == account).values(MODIFIEDDATETIME=long_ago)
        )
    before = physical_customer(backend.engine, account)
    before_sequences = sequences(backend.engine)
    start = utc_now()
    response = client.patch(customer_path(account), json={name: value}, headers={"If-Match": old_etag})
    end = utc_now()
    assert response.status_code == 204, response.text
    assert response.content == b""
    new_etag = response.headers["ETag"]
    assert new_etag != old_etag

    after = physical_customer(backend.engine, account)
    assert after.recids() == before.recids()
    stored = after.tables()[touched]
    assert stored is not None
    assert (amount(stored[column]) if name == "CreditLimit" else stored[column]) == (
        amount(value) if name == "CreditLimit" else value
    )
    # RECVERSION moves on the touched table and on CUSTTABLE (the entity's first table), nowhere else.
    for table in ("cust", "party", "addr"):
        if table in (touched, "cust"):
            assert after.versions()[table] != before.versions()[table], table
            assert 0 < after.versions()[table] <= 2**31 - 1
        else:
            assert after.versions()[table] == before.versions()[table], table
    assert after.cust is not None and before.cust is not None
    assert within(after.cust["MODIFIEDDATETIME"], start, end)
    assert after.cust["CREATEDDATETIME"] == before.cust["CREATEDDATETIME"]
    # Nothing else changed in any of the three rows.
    ignored = {"RECVERSION", "MODIFIEDDATETIME", column}
    for table in ("cust", "party", "addr"):
        old_row, new_row = before.tables()[table] or {}, after.tables()[table] or {}
        assert {k: v for k, v in new_row.items() if k not in ignored} == {
            k: v for k, v in old_row.items() if k not in ignored
        }, table
    assert sequences(backend.engine) == before_sequences

    read = client.get(customer_path(account))
    assert read.headers["ETag"] == new_etag
    assert comparable(read.json()) == expected_customer_body(after)
    # The old ETag no longer matches: If-None-Match with it gets the new representation.
    assert client.get(customer_path(account), headers={"If-None-Match": old_etag}).status_code == 200


def test_patch_address_on_customer_without_address_creates_and_links_one(
    client: TestClient, backend: Backend, written: Written
) -> None:
    account, created = create_customer(client, written, address=False)
    before = physical_customer(backend.engine, account)
    before_sequences = sequences(backend.engine)
    response = client.patch(
        customer_path(account),
        json={"AddressCity": "Ogdenville", "AddressZipCode": "12345"},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert response.status_code == 204, response.text

    after = physical_customer(backend.engine, account)
    assert after.addr is not None and after.party is not None and before.party is not None
    assert after.addr["RECID"] == before_sequences["RECID"]
    assert sequences(backend.engine) == {**before_sequences, "RECID": before_sequences["RECID"] + 1}
    assert after.party["PRIMARYADDRESS"] == after.addr["RECID"]
    assert (after.addr["CITY"], after.addr["ZIPCODE"]) == ("Ogdenville", "12345")
    assert (after.addr["STREET"], after.addr["STATE"], after.addr["COUNTRYREGIONID"]) == ("", "", "")
    assert after.addr["RECVERSION"] == 1
    assert after.versions()["party"] != before.versions()["party"]  # PRIMARYADDRESS changed
    assert after.versions()["cust"] != before.versions()["cust"]
    assert after.party["NAME"] == before.party["NAME"]
    read = client.get(customer_path(account))
    assert read.headers["ETag"] == response.headers["ETag"]
    assert comparable(read.json()) == expected_customer_body(after)


def test_stale_if_match_is_412_and_nothing_changes(
    client: TestClient, backend: Backend, written: Written
) -> None:
    account, created = create_customer(client, written, CreditLimit=100)
    stale = created.headers["ETag"]
    first = client.patch(customer_path(account), json={"CreditLimit": 200}, headers={"If-Match": stale})
    assert first.status_code == 204, first.text
    current = first.headers["ETag"]

    before = database_state(backend.engine, account)
    with write_statements(client) as writes:
        for method, body in (
            ("PATCH", {"CreditLimit": 300}),
            ("PUT", {"OrganizationName": "Put"}),
            ("DELETE", None),
        ):
            response = client.request(method, customer_path(account), json=body, headers={"If-Match": stale})
            assert response.status_code == 412, (method, response.text)
            assert error_of(response)["code"] == "PreconditionFailed"
    assert writes == []
    assert database_state(backend.engine, account) == before
    assert amount(physical_customer(backend.engine, account).cust["CREDITMAX"]) == 200  # type: ignore[index]

    # Someone changes the address outside the gateway (RECVERSION bumped as F&O would): the ETag the
    # client holds is stale now, although CUSTTABLE did not change.
    row = physical_customer(backend.engine, account)
    assert row.addr is not None
    with backend.engine.begin() as connection:
        addr = s.LOGISTICSPOSTALADDRESS
        connection.execute(
            update(addr)
            .where(addr.c.RECID == row.addr["RECID"])
            .values(CITY="Capital City", RECVERSION=addr.c.RECVERSION + 1)
        )
    response = client.patch(
        customer_path(account), json={"AddressCity": "Mine"}, headers={"If-Match": current}
    )
    assert response.status_code == 412, response.text
    assert physical_customer(backend.engine, account).addr["CITY"] == "Capital City"  # type: ignore[index]
    assert client.get(customer_path(account)).headers["ETag"] != current


def test_if_match_star_and_lists(client: TestClient, backend: Backend, written: Written) -> None:
    account, _ = create_customer(client, written)
    response = client.patch(customer_path(account), json={"CreditLimit": 10}, headers={"If-Match": "*"})
    assert response.status_code == 204, response.text
    assert amount(physical_customer(backend.engine, account).cust["CREDITMAX"]) == 10  # type: ignore[index]
    # A list matches when any of its tags is the current one.
    listed = f'W/"c3RhbGU=", {response.headers["ETag"]}'
    again = client.patch(customer_path(account), json={"CreditLimit": 20}, headers={"If-Match": listed})
    assert again.status_code == 204, again.text
    assert amount(physical_customer(backend.engine, account).cust["CREDITMAX"]) == 20  # type: ignore[index]


def test_if_none_match_on_get(client: TestClient) -> None:
    path = customer_path("US-001")
    current = client.get(path)
    assert current.status_code == 200
    etag = current.headers["ETag"]
    unchanged = client.get(path, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["ETag"] == etag
    assert client.get(path, headers={"If-None-Match": "*"}).status_code == 304
    changed = client.get(path, headers={"If-None-Match": 'W/"c3RhbGU="'})
    assert changed.status_code == 200
    assert changed.json()["@odata.etag"] == etag


def test_if_none_match_list_with_spaces(client: TestClient) -> None:
    path = customer_path("US-001")
    etag = client.get(path).headers["ETag"]
    response = client.get(path, headers={"If-None-Match": f'W/"c3RhbGU=", {etag}'})
    assert response.status_code == 304


def test_put_resets_unspecified_writable_properties(
    client: TestClient, backend: Backend, written: Written
) -> None:
    group = a_customer_group(backend.engine)
    account, created = create_customer(
        client,
        written,
        CustomerGroupId=group,
        SalesCurrencyCode="USD",
        CreditLimit=5000,
        OnHoldStatus="All",
        LanguageId="de",
        PartyType="Person",
    )
    before = physical_customer(backend.engine, account)
    assert before.cust is not None and before.party is not None
    body = {"dataAreaId": "usmf", "CustomerAccount": account, "OrganizationName": "Replaced Org"}
    response = client.put(customer_path(account), json=body, headers={"If-Match": created.headers["ETag"]})
    assert response.status_code == 204, response.text

    after = physical_customer(backend.engine, account)
    assert after.cust is not None and after.party is not None
    assert after.recids() == before.recids()
    assert after.party["NAME"] == "Replaced Org"
    assert (after.cust["CUSTGROUP"], after.cust["CURRENCY"], after.cust["BLOCKED"]) == ("", "", 0)
    assert amount(after.cust["CREDITMAX"]) == 0
    assert (after.party["PARTYTYPE"], after.party["LANGUAGEID"]) == (2, "en-us")  # the catalog defaults
    # Keys and read-only properties stay.
    assert after.party["PARTYNUMBER"] == before.party["PARTYNUMBER"]
    assert after.cust["CREATEDDATETIME"] == before.cust["CREATEDDATETIME"]
    assert after.versions()["cust"] != before.versions()["cust"]
    assert after.versions()["party"] != before.versions()["party"]


def test_put_resets_the_address_too(client: TestClient, backend: Backend, written: Written) -> None:
    account, created = create_customer(client, written)
    response = client.put(
        customer_path(account),
        json={"OrganizationName": "Replaced Org"},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert response.status_code == 204, response.text
    after = physical_customer(backend.engine, account)
    # Either the address is unlinked or its columns are emptied; the old city must not remain.
    assert after.addr is None or after.addr["CITY"] == ""
    assert client.get(customer_path(account)).json()["AddressCity"] in (None, "")


def test_patch_null_clears_a_nullable_address_property(
    client: TestClient, backend: Backend, written: Written
) -> None:
    account, created = create_customer(client, written)
    response = client.patch(
        customer_path(account), json={"AddressCity": None}, headers={"If-Match": created.headers["ETag"]}
    )
    if response.status_code == 400:  # refusing is acceptable too, with the property as target
        assert error_of(response)["target"] == "AddressCity"
        return
    assert response.status_code == 204, response.text
    after = physical_customer(backend.engine, account)
    assert after.addr is None or after.addr["CITY"] == ""
    assert client.get(customer_path(account)).json()["AddressCity"] in (None, "")


@pytest.mark.parametrize(
    ("method", "body"),
    [("PUT", {"CreditLimit": 1}), ("PATCH", {"OrganizationName": ""})],
    ids=["put-without-OrganizationName", "patch-empty-OrganizationName"],
)
def test_update_keeps_required_properties(
    client: TestClient, backend: Backend, written: Written, method: str, body: dict[str, Any]
) -> None:
    account, created = create_customer(client, written)
    before = database_state(backend.engine, account)
    response = client.request(
        method, customer_path(account), json=body, headers={"If-Match": created.headers["ETag"]}
    )
    assert response.status_code == 400, response.text
    assert error_of(response)["target"] == "OrganizationName"
    assert database_state(backend.engine, account) == before


# ------------------------------------------------------------------------------------------------
# Delete
# ------------------------------------------------------------------------------------------------
def test_delete_removes_the_customer_and_keeps_the_party(
    client: TestClient, backend: Backend, written: Written
) -> None:
    account, created = create_customer(client, written)
    before = physical_customer(backend.engine, account)
    assert before.party is not None and before.addr is not None
    response = client.delete(customer_path(account), headers={"If-Match": created.headers["ETag"]})
    assert response.status_code == 204, response.text
    assert response.content == b""

    assert physical_customer(backend.engine, account).cust is None
    # F&O keeps the party (and its address): it may be a vendor or a contact too.
    assert row_by_recid(backend.engine, s.DIRPARTYTABLE, before.party["RECID"]) == before.party
    assert row_by_recid(backend.engine, s.LOGISTICSPOSTALADDRESS, before.addr["RECID"]) == before.addr
    assert client.get(customer_path(account)).status_code == 404
    second = client.delete(customer_path(account))
    assert second.status_code == 404
    assert error_of(second)["code"] == "NotFound"

    other, _ = create_customer(client, written, address=False)
    assert client.delete(customer_path(other), headers={"If-Match": "*"}).status_code == 204
    assert physical_customer(backend.engine, other).cust is None


# ------------------------------------------------------------------------------------------------
# Validation: 4xx with the property as target, before anything is written
# ------------------------------------------------------------------------------------------------
DROP = object()  # remove this property from the valid base body


@dataclass(frozen=True)
class Case:
    method: str  # POST: create a customer; PATCH: change one made for the case
    body: Any  # POST: merged into a valid body (DROP removes); PATCH: as is; bytes: sent raw
    status: int
    target: str | None
    code: str | None = None
    message: str = ""
    content_type: str = "application/json"
    entity_set: str = "CustomersV3"


VALIDATION = [
    pytest.param(Case("POST", {"CreditLimt": 1}, 400, "CreditLimt", "UnknownProperty", "Did you mean 'CreditLimit'?"),
                 id="unknown-property"),
    pytest.param(Case("POST", {"creditLimit": 1}, 400, "creditLimit", "UnknownProperty", "case-sensitive"),
                 id="unknown-property-wrong-case"),
    pytest.param(Case("POST", {"PartyNumber": "999999"}, 400, "PartyNumber", message="read-only"),
                 id="read-only-PartyNumber"),
    pytest.param(Case("POST", {"CreatedDateTime": "not a date"}, 400, "CreatedDateTime", message="read-only"),
                 id="read-only-CreatedDateTime-bad-DateTimeOffset"),
    pytest.param(Case("POST", {"OrganizationName": "x" * 101}, 400, "OrganizationName", "InvalidValue", "MaxLength 100"),
                 id="max-length"),
    pytest.param(Case("POST", {"CustomerAccount": "T-" + "9" * 19}, 400, "CustomerAccount", "InvalidValue", "MaxLength 20"),
                 id="max-length-key"),
    pytest.param(Case("POST", {"OrganizationName": 42}, 400, "OrganizationName", "InvalidValue", "string"),
                 id="wrong-json-type-string"),
    pytest.param(Case("POST", {"CreditLimit": "lots"}, 400, "CreditLimit", "InvalidValue", "number"),
                 id="wrong-json-type-number"),
    pytest.param(Case("POST", {"CreditLimit": True}, 400, "CreditLimit", "InvalidValue", "number"),
                 id="boolean-for-number"),
    pytest.param(Case("POST", {"CreditLimit": 0.1234567}, 400, "CreditLimit", "InvalidValue", "decimal places"),
                 id="decimal-scale"),
    pytest.param(Case("POST", {"OnHoldStatus": "Sometimes"}, 400, "OnHoldStatus", "InvalidValue", "CustVendorBlocked"),
                 id="bad-enum-member"),
    pytest.param(Case("POST", {"OnHoldStatus": 9}, 400, "OnHoldStatus", "InvalidValue", "CustVendorBlocked"),
                 id="bad-enum-value"),
    pytest.param(Case("POST", {"PartyType": None}, 400, "PartyType", "InvalidValue", "null"),
                 id="null-for-non-nullable"),
    pytest.param(Case("POST", {"OrganizationName": DROP}, 400, "OrganizationName", message="required"),
                 id="missing-required"),
    pytest.param(Case("POST", {"OrganizationName": ""}, 400, "OrganizationName", message="required"),
                 id="empty-required"),
    pytest.param(Case("POST", {"CustomerAccount": DROP}, 400, "CustomerAccount", message="key"),
                 id="missing-key"),
    pytest.param(Case("POST", {"CustomerGroupId": "NOPE"}, 400, "CustomerGroupId", message="NOPE"),
                 id="unknown-customer-group"),
    pytest.param(Case("POST", {"SalesOrders": []}, 400, "SalesOrders", message="navigation"),
                 id="navigation-property-in-body"),
    pytest.param(Case("POST", b'{"CustomerAccount": "T-1", ', 400, None, message="not valid JSON"),
                 id="non-json-body"),
    pytest.param(Case("POST", b"[]", 400, None, message="JSON object"), id="json-array-body"),
    pytest.param(Case("POST", b"<CustomerV3/>", 415, None, "UnsupportedMediaType", content_type="application/xml"),
                 id="wrong-content-type"),
    pytest.param(Case("POST", {"RequestedShippingDate": "2024-02-30"}, 400, "RequestedShippingDate", "InvalidValue",
                      "date", entity_set="SalesOrderHeadersV2"),
                 id="bad-date"),
    pytest.param(Case("PATCH", {"CustomerAccount": "T-OTHER"}, 400, "CustomerAccount", message="key"),
                 id="patch-key-change"),
    pytest.param(Case("PATCH", {"dataAreaId": "demf"}, 400, "dataAreaId", message="key"),
                 id="patch-company-change"),
    pytest.param(Case("PATCH", {"CustomerGroupId": "NOPE"}, 400, "CustomerGroupId", message="NOPE"),
                 id="patch-unknown-customer-group"),
    pytest.param(Case("PATCH", {"PartyNumber": "1"}, 400, "PartyNumber", message="read-only"),
                 id="patch-read-only"),
    pytest.param(Case("PATCH", {"AddressCity": "x" * 61}, 400, "AddressCity", "InvalidValue", "MaxLength 60"),
                 id="patch-max-length"),
    pytest.param(Case("PATCH", {"OrganizationName": None}, 400, "OrganizationName", "InvalidValue", "null"),
                 id="patch-null-for-non-nullable"),
    pytest.param(Case("PATCH", b"CreditLimit=5", 415, None, "UnsupportedMediaType", content_type="text/plain"),
                 id="patch-wrong-content-type"),
]  # fmt: skip


@pytest.mark.parametrize("case", VALIDATION)
def test_invalid_writes_are_4xx_with_target_and_write_nothing(
    client: TestClient, backend: Backend, written: Written, case: Case
) -> None:
    headers = {"Content-Type": case.content_type}
    accounts: tuple[str, ...] = ()
    if case.method == "PATCH":
        account, created = create_customer(client, written)
        accounts = (account,)
        path = customer_path(account)
        headers["If-Match"] = created.headers["ETag"]
        body = case.body
    elif case.entity_set == "SalesOrderHeadersV2":
        path = "/data/SalesOrderHeadersV2"
        body = {"SalesOrderNumber": written.key(), "OrderingCustomerAccountNumber": "US-001", **case.body}
    else:
        path = "/data/CustomersV3"
        body = case.body
        if isinstance(body, dict):
            valid = {"CustomerAccount": written.key(), "OrganizationName": "Valid Org", **ADDRESS}
            body = {name: value for name, value in {**valid, **body}.items() if value is not DROP}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()

    before = database_state(backend.engine, *accounts)
    with write_statements(client) as writes:
        response = client.request(case.method, path, content=content, headers=headers)
    assert response.status_code == case.status, response.text
    error = error_of(response)
    assert error.get("target") == case.target
    if case.code is not None:
        assert error["code"] == case.code
    assert case.message in error["message"]
    assert writes == [], "validation must fail before any write is sent"
    assert database_state(backend.engine, *accounts) == before


@pytest.mark.parametrize(
    ("credit", "status"), [(1e30, 400), (1e22, 201)], ids=["beyond-precision-32", "within-precision-32"]
)
def test_large_decimals_are_checked_not_500(
    client: TestClient, backend: Backend, written: Written, credit: float, status: int
) -> None:
    account = written.key()
    before = database_state(backend.engine)
    response = client.post(
        "/data/CustomersV3",
        json={"CustomerAccount": account, "OrganizationName": "Big Spender", "CreditLimit": credit},
    )
    assert response.status_code == status, response.text
    if status == 400:
        assert error_of(response)["target"] == "CreditLimit"
        assert database_state(backend.engine) == before
    else:
        assert amount(physical_customer(backend.engine, account).cust["CREDITMAX"]) == amount(credit)  # type: ignore[index]


@pytest.fixture(scope="module")
def catalog() -> Any:
    return load_catalog(DEFAULT_CATALOG)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-31T12:00:00Z", dt.datetime(2024, 1, 31, 12, 0, 0)),
        ("2024-01-31T13:30:00+01:30", dt.datetime(2024, 1, 31, 12, 0, 0)),
        ("2024-13-01T00:00:00Z", None),
        ("2024-01-31T12:00:00", None),  # no offset
        ("yesterday", None),
        (20240131, None),
    ],
    ids=["utc", "offset", "bad-month", "no-offset", "text", "number"],
)
def test_datetimeoffset_values(catalog: Any, text: Any, expected: dt.datetime | None) -> None:
    """No writable Edm.DateTimeOffset property exists in the catalog (both are read-only), so the parser is
    checked directly, with CreatedDateTime's declaration."""
    prop = catalog.entities["CustomersV3"].properties["CreatedDateTime"]
    if expected is None:
        with pytest.raises(InvalidValue) as raised:
            parse_value(catalog, prop, text)
        assert raised.value.target == "CreatedDateTime"
    else:
        assert parse_value(catalog, prop, text) == expected


def test_duplicate_key_is_409_and_rolls_back_every_table(
    client: TestClient, backend: Backend, written: Written
) -> None:
    account, _ = create_customer(client, written)
    before = database_state(backend.engine, account)
    # The address and the party are inserted before CUSTTABLE refuses the key: all of it must go.
    response = client.post(
        "/data/CustomersV3", json={"CustomerAccount": account, "OrganizationName": "Second", **ADDRESS}
    )
    assert response.status_code == 409, response.text
    error = error_of(response)
    assert error["code"] == "Conflict"
    assert "already exists" in error["message"]
    assert database_state(backend.engine, account) == before

    group = a_customer_group(backend.engine)
    duplicate_group = client.post(
        "/data/CustomerGroups", json={"CustomerGroupId": group, "Description": "Again"}
    )
    assert duplicate_group.status_code == 409, duplicate_group.text
    assert database_state(backend.engine, account) == before


# ------------------------------------------------------------------------------------------------
# Preferences: dry run, return=minimal, return=representation
# ------------------------------------------------------------------------------------------------
def test_dry_run_answers_as_usual_and_keeps_nothing(
    client: TestClient, backend: Backend, written: Written
) -> None:
    account = written.key()
    before = database_state(backend.engine, account)
    response = client.post(
        "/data/CustomersV3",
        json={"CustomerAccount": account, "OrganizationName": "Rehearsal", **ADDRESS},
        headers={"Prefer": "tx=rollback"},
    )
    assert response.status_code == 201, response.text
    assert "tx=rollback" in response.headers["Preference-Applied"]
    body = response.json()
    assert body["CustomerAccount"] == account
    assert body["PartyNumber"] == f"{before['sequences']['PARTYNUMBER']:06d}"
    assert body["AddressCity"] == ADDRESS["AddressCity"]
    assert response.headers["Location"].endswith(f"CustomerAccount='{account}')")
    # Nothing is left: no rows, no numbers taken.
    assert database_state(backend.engine, account) == before
    assert client.get(customer_path(account)).status_code == 404

    existing, created = create_customer(client, written)
    before = database_state(backend.engine, existing)
    patched = client.patch(
        customer_path(existing),
        json={"CreditLimit": 99, "AddressCity": "Nowhere"},
        headers={"Prefer": "tx=rollback,return=representation", "If-Match": created.headers["ETag"]},
    )
    assert patched.status_code == 200, patched.text
    assert amount(patched.json()["CreditLimit"]) == 99
    assert patched.json()["AddressCity"] == "Nowhere"
    deleted = client.delete(customer_path(existing), headers={"Prefer": "tx=rollback"})
    assert deleted.status_code == 204, deleted.text
    assert database_state(backend.engine, existing) == before


def test_return_minimal_on_create(client: TestClient, backend: Backend, written: Written) -> None:
    account = written.key()
    response = client.post(
        "/data/CustomersV3",
        json={"CustomerAccount": account, "OrganizationName": "Quiet Corp"},
        headers={"Prefer": "return=minimal"},
    )
    assert response.status_code == 204, response.text
    assert response.content == b""
    location = BASE + f"CustomersV3(dataAreaId='usmf',CustomerAccount='{account}')"
    assert response.headers["OData-EntityId"] == location
    assert response.headers["Location"] == location
    assert response.headers["Preference-Applied"] == "return=minimal"
    row = physical_customer(backend.engine, account)
    assert row.party is not None and row.party["NAME"] == "Quiet Corp"
    assert client.get(customer_path(account)).headers["ETag"] == response.headers["ETag"]


def test_return_representation_on_patch(client: TestClient, backend: Backend, written: Written) -> None:
    account, created = create_customer(client, written)
    response = client.patch(
        customer_path(account),
        json={"CreditLimit": 7777.25, "OnHoldStatus": "Payment"},
        headers={"Prefer": "return=representation", "If-Match": created.headers["ETag"]},
    )
    assert response.status_code == 200, response.text
    assert response.headers["Preference-Applied"] == "return=representation"
    body = response.json()
    assert body["@odata.context"] == BASE + "$metadata#CustomersV3/$entity"
    assert response.headers["ETag"] == body["@odata.etag"] != created.headers["ETag"]
    row = physical_customer(backend.engine, account)
    assert comparable(body) == expected_customer_body(row)
    assert (body["CreditLimit"], body["OnHoldStatus"]) == (7777.25, "Payment")


def test_require_if_match_setting(backend: Backend, written: Written) -> None:
    with other_client(backend, require_if_match=True) as strict:
        account, created = create_customer(strict, written)  # creates need no If-Match
        before = database_state(backend.engine, account)
        with write_statements(strict) as writes:
            for method, body in (
                ("PATCH", {"CreditLimit": 1}),
                ("PUT", {"OrganizationName": "x"}),
                ("DELETE", None),
            ):
                response = strict.request(method, customer_path(account), json=body)
                assert response.status_code == 428, (method, response.text)
                assert error_of(response)["code"] == "PreconditionRequired"
        assert writes == []
        assert database_state(backend.engine, account) == before
        patched = strict.patch(
            customer_path(account), json={"CreditLimit": 1}, headers={"If-Match": created.headers["ETag"]}
        )
        assert patched.status_code == 204, patched.text
        assert amount(physical_customer(backend.engine, account).cust["CREDITMAX"]) == 1  # type: ignore[index]
        assert strict.delete(customer_path(account), headers={"If-Match": "*"}).status_code == 204
        assert physical_customer(backend.engine, account).cust is None


# ------------------------------------------------------------------------------------------------
# Upsert, navigation, read-only sets
# ------------------------------------------------------------------------------------------------
def group_rows(engine: Engine, group: str) -> list[dict[str, Any]]:
    g = s.CUSTGROUP
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(select(g).where(g.c.CUSTGROUP == group)).mappings()]


def test_upsert_patch_creates_a_customer_group(
    client: TestClient, backend: Backend, written: Written
) -> None:
    group = written.key(prefix="G")
    path = f"/data/CustomerGroups(dataAreaId='usmf',CustomerGroupId='{group}')"
    before_sequences = sequences(backend.engine)
    response = client.patch(path, json={"Description": "Upserted group", "PaymentTermId": "Net30"})
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == BASE + path.removeprefix("/data/")
    (row,) = group_rows(backend.engine, group)
    assert (row["DATAAREAID"], row["NAME"], row["PAYMTERMID"]) == ("usmf", "Upserted group", "Net30")
    assert (row["RECID"], row["RECVERSION"]) == (before_sequences["RECID"], 1)
    assert sequences(backend.engine)["RECID"] == before_sequences["RECID"] + 1
    assert response.json() == {
        "@odata.context": BASE + "$metadata#CustomerGroups/$entity",
        "@odata.etag": response.headers["ETag"],
        "dataAreaId": "usmf",
        "CustomerGroupId": group,
        "Description": "Upserted group",
        "PaymentTermId": "Net30",
    }
    # Once it exists, the same PATCH updates it.
    again = client.patch(path, json={"Description": "Updated group"})
    assert again.status_code == 204, again.text
    (updated,) = group_rows(backend.engine, group)
    assert updated["NAME"] == "Updated group" and updated["RECID"] == row["RECID"]
    assert updated["RECVERSION"] != row["RECVERSION"]


def test_no_upsert_where_the_entity_does_not_allow_it(
    client: TestClient, backend: Backend, written: Written
) -> None:
    account = written.key()
    group = written.key(prefix="G")
    before = database_state(backend.engine, account)
    response = client.patch(customer_path(account), json={"OrganizationName": "Ghost"})
    assert response.status_code == 404, response.text
    # If-Match: * demands an existing entity, so it never upserts.
    starred = client.patch(
        f"/data/CustomerGroups(dataAreaId='usmf',CustomerGroupId='{group}')",
        json={"Description": "x"},
        headers={"If-Match": "*"},
    )
    assert starred.status_code == 412, starred.text
    assert database_state(backend.engine, account) == before
    assert group_rows(backend.engine, group) == []


def test_upsert_refuses_a_different_key_in_the_body(
    client: TestClient, backend: Backend, written: Written
) -> None:
    group, other = written.key(prefix="G"), written.key(prefix="G")
    response = client.patch(
        f"/data/CustomerGroups(dataAreaId='usmf',CustomerGroupId='{group}')",
        json={"CustomerGroupId": other, "Description": "Which one?"},
    )
    assert response.status_code == 400, response.text
    assert error_of(response)["target"] == "CustomerGroupId"
    assert group_rows(backend.engine, group) == [] and group_rows(backend.engine, other) == []


def test_post_to_a_navigation_collection_links_to_the_parent(
    client: TestClient, backend: Backend, written: Written
) -> None:
    order = written.key()
    parent = customer_path("US-001")
    before_sequences = sequences(backend.engine)
    start = utc_now()
    response = client.post(
        parent + "/SalesOrders",
        json={
            "SalesOrderNumber": order,
            "RequestedShippingDate": "2024-03-15",
            "CustomerRequisitionNumber": "PO-77",
            "CurrencyCode": "USD",
        },
    )
    end = utc_now()
    assert response.status_code == 201, response.text
    assert (
        response.headers["Location"]
        == BASE + f"SalesOrderHeadersV2(dataAreaId='usmf',SalesOrderNumber='{order}')"
    )
    h = s.SALESTABLE
    with backend.engine.connect() as connection:
        (row,) = connection.execute(select(h).where(h.c.SALESID == order)).mappings().all()
    assert (row["DATAAREAID"], row["CUSTACCOUNT"]) == ("usmf", "US-001")
    assert (row["SHIPPINGDATEREQUESTED"], row["CUSTOMERREF"], row["CURRENCYCODE"]) == (
        dt.date(2024, 3, 15),
        "PO-77",
        "USD",
    )
    assert row["SALESSTATUS"] == 0
    assert (row["RECID"], row["RECVERSION"]) == (before_sequences["RECID"], 1)
    assert within(row["CREATEDDATETIME"], start, end)
    body = response.json()
    assert body["OrderingCustomerAccountNumber"] == "US-001"
    assert body["OrderCreationDateTime"] == as_utc_text(row["CREATEDDATETIME"])
    listed = client.get(parent + "/SalesOrders", params={"$filter": f"SalesOrderNumber eq '{order}'"})
    assert [entry["SalesOrderNumber"] for entry in listed.json()["value"]] == [order]

    # The link is given by the path: a body that disagrees is refused; a missing parent is 404.
    before = database_state(backend.engine)
    other = written.key()
    refused = client.post(
        parent + "/SalesOrders", json={"SalesOrderNumber": other, "OrderingCustomerAccountNumber": "US-002"}
    )
    assert refused.status_code == 400, refused.text
    assert error_of(refused)["target"] == "OrderingCustomerAccountNumber"
    missing = client.post(customer_path(written.key()) + "/SalesOrders", json={"SalesOrderNumber": other})
    assert missing.status_code == 404, missing.text
    assert database_state(backend.engine) == before


def test_read_only_entity_set_is_405(client: TestClient, backend: Backend) -> None:
    r, p, t = s.EXCHANGERATE, s.EXCHANGERATECURRENCYPAIR, s.EXCHANGERATETYPE
    with backend.engine.connect() as connection:
        rate = connection.execute(
            select(t.c.NAME, p.c.FROMCURRENCYCODE, p.c.TOCURRENCYCODE, r.c.VALIDFROM)
            .select_from(r.join(p, p.c.RECID == r.c.EXCHANGERATECURRENCYPAIR).join(t, t.c.RECID == p.c.EXCHANGERATETYPE))
            .order_by(r.c.RECID).limit(1)
        ).one()
    path = (f"/data/ExchangeRates(RateTypeName='{rate[0]}',FromCurrency='{rate[1]}',ToCurrency='{rate[2]}',"
            f"StartDate={rate[3].isoformat()[:10]})")
    assert client.get(path).status_code == 200
    before = database_state(backend.engine)
    with write_statements(client) as writes:
        for method, target in (("POST", "/data/ExchangeRates"), ("PATCH", path), ("PUT", path), ("DELETE", path)):
            body = {"RateTypeName": "Default", "FromCurrency": "EUR", "Rate": 2} if method != "DELETE" else None
            response = client.request(method, target, json=body)
            assert response.status_code == 405, (method, response.text)
            assert error_of(response)["code"] == "MethodNotAllowed"
            assert "GET" in response.headers["Allow"] and method not in response.headers["Allow"]
    assert writes == []
    assert database_state(backend.engine) == before


def test_location_addresses_the_entity_whatever_its_key(
    client: TestClient, backend: Backend, written: Written
) -> None:
    account = written.key(suffix="#1")
    response = client.post(
        "/data/CustomersV3", json={"CustomerAccount": account, "OrganizationName": "Hash Ltd"}
    )
    assert response.status_code == 201, response.text
    assert physical_customer(backend.engine, account).cust is not None
    followed = client.get(response.headers["Location"])
    assert followed.status_code == 200, followed.text
    assert followed.json()["CustomerAccount"] == account


# ------------------------------------------------------------------------------------------------
# Concurrency: one ETag, eight writers, one winner
# ------------------------------------------------------------------------------------------------
WRITERS = 8


def run_concurrently(
    app: Any, count: int, request: Any
) -> tuple[dict[int, httpx2.Response], list[BaseException]]:
    """`request(client, index)` from `count` threads at once, each with its own TestClient over `app`."""
    barrier = threading.Barrier(count)
    responses: dict[int, httpx2.Response] = {}
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        own = client_for(app)
        try:
            barrier.wait(timeout=30)
            responses[index] = request(own, index)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)
        finally:
            own.close()

    threads = [threading.Thread(target=worker, args=(index,), daemon=True) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a writer hung"
    return responses, failures


def test_concurrent_patches_with_one_etag_have_exactly_one_winner(
    client: TestClient, backend: Backend, written: Written
) -> None:
    account, created = create_customer(client, written, CreditLimit=1)
    etag = created.headers["ETag"]
    before = physical_customer(backend.engine, account)
    responses, failures = run_concurrently(
        client.app,
        WRITERS,
        lambda own, index: own.patch(
            customer_path(account),
            json={
                "CreditLimit": 1000 + index,
                "OrganizationName": f"Writer {index}",
                "AddressCity": f"City {index}",
            },
            headers={"If-Match": etag},
        ),
    )
    assert failures == []
    statuses = {index: response.status_code for index, response in responses.items()}
    assert sorted(statuses.values()) == [204] + [412] * (WRITERS - 1), statuses
    (winner,) = [index for index, status in statuses.items() if status == 204]

    after = physical_customer(backend.engine, account)
    assert after.cust is not None and after.party is not None and after.addr is not None
    # The winner's values, in all three tables (no mix of writers).
    assert amount(after.cust["CREDITMAX"]) == 1000 + winner
    assert after.party["NAME"] == f"Writer {winner}"
    assert after.addr["CITY"] == f"City {winner}"
    assert all(after.versions()[table] != before.versions()[table] for table in ("cust", "party", "addr"))
    assert after.recids() == before.recids()
    assert client.get(customer_path(account)).headers["ETag"] == responses[winner].headers["ETag"]


def test_concurrent_patches_without_if_match_all_succeed_and_one_wins_whole(
    client: TestClient, backend: Backend, written: Written
) -> None:
    """No If-Match: the caller wants its values whatever the row holds. A writer that meets a version
    written meanwhile reads it again and writes over it (never a 412), and the row ends as one writer
    left it in all three tables."""
    account, _ = create_customer(client, written, CreditLimit=1)
    before = physical_customer(backend.engine, account)
    responses, failures = run_concurrently(
        client.app,
        WRITERS,
        lambda own, index: own.patch(
            customer_path(account),
            json={"CreditLimit": 2000 + index, "OrganizationName": f"Free {index}", "AddressCity": f"Town {index}"},
        ),
    )
    assert failures == []
    assert sorted(response.status_code for response in responses.values()) == [204] * WRITERS, {
        index: response.text for index, response in responses.items() if response.status_code != 204}
    after = physical_customer(backend.engine, account)
    assert after.cust is not None and after.party is not None and after.addr is not None
    last = int(amount(after.cust["CREDITMAX"])) - 2000
    assert 0 <= last < WRITERS
    assert (after.party["NAME"], after.addr["CITY"]) == (f"Free {last}", f"Town {last}")  # no mix of writers
    assert after.recids() == before.recids()


def test_a_database_locked_past_the_wait_is_a_503_and_writes_nothing(
    client: TestClient, backend: Backend, written: Written
) -> None:
    """Another application holds the write lock past the lock wait: 503 DatabaseBusy with Retry-After
    (the request may be sent again as it is), never a 500; nothing of the write is kept."""
    if backend.name != "sqlite":
        pytest.skip("a whole-database write lock is SQLite's; row locks elsewhere wait under lock timeouts")
    account, _ = create_customer(client, written, CreditLimit=7)
    with backend.engine.connect() as holder:
        holder.exec_driver_sql("BEGIN IMMEDIATE")  # the file's write lock, until rollback
        try:
            response = client.patch(customer_path(account), json={"CreditLimit": 8})
        finally:
            holder.exec_driver_sql("ROLLBACK")
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "DatabaseBusy"
    assert response.headers["Retry-After"] == "1"
    assert amount(physical_customer(backend.engine, account).cust["CREDITMAX"]) == 7


def test_concurrent_creates_take_distinct_numbers(
    client: TestClient, backend: Backend, written: Written
) -> None:
    accounts = [written.key() for _ in range(WRITERS)]
    before = sequences(backend.engine)
    responses, failures = run_concurrently(
        client.app,
        WRITERS,
        lambda own, index: own.post(
            "/data/CustomersV3",
            json={"CustomerAccount": accounts[index], "OrganizationName": f"Racer {index}", **ADDRESS},
        ),
    )
    assert failures == []
    assert {index: response.status_code for index, response in responses.items()} == dict.fromkeys(
        range(WRITERS), 201
    )
    rows = [physical_customer(backend.engine, account) for account in accounts]
    recids = [recid for row in rows for recid in row.recids().values()]
    assert sorted(recids) == list(
        range(before["RECID"], before["RECID"] + 3 * WRITERS)
    )  # none shared, none lost
    party_numbers = sorted(row.party["PARTYNUMBER"] for row in rows)  # type: ignore[index]
    assert party_numbers == [
        f"{number:06d}" for number in range(before["PARTYNUMBER"], before["PARTYNUMBER"] + WRITERS)
    ]
    assert sequences(backend.engine) == {
        **before,
        "RECID": before["RECID"] + 3 * WRITERS,
        "PARTYNUMBER": before["PARTYNUMBER"] + WRITERS,
    }


def test_concurrent_creates_of_one_key_have_one_winner(
    client: TestClient, backend: Backend, written: Written
) -> None:
    account = written.key()
    before = counts(backend.engine)
    responses, failures = run_concurrently(
        client.app,
        WRITERS,
        lambda own, index: own.post(
            "/data/CustomersV3",
            json={"CustomerAccount": account, "OrganizationName": f"Racer {index}", **ADDRESS},
        ),
    )
    assert failures == []
    statuses = sorted(response.status_code for response in responses.values())
    assert statuses == [201] + [409] * (WRITERS - 1), {i: r.text[:200] for i, r in responses.items()}
    (winner,) = [index for index, response in responses.items() if response.status_code == 201]
    row = physical_customer(backend.engine, account)
    assert row.party is not None and row.party["NAME"] == f"Racer {winner}"
    after = counts(backend.engine)
    for table in ("CUSTTABLE", "DIRPARTYTABLE", "LOGISTICSPOSTALADDRESS"):
        assert after[table] == before[table] + 1, table  # the losers' party and address rows were rolled back
