"""`fno-gateway dualwrite verify [--map M] [--repair] [--master fo|dv]`: disagreements made with plain SQL
on one side are reported (checked against what the test changed), repaired in the map's direction
(checked with plain SQL over the physical tables), and a second verify finds nothing."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from gateway.cli import main
from gateway.dualwrite.verify import Difference, FieldDifference, MapCheck, VerifyResult, verify
from tests.dualwrite.conftest import Sides
from tests.dualwrite.test_live import account_row, customer_row, organization

CUSTOMERS = "Customers V3"
PRODUCTS = "Released distinct products"
VARIANTS = "Released distinct product variants"
GLOBAL_PRODUCTS = "All products"
HEADERS = "Sales order headers"
CHANGE_LOGS = 'SELECT count(*) FROM "DUALWRITECHANGES"'


@pytest.fixture(autouse=True)
def independent(sides: Sides) -> Iterator[None]:
    """Each test leaves every map Running, both sides agreeing (a test that failed half-way leaves its
    disagreements behind) and the change logs empty (plain SQL on mapped tables is captured; the worker
    never runs here)."""
    yield
    sides.fo_exec('UPDATE "DUALWRITEMAP" SET "STATE" = \'Running\'')
    # Every map but the sales lines (no test touches them, and they are most of the rows: seconds per test).
    verify(sides.dual, [name for name in sides.dual.maps.maps if name != "Sales order lines"], repair=True)
    for execute in (sides.fo_exec, sides.dv_exec):
        execute('DELETE FROM "DUALWRITECHANGES"')


def run(sides: Sides, capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, list[str]]:
    code = main(["dualwrite", "verify", *arguments, "--db", sides.fo_url, "--dataverse-db", sides.dv_url])
    return code, capsys.readouterr().out.splitlines()


def number(value: Any) -> str:
    """A stored decimal as the report writes it (JSON): 2000, 1234.5."""
    text = format(Decimal(str(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def quoted(value: Any) -> str:
    """A text value as the report writes it (JSON)."""
    return json.dumps(value, ensure_ascii=False)


def check_of(result: VerifyResult, name: str) -> MapCheck:
    return next(check for check in result.maps if check.map_name == name)


def by_key(check: MapCheck) -> dict[str, Difference]:
    assert check.differing == len(check.shown), "more differences than a check shows"
    return {difference.key: difference for difference in check.shown}


def change_logs(sides: Sides) -> tuple[int, int]:
    return sides.fo_sql(CHANGE_LOGS)[0][0], sides.dv_sql(CHANGE_LOGS)[0][0]


def organizations(sides: Sides) -> int:
    return int(sides.fo_sql('SELECT count(*) FROM "CUSTTABLE" c JOIN "DIRPARTYTABLE" p ON p."RECID" = c."PARTY" '
                            'WHERE p."PARTYTYPE" = 2')[0][0])


def accounts_agree(sides: Sides) -> None:
    """Every organization customer is an account with the same name, credit limit and city (plain SQL)."""
    fo = sides.fo_sql(
        'SELECT c."DATAAREAID" AS company, c."ACCOUNTNUM" AS account, p."NAME" AS name, c."CREDITMAX" AS credit, '
        'a."CITY" AS city FROM "CUSTTABLE" c JOIN "DIRPARTYTABLE" p ON p."RECID" = c."PARTY" '
        'LEFT JOIN "LOGISTICSPOSTALADDRESS" a ON a."RECID" = p."PRIMARYADDRESS" WHERE p."PARTYTYPE" = 2')
    dv = sides.dv_sql("SELECT c.cdm_companycode AS company, a.accountnumber AS account, a.name, a.creditlimit AS credit, "
                      "a.address1_city AS city FROM account a JOIN cdm_company c ON c.cdm_companyid = a.msdyn_company")
    assert len(dv) == len(fo)
    assert ({(r.company, r.account): (r.name, Decimal(str(r.credit)), r.city or "") for r in dv}
            == {(r.company, r.account): (r.name, Decimal(str(r.credit)), r.city or "") for r in fo})


def company_id(sides: Sides, code: str = "usmf") -> str:
    return str(sides.dv_sql("SELECT cdm_companyid FROM cdm_company WHERE cdm_companycode = :c", c=code)[0][0])


def insert_fo_customer(sides: Sides, account: str, name: str, credit: int, group: str = "30") -> None:
    """A customer written straight into F&O's tables (another application): a party and a customer."""
    party = int(sides.fo_sql('SELECT max("RECID") FROM "DIRPARTYTABLE"')[0][0]) + 1000
    customer = int(sides.fo_sql('SELECT max("RECID") FROM "CUSTTABLE"')[0][0]) + 1000
    sides.fo_exec('INSERT INTO "DIRPARTYTABLE" ("RECID", "RECVERSION", "PARTYNUMBER", "NAME", "PARTYTYPE", "LANGUAGEID", '
                  '"PRIMARYADDRESS") VALUES (:r, 1, :n, :name, 2, \'en-us\', NULL)', r=party, n=f"V{party}", name=name)
    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    sides.fo_exec('INSERT INTO "CUSTTABLE" ("RECID", "RECVERSION", "DATAAREAID", "ACCOUNTNUM", "PARTY", "CUSTGROUP", '
                  '"CURRENCY", "CREDITMAX", "BLOCKED", "CREATEDDATETIME", "MODIFIEDDATETIME") VALUES '
                  "(:r, 1, 'usmf', :a, :p, :g, 'USD', :c, 0, :t, :t)", r=customer, a=account, p=party, g=group,
                  c=credit, t=now)


# ---------------------------------------------------------------- nothing to report
def test_agreeing_sides_report_nothing(sides: Sides, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(sides, capsys)
    assert code == 0
    running = {row[0] for row in sides.fo_sql('SELECT "MAPNAME" FROM "DUALWRITEMAP" WHERE "STATE" = \'Running\'')}
    assert running == set(sides.dual.maps.maps)  # every shipped map
    summaries = {line.split(": ", 1)[0]: line for line in lines}
    assert set(summaries) == running and len(lines) == len(running)
    assert all(line.endswith(" rows compared, none differ") for line in lines)
    assert summaries[CUSTOMERS] == f"{CUSTOMERS}: {organizations(sides)} rows compared, none differ"
    # Released products and their variants are both `product` rows: neither map takes the other's as strays.
    released = sides.fo_sql('SELECT count(*) FROM "INVENTTABLE"')[0][0]
    assert summaries[PRODUCTS] == f"{PRODUCTS}: {released} rows compared, none differ"
    order = [line.split(":", 1)[0] for line in lines]  # prerequisites first
    assert order.index("Legal entities") < order.index("Customer groups") < order.index(CUSTOMERS) \
        < order.index(HEADERS) < order.index("Sales order lines")


# ---------------------------------------------------------------- F&O is the truth (the default)
def test_changed_fields_are_reported_and_repaired_from_fo(sides: Sides, capsys: pytest.CaptureFixture[str]) -> None:
    first, second, third = (organization(sides, index) for index in (0, 1, 2))
    before = {customer["account"]: (customer_row(sides, customer["account"]), account_row(sides, customer["account"]))
              for customer in (first, second, third)}
    sides.dv_exec("UPDATE account SET creditlimit = 300039 WHERE accountid = :id", id=first["accountid"])
    sides.fo_exec('UPDATE "CUSTTABLE" SET "CREDITMAX" = 100009 WHERE "DATAAREAID" = \'usmf\' AND "ACCOUNTNUM" = :a',
                  a=second["account"])
    sides.fo_exec('UPDATE "DIRPARTYTABLE" SET "NAME" = \'Renamed by SQL\' WHERE "RECID" = (SELECT "PARTY" FROM '
                  '"CUSTTABLE" WHERE "DATAAREAID" = \'usmf\' AND "ACCOUNTNUM" = :a)', a=third["account"])

    result = verify(sides.dual, [CUSTOMERS])
    assert not result.clean
    check = check_of(result, CUSTOMERS)
    assert (check.compared, check.differing, check.repaired) == (organizations(sides), 3, 0)
    found = by_key(check)
    assert set(found) == {f"usmf/{customer['account']}" for customer in (first, second, third)}
    fo_first, _ = before[first["account"]]
    assert found[f"usmf/{first['account']}"].fields == [
        FieldDifference("CreditLimit ↔ creditlimit", number(fo_first.credit), "300039")]
    assert found[f"usmf/{second['account']}"].fields == [
        FieldDifference("CreditLimit ↔ creditlimit", "100009", number(before[second["account"]][1].creditlimit))]
    assert found[f"usmf/{third['account']}"].fields == [
        FieldDifference("OrganizationName ↔ name", '"Renamed by SQL"', quoted(before[third["account"]][1].name))]
    assert all(difference.kind == "fields" and difference.side == "fo" for difference in found.values())

    logs = change_logs(sides)
    code, lines = run(sides, capsys, "--map", CUSTOMERS, "--repair")
    assert code == 0
    assert lines[-1] == f"{CUSTOMERS}: {organizations(sides)} rows compared, 3 differ, repaired 3"
    assert f"{CUSTOMERS}  usmf/{first['account']}  CreditLimit ↔ creditlimit: F&O {number(fo_first.credit)}, " \
           "Dataverse 300039  → updated on Dataverse" in lines
    assert change_logs(sides) == logs  # the repair's own writes are captured by no trigger
    assert Decimal(str(account_row(sides, first["account"]).creditlimit)) == Decimal(str(fo_first.credit))
    assert Decimal(str(customer_row(sides, first["account"]).credit)) == Decimal(str(fo_first.credit))  # F&O kept
    assert Decimal(str(account_row(sides, second["account"]).creditlimit)) == 100009
    assert account_row(sides, third["account"]).name == "Renamed by SQL"
    accounts_agree(sides)
    assert run(sides, capsys, "--map", CUSTOMERS) == (0, [f"{CUSTOMERS}: {organizations(sides)} rows compared, none differ"])


def test_rows_only_one_side_has_are_created_on_the_other(sides: Sides, capsys: pytest.CaptureFixture[str]) -> None:
    gone = organization(sides, 3)
    sides.dv_exec("DELETE FROM account WHERE accountid = :id", id=gone["accountid"])
    fo_only, dv_only = "VF-" + uuid.uuid4().hex[:6].upper(), "VD-" + uuid.uuid4().hex[:6].upper()
    insert_fo_customer(sides, fo_only, "Made in F&O by SQL", 1234)
    sides.dv_exec("INSERT INTO account (accountid, accountnumber, name, msdyn_company, creditlimit, creditonhold, "
                  "customertypecode, transactioncurrencyid, statecode, versionnumber) VALUES "
                  "(:id, :a, 'Made in Dataverse by SQL', :company, 750, :hold, 3, "
                  "(SELECT transactioncurrencyid FROM transactioncurrency WHERE isocurrencycode = 'USD'), 0, 1)",
                  id=str(uuid.uuid4()), a=dv_only, company=company_id(sides), hold=False)

    found = by_key(check_of(verify(sides.dual, [CUSTOMERS]), CUSTOMERS))
    assert {key: (difference.kind, difference.side) for key, difference in found.items()} == {
        f"usmf/{gone['account']}": ("only", "fo"), f"usmf/{fo_only}": ("only", "fo"), f"usmf/{dv_only}": ("only", "dv")}

    code, lines = run(sides, capsys, "--map", CUSTOMERS, "--repair")  # (the only map this test touches)
    assert code == 0
    assert f"{CUSTOMERS}  usmf/{dv_only}  only on Dataverse  → created on F&O" in lines
    assert f"{CUSTOMERS}: {organizations(sides)} rows compared, 3 differ, repaired 3" in lines
    assert account_row(sides, gone["account"]).name == customer_row(sides, gone["account"]).name
    made = account_row(sides, fo_only)
    assert (made.name, Decimal(str(made.creditlimit)), made.customertypecode) == ("Made in F&O by SQL", Decimal(1234), 3)
    customer = customer_row(sides, dv_only)  # a both-ways map: the Dataverse row is real data, F&O gets it
    assert (customer.name, Decimal(str(customer.credit))) == ("Made in Dataverse by SQL", Decimal(750))
    accounts_agree(sides)
    code, lines = run(sides, capsys, "--map", CUSTOMERS)
    assert code == 0 and lines == [f"{CUSTOMERS}: {organizations(sides)} rows compared, none differ"]


# ---------------------------------------------------------------- one-way maps
def test_one_way_maps_copy_fo_and_drop_strays(sides: Sides, capsys: pytest.CaptureFixture[str]) -> None:
    product, untouched = sides.fo_sql(
        'SELECT p."RECID", p."DISPLAYPRODUCTNUMBER" AS number, p."SEARCHNAME" AS name FROM "ECORESPRODUCT" p '
        'WHERE p."PRODUCTSUBTYPE" = 1 AND EXISTS (SELECT 1 FROM "INVENTTABLE" i WHERE i."PRODUCT" = p."RECID") '
        'ORDER BY p."DISPLAYPRODUCTNUMBER"')[:2]
    released = sides.fo_sql('SELECT "DATAAREAID", "ITEMID" FROM "INVENTTABLE" WHERE "PRODUCT" = :p', p=product.RECID)
    assert released
    sides.fo_exec('UPDATE "ECORESPRODUCT" SET "SEARCHNAME" = \'Renamed in F&O\' WHERE "RECID" = :p', p=product.RECID)
    sides.dv_exec("UPDATE msdyn_globalproduct SET msdyn_productname = 'Changed in Dataverse' "
                  "WHERE msdyn_productnumber = :n", n=untouched.number)
    stray = "STRAY-" + uuid.uuid4().hex[:4].upper()
    sides.dv_exec("INSERT INTO product (productid, productnumber, msdyn_productnumber, name, msdyn_company, statecode, "
                  "versionnumber) VALUES (:id, :pn, :n, 'Nobody released me', :company, 0, 1)",
                  id=str(uuid.uuid4()), pn="usmf" + stray, n=stray, company=company_id(sides))

    result = verify(sides.dual, master="dv")  # --master concerns both-ways maps only: F&O is the truth here
    everything = by_key(check_of(result, GLOBAL_PRODUCTS))
    assert everything == {
        product.number: Difference(product.number, "fields", "fo", [
            FieldDifference("ProductName ↔ msdyn_productname", '"Renamed in F&O"', quoted(product.name))]),
        untouched.number: Difference(untouched.number, "fields", "fo", [
            FieldDifference("ProductName ↔ msdyn_productname", quoted(untouched.name), '"Changed in Dataverse"')])}
    copies = by_key(check_of(result, PRODUCTS))
    assert {key: difference.kind for key, difference in copies.items()} == {
        **{f"{company}/{item}": "fields" for company, item in released}, f"usmf/{stray}": "only"}
    assert copies[f"usmf/{stray}"].side == "dv"
    assert {key: difference.kind for key, difference in by_key(check_of(result, VARIANTS)).items()} == {
        f"usmf/{stray}": "only"}
    assert sum(check.differing for check in result.maps) == 2 + len(released) + 2

    code, lines = run(sides, capsys, "--repair", "--master", "dv")
    assert code == 0
    assert f"{PRODUCTS}  usmf/{stray}  only on Dataverse  → deleted on Dataverse" in lines
    names = dict(sides.dv_sql("SELECT msdyn_productnumber, msdyn_productname FROM msdyn_globalproduct "
                              "WHERE msdyn_productnumber IN (:a, :b)", a=product.number, b=untouched.number))
    assert names == {product.number: "Renamed in F&O", untouched.number: untouched.name}
    assert sides.fo_sql('SELECT "SEARCHNAME" FROM "ECORESPRODUCT" WHERE "DISPLAYPRODUCTNUMBER" = :n',
                        n=untouched.number)[0][0] == untouched.name  # the copy was put right, not F&O
    copied = sides.dv_sql("SELECT name FROM product WHERE productnumber IN ("
                          + ", ".join(f":p{index}" for index in range(len(released))) + ")",
                          **{f"p{index}": company + item for index, (company, item) in enumerate(released)})
    assert [row[0] for row in copied] == ["Renamed in F&O"] * len(released)
    assert sides.dv_sql("SELECT count(*) FROM product WHERE msdyn_productnumber = :n", n=stray)[0][0] == 0
    assert run(sides, capsys, "--map", PRODUCTS)[0] == 0


# ---------------------------------------------------------------- --master dv
def test_master_dv_takes_dataverse_for_both_ways_fields(sides: Sides, capsys: pytest.CaptureFixture[str]) -> None:
    changed, lossy = organization(sides, 4), organization(sides, 5)
    fo_before = customer_row(sides, changed["account"])
    sides.dv_exec("UPDATE account SET creditlimit = 4242, address1_city = 'Tacoma' WHERE accountid = :id",
                  id=changed["accountid"])
    # A lossy value map is no difference: Invoice goes to Dataverse as "on hold", and on hold leaves Invoice.
    sides.fo_exec('UPDATE "CUSTTABLE" SET "BLOCKED" = 1 WHERE "DATAAREAID" = \'usmf\' AND "ACCOUNTNUM" = :a',
                  a=lossy["account"])
    sides.dv_exec("UPDATE account SET creditonhold = :hold WHERE accountid = :id", hold=True, id=lossy["accountid"])
    order = sides.fo_sql('SELECT h."SALESID" AS number, h."CUSTOMERREF" AS reference FROM "SALESTABLE" h '
                         'JOIN "CUSTTABLE" c ON c."DATAAREAID" = h."DATAAREAID" AND c."ACCOUNTNUM" = h."CUSTACCOUNT" '
                         'JOIN "DIRPARTYTABLE" p ON p."RECID" = c."PARTY" WHERE h."DATAAREAID" = \'usmf\' '
                         'AND p."PARTYTYPE" = 2 ORDER BY h."SALESID"')[0]
    # `name` flows F&O → Dataverse only (a template of the order number): F&O stays its truth.
    sides.dv_exec("UPDATE salesorder SET name = 'Renamed in Dataverse', msdyn_customerrequisitionnumber = 'REQ-DV' "
                  "WHERE msdyn_salesordernumber = :n AND msdyn_company = :c", n=order.number, c=company_id(sides))

    result = verify(sides.dual, [CUSTOMERS, HEADERS], master="dv")
    assert [check.truth for check in result.maps] == ["dv", "dv"]
    assert by_key(check_of(result, CUSTOMERS)) == {f"usmf/{changed['account']}": Difference(
        f"usmf/{changed['account']}", "fields", "dv", [
            FieldDifference("CreditLimit ↔ creditlimit", number(fo_before.credit), "4242"),
            FieldDifference("AddressCity ↔ address1_city", quoted(fo_before.city), '"Tacoma"')])}
    assert by_key(check_of(result, HEADERS)) == {f"usmf/{order.number}": Difference(
        f"usmf/{order.number}", "fields", "dv", [
            FieldDifference("CustomerRequisitionNumber ↔ msdyn_customerrequisitionnumber", quoted(order.reference),
                            '"REQ-DV"'),
            FieldDifference("name", quoted(order.number), '"Renamed in Dataverse"')])}
    fo_truth = by_key(check_of(verify(sides.dual, [CUSTOMERS]), CUSTOMERS))  # the lossy one differs neither way
    assert set(fo_truth) == {f"usmf/{changed['account']}"}

    code, lines = run(sides, capsys, "--repair", "--master", "dv", "--map", HEADERS)
    assert code == 0 and lines[-1] == f"{HEADERS}: {len(sides.dv_sql('SELECT 1 FROM salesorder'))} rows compared, " \
                                      "1 differs, repaired 1"
    assert lines[0].endswith("→ updated on F&O, updated on Dataverse")
    assert run(sides, capsys, "--repair", "--master", "dv", "--map", CUSTOMERS)[0] == 0
    customer = customer_row(sides, changed["account"])
    assert (Decimal(str(customer.credit)), customer.city) == (Decimal(4242), "Tacoma")
    assert customer_row(sides, lossy["account"]).blocked == 1  # still Invoice
    header = sides.fo_sql('SELECT "CUSTOMERREF" FROM "SALESTABLE" WHERE "DATAAREAID" = \'usmf\' AND "SALESID" = :n',
                          n=order.number)[0][0]
    assert header == "REQ-DV"
    assert sides.dv_sql("SELECT name, msdyn_customerrequisitionnumber FROM salesorder WHERE msdyn_salesordernumber = :n "
                        "AND msdyn_company = :c", n=order.number, c=company_id(sides))[0] == (order.number, "REQ-DV")
    accounts_agree(sides)
    assert run(sides, capsys)[0] == 0


# ---------------------------------------------------------------- --map, states, refusals, the CLI
def test_map_option_and_map_states(sides: Sides, capsys: pytest.CaptureFixture[str]) -> None:
    broken = organization(sides, 6)
    sides.dv_exec("UPDATE account SET creditlimit = creditlimit + 1 WHERE accountid = :id", id=broken["accountid"])
    groups = sides.fo_sql('SELECT count(*) FROM "CUSTGROUP"')[0][0]
    assert run(sides, capsys, "--map", "Customer groups") == (0, [f"Customer groups: {groups} rows compared, none differ"])
    sides.fo_exec('UPDATE "DUALWRITEMAP" SET "STATE" = \'Stopped\' WHERE "MAPNAME" = \'Product styles\'')
    code, lines = run(sides, capsys)
    # a line per running map (all but Product styles) and one for the difference
    assert code == 1 and len(lines) == len(sides.dual.maps.maps) - 1 + 1 and not any(line.startswith("Product styles") for line in lines)
    styles = sides.fo_sql('SELECT count(*) FROM "ECORESSTYLE"')[0][0]
    assert run(sides, capsys, "--map", "Product styles") == (0, [f"Product styles: {styles} rows compared, none differ"])
    code, lines = run(sides, capsys, "--map", CUSTOMERS)
    assert code == 1 and len(lines) == 2 and lines[0].startswith(f"{CUSTOMERS}  usmf/{broken['account']}  CreditLimit")
    assert run(sides, capsys, "--map", CUSTOMERS, "--repair")[0] == 0
    accounts_agree(sides)
    assert main(["dualwrite", "verify", "--map", "Nope", "--db", sides.fo_url, "--dataverse-db", sides.dv_url]) == 1
    assert "there is no map named 'Nope'" in capsys.readouterr().err


def test_a_refused_row_is_counted_and_the_others_repaired(sides: Sides, capsys: pytest.CaptureFixture[str]) -> None:
    moved, other_one = organization(sides, 7), organization(sides, 8)
    group = "VG" + uuid.uuid4().hex[:4].upper()  # a new group only F&O has (its map is verified first)
    recid = int(sides.fo_sql('SELECT max("RECID") FROM "CUSTGROUP"')[0][0]) + 1000
    sides.fo_exec('INSERT INTO "CUSTGROUP" ("RECID", "RECVERSION", "DATAAREAID", "CUSTGROUP", "NAME", "PAYMTERMID") '
                  "VALUES (:r, 1, 'usmf', :g, 'Verify group', 'Net30')", r=recid, g=group)
    sides.fo_exec('UPDATE "CUSTTABLE" SET "CUSTGROUP" = :g WHERE "DATAAREAID" = \'usmf\' AND "ACCOUNTNUM" = :a',
                  g=group, a=moved["account"])
    sides.dv_exec("UPDATE account SET creditlimit = 1 WHERE accountid = :id", id=other_one["accountid"])
    # Two customers renamed alike, and Dataverse takes that name once: the second rename is refused by the
    # database itself (on PostgreSQL that aborts the transaction: only its savepoint keeps the others).
    first, second = organization(sides, 9)["account"], organization(sides, 10)["account"]
    for account in (first, second):
        sides.fo_exec('UPDATE "DIRPARTYTABLE" SET "NAME" = \'VERIFY-UNIQUE taken\' WHERE "RECID" = (SELECT "PARTY" '
                      'FROM "CUSTTABLE" WHERE "DATAAREAID" = \'usmf\' AND "ACCOUNTNUM" = :a)', a=account)
    sides.dv_exec("CREATE UNIQUE INDEX verify_unique_name ON account (name) WHERE substr(name, 1, 13) = 'VERIFY-UNIQUE'")
    try:
        code, lines = run(sides, capsys, "--map", CUSTOMERS, "--repair")
    finally:
        sides.dv_exec("DROP INDEX verify_unique_name")
    assert code == 1
    assert lines[-1] == f"{CUSTOMERS}: {organizations(sides)} rows compared, 4 differ, repaired 2, refused 2"
    refused = next(line for line in lines if f"usmf/{moved['account']}" in line)
    assert "cannot be converted for Dataverse" in refused and "→ refused: " in refused and group in refused
    assert "→ refused: " in next(line for line in lines if f"usmf/{second}" in line)
    assert account_row(sides, first).name == "VERIFY-UNIQUE taken"
    assert account_row(sides, second).name != "VERIFY-UNIQUE taken"
    assert Decimal(str(account_row(sides, other_one["account"]).creditlimit)) == \
        Decimal(str(customer_row(sides, other_one["account"]).credit))  # savepoints kept the other repairs

    code, lines = run(sides, capsys, "--repair")  # Customer groups first: the group, then the customer
    assert code == 0
    assert lines.index(f"Customer groups  usmf/{group}  only on F&O  → created on Dataverse") \
        < lines.index(f"{CUSTOMERS}: {organizations(sides)} rows compared, 2 differ, repaired 2")
    linked = sides.dv_sql("SELECT g.msdyn_groupid FROM account a JOIN msdyn_customergroup g "
                          "ON g.msdyn_customergroupid = a.msdyn_customergroupid WHERE a.accountid = :id",
                          id=moved["accountid"])
    assert linked[0][0] == group
    assert account_row(sides, second).name == "VERIFY-UNIQUE taken"
    accounts_agree(sides)
    assert run(sides, capsys)[0] == 0


def test_cli_caps_the_list_and_runs_as_a_command(sides: Sides, capsys: pytest.CaptureFixture[str]) -> None:
    rows = sides.dv_sql("SELECT a.accountid, c.cdm_companycode AS company, a.accountnumber FROM account a "
                        "JOIN cdm_company c ON c.cdm_companyid = a.msdyn_company ORDER BY 2, 3")[:25]
    assert len(rows) == 25
    for row in rows:
        sides.dv_exec("UPDATE account SET creditlimit = creditlimit + 7 WHERE accountid = :id", id=row.accountid)
    code, lines = run(sides, capsys, "--map", CUSTOMERS)
    assert code == 1
    shown = [line.split("  ")[1] for line in lines[:20]]
    assert shown == [f"{row.company}/{row.accountnumber}" for row in rows[:20]]  # key order
    first = customer_row(sides, rows[0].accountnumber, rows[0].company)
    assert lines[0] == (f"{CUSTOMERS}  {rows[0].company}/{rows[0].accountnumber}  CreditLimit ↔ creditlimit: "
                        f"F&O {number(first.credit)}, Dataverse {number(Decimal(str(first.credit)) + 7)}")
    assert lines[20:] == [f"{CUSTOMERS}  … and 5 more", f"{CUSTOMERS}: {organizations(sides)} rows compared, 25 differ"]

    command = [sys.executable, "-m", "gateway.cli", "dualwrite", "verify", "--map", CUSTOMERS, "--db", sides.fo_url,
               "--dataverse-db", sides.dv_url]
    repaired = subprocess.run([*command, "--repair"], capture_output=True, text=True, timeout=300, check=False)
    assert repaired.returncode == 0, repaired.stderr
    assert repaired.stdout.splitlines()[-1] == f"{CUSTOMERS}: {organizations(sides)} rows compared, 25 differ, " \
                                               "repaired 25"
    accounts_agree(sides)
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert (again.returncode, again.stdout) == (0, f"{CUSTOMERS}: {organizations(sides)} rows compared, none differ\n")
