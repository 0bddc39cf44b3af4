"""Initial sync: every row of a map copied (checked row by row against the F&O tables), matching rows
the other side already has (bootstrapping, no duplicates), resumable after a crash."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.dualwrite import initial as initial_module
from gateway.dualwrite.initial import initial_sync
from tests.dualwrite.conftest import Sides

CUSTOMERS = "Customers V3"


def fo_organizations(sides: Sides) -> dict[tuple[str, str], tuple[str, Decimal, str]]:
    rows = sides.fo_sql(
        'SELECT c."DATAAREAID" AS company, c."ACCOUNTNUM" AS account, p."NAME" AS name, c."CREDITMAX" AS credit, '
        'a."CITY" AS city FROM "CUSTTABLE" c JOIN "DIRPARTYTABLE" p ON p."RECID" = c."PARTY" '
        'LEFT JOIN "LOGISTICSPOSTALADDRESS" a ON a."RECID" = p."PRIMARYADDRESS" WHERE p."PARTYTYPE" = 2')
    return {(row.company, row.account): (row.name, Decimal(str(row.credit)), row.city or "") for row in rows}


def dv_accounts(sides: Sides) -> dict[tuple[str, str], tuple[str, Decimal, str]]:
    rows = sides.dv_sql("SELECT c.cdm_companycode AS company, a.accountnumber AS account, a.name, a.creditlimit, "
                        "a.address1_city AS city FROM account a JOIN cdm_company c ON c.cdm_companyid = a.msdyn_company")
    result = {(row.company, row.account): (row.name, Decimal(str(row.creditlimit)), row.city or "") for row in rows}
    assert len(result) == len(rows), "an integration key appears twice"
    return result


def test_every_organization_is_an_account(sides: Sides) -> None:
    assert dv_accounts(sides) == fo_organizations(sides)


def test_every_order_line_is_copied(sides: Sides) -> None:
    expected = sides.fo_sql(
        'SELECT count(*) FROM "SALESLINE" l JOIN "SALESTABLE" h ON h."DATAAREAID" = l."DATAAREAID" AND '
        'h."SALESID" = l."SALESID" JOIN "CUSTTABLE" c ON c."DATAAREAID" = h."DATAAREAID" AND '
        'c."ACCOUNTNUM" = h."CUSTACCOUNT" JOIN "DIRPARTYTABLE" p ON p."RECID" = c."PARTY" WHERE p."PARTYTYPE" = 2')[0][0]
    copied = sides.dv_sql("SELECT count(*) FROM salesorderdetail d JOIN salesorder o ON o.salesorderid = d.salesorderid "
                          "JOIN product p ON p.productid = d.productid")[0][0]
    assert expected > 1000 and copied == expected


def test_released_products_and_variants_are_products(sides: Sides) -> None:
    released = sides.fo_sql('SELECT i."DATAAREAID" || i."ITEMID" FROM "INVENTTABLE" i')
    variants = sides.fo_sql(
        'SELECT i."DATAAREAID" || v."DISPLAYPRODUCTNUMBER" FROM "ECORESPRODUCT" v JOIN "ECORESPRODUCT" m '
        'ON m."RECID" = v."PRODUCTMASTER" JOIN "INVENTTABLE" i ON i."PRODUCT" = m."RECID" WHERE v."PRODUCTSUBTYPE" = 3')
    products = sides.dv_sql("SELECT productnumber FROM product")
    assert sorted(row[0] for row in products) == sorted(row[0] for row in released + variants)
    assert len(variants) > 0


def test_bootstrapping_matches_existing_rows_without_duplicates(sides: Sides) -> None:
    before = dv_accounts(sides)
    sides.dv_exec("UPDATE account SET creditlimit = 1 WHERE accountnumber IN "
                  "(SELECT accountnumber FROM account ORDER BY accountnumber LIMIT 5)")
    result = initial_sync(sides.dual, sides.dual.table_map(CUSTOMERS), restart=True)
    assert result.counts["create"] == 0 and result.counts["failed"] == 0
    assert 5 <= result.counts["update"] <= 15  # the five changed (per company), nothing else
    assert dv_accounts(sides) == before == fo_organizations(sides)


def test_resumes_after_a_crash(sides: Sides, monkeypatch: pytest.MonkeyPatch) -> None:
    sides.dv_exec("DELETE FROM account")
    calls = {"batches": 0}

    def crash_after_two_batches(done: int) -> None:
        calls["batches"] += 1
        if calls["batches"] == 2:
            raise KeyboardInterrupt("the process stops")

    table_map = sides.dual.table_map(CUSTOMERS)
    with pytest.raises(KeyboardInterrupt):
        initial_sync(sides.dual, table_map, progress=crash_after_two_batches, restart=True, batch_rows=10)
    copied = len(dv_accounts(sides))
    assert copied == 20  # two batches were committed before the crash
    result = initial_sync(sides.dual, table_map, batch_rows=10)
    assert result.resumed
    assert result.counts["create"] == len(fo_organizations(sides)) - 20
    assert dv_accounts(sides) == fo_organizations(sides)


def test_refused_rows_are_counted_and_logged(sides: Sides) -> None:
    group = sides.dv_sql("SELECT msdyn_groupid, msdyn_company FROM msdyn_customergroup ORDER BY 1")[0]
    sides.dv_exec("DELETE FROM msdyn_customergroup WHERE msdyn_groupid = :g AND msdyn_company = :c",
                  g=group.msdyn_groupid, c=group.msdyn_company)
    sides.dv_exec("DELETE FROM account")
    result = initial_sync(sides.dual, sides.dual.table_map(CUSTOMERS), restart=True)
    expected_failures = sides.fo_sql(
        'SELECT count(*) FROM "CUSTTABLE" c JOIN "DIRPARTYTABLE" p ON p."RECID" = c."PARTY" '
        'WHERE p."PARTYTYPE" = 2 AND c."CUSTGROUP" = :g AND c."DATAAREAID" = :company', g=group.msdyn_groupid,
        company=sides.dv_sql("SELECT cdm_companycode FROM cdm_company WHERE cdm_companyid = :c",
                             c=group.msdyn_company)[0][0])[0][0]
    assert expected_failures > 0 and result.counts["failed"] == expected_failures
    assert "msdyn_customergroup" in result.summary()
    logged = sides.fo_sql('SELECT count(*) FROM "DUALWRITEERROR" WHERE "KIND" = \'initial\'')[0][0]
    assert logged >= expected_failures


def test_summary_reads_well() -> None:
    result = initial_module.InitialSyncResult("Customers V3", "fo")
    result.counts.update({"create": 1200, "failed": 2})
    result.errors.update({"no group": 2})
    assert result.summary() == ("Customers V3: 1,200 created, 0 updated, 0 unchanged, 2 failed\n  2 × no group")

