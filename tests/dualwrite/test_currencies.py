"""Currencies, exchange rate types and exchange rates, F&O → Dataverse, and the currency lookups of
accounts, vendors and orders. Every check reads the physical tables of both databases with plain SQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from gateway.dualwrite.initial import initial_sync
from tests.dualwrite.conftest import Sides
from tests.dualwrite.test_live import account_row, organization

DISPLAY_FACTOR = {0: 1, 1: 10, 2: 100, 3: 1000, 4: 10000}  # ExchangeRateDisplayFactor → msdyn_conversionfactor


def day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def fo_rates(sides: Sides) -> dict[tuple[str, str, str, dt.date], tuple[dt.date, Decimal, int]]:
    rows = sides.fo_sql(
        'SELECT t."NAME" AS ratetype, p."FROMCURRENCYCODE" AS source, p."TOCURRENCYCODE" AS target, '
        'r."VALIDFROM" AS start, r."VALIDTO" AS finish, r."EXCHANGERATE" AS rate, p."EXCHANGERATEDISPLAYFACTOR" AS factor '
        'FROM "EXCHANGERATE" r JOIN "EXCHANGERATECURRENCYPAIR" p ON p."RECID" = r."EXCHANGERATECURRENCYPAIR" '
        'JOIN "EXCHANGERATETYPE" t ON t."RECID" = p."EXCHANGERATETYPE"')
    return {(row.ratetype, row.source, row.target, day(row.start)):
            (day(row.finish), Decimal(str(row.rate)), DISPLAY_FACTOR[row.factor]) for row in rows}


def dv_rates(sides: Sides) -> dict[tuple[str, str, str, dt.date], tuple[dt.date, Decimal, int]]:
    """The rates as Dataverse holds them, keyed through the lookups (not the written-out key columns)."""
    rows = sides.dv_sql(
        "SELECT t.msdyn_name AS ratetype, f.isocurrencycode AS source, o.isocurrencycode AS target, "
        "r.msdyn_startdate AS start, r.msdyn_enddate AS finish, r.msdyn_rate AS rate, r.msdyn_conversionfactor AS factor "
        "FROM msdyn_currencyexchangerate r JOIN msdyn_exchangeratetype t ON t.msdyn_exchangeratetypeid = r.msdyn_exchangeratetype "
        "JOIN transactioncurrency f ON f.transactioncurrencyid = r.msdyn_fromcurrency "
        "JOIN transactioncurrency o ON o.transactioncurrencyid = r.msdyn_tocurrency")
    result = {(row.ratetype, row.source, row.target, day(row.start)):
              (day(row.finish), Decimal(str(row.rate)), row.factor) for row in rows}
    assert len(result) == len(rows) == sides.dv_sql("SELECT count(*) FROM msdyn_currencyexchangerate")[0][0]
    return result


def currency_id(sides: Sides, code: str) -> Any:
    rows = sides.dv_sql("SELECT transactioncurrencyid FROM transactioncurrency WHERE isocurrencycode = :c", c=code)
    return rows[0][0] if rows else None


# ---------------------------------------------------------------- initial sync
def test_every_currency_is_a_transaction_currency(sides: Sides) -> None:
    fo = {row[0]: (row[1], row[2], Decimal(str(row[3]))) for row in sides.fo_sql(
        'SELECT "CURRENCYCODE", "TXT", "SYMBOL", "ROUNDINGPRECISION" FROM "CURRENCY"')}
    dv = {row[0]: (row[1], row[2], Decimal(str(row[3]))) for row in sides.dv_sql(
        "SELECT isocurrencycode, currencyname, currencysymbol, msdyn_roundingprecision FROM transactioncurrency")}
    assert len(fo) >= 5 and dv == fo


def test_every_exchange_rate_is_copied_with_its_lookups(sides: Sides) -> None:
    expected = fo_rates(sides)
    assert len(expected) > 500
    assert dv_rates(sides) == expected
    types = sides.fo_sql('SELECT "NAME", "DESCRIPTION" FROM "EXCHANGERATETYPE"')
    assert sorted(sides.dv_sql("SELECT msdyn_name, msdyn_description FROM msdyn_exchangeratetype")) == sorted(types)


def test_accounts_and_orders_name_their_fo_currency(sides: Sides) -> None:
    fo = {(row[0], row[1]): row[2] for row in sides.fo_sql(
        'SELECT c."DATAAREAID", c."ACCOUNTNUM", c."CURRENCY" FROM "CUSTTABLE" c '
        'JOIN "DIRPARTYTABLE" p ON p."RECID" = c."PARTY" WHERE p."PARTYTYPE" = 2')}
    dv = {(row[0], row[1]): row[2] for row in sides.dv_sql(
        "SELECT k.cdm_companycode, a.accountnumber, cur.isocurrencycode FROM account a "
        "JOIN cdm_company k ON k.cdm_companyid = a.msdyn_company "
        "JOIN transactioncurrency cur ON cur.transactioncurrencyid = a.transactioncurrencyid")}
    assert dv == fo and {"USD", "EUR"} <= set(fo.values())
    orders = sides.dv_sql("SELECT count(*) FROM salesorder o JOIN transactioncurrency cur "
                          "ON cur.transactioncurrencyid = o.transactioncurrencyid")[0][0]
    assert orders == sides.dv_sql("SELECT count(*) FROM salesorder")[0][0] > 0


# ---------------------------------------------------------------- live sync
def test_a_new_fo_currency_reaches_dataverse(sides: Sides) -> None:
    response = sides.client.post("/data/Currencies", json={
        "CurrencyCode": "NOK", "Name": "Norwegian Krone", "Symbol": "kr", "RoundingPrecision": 0.01})
    assert response.status_code == 201, response.text
    row = sides.dv_sql("SELECT currencyname, currencysymbol FROM transactioncurrency WHERE isocurrencycode = 'NOK'")
    assert [tuple(r) for r in row] == [("Norwegian Krone", "kr")]


def test_a_rate_changed_by_sql_in_fo_reaches_dataverse_through_the_change_log(sides: Sides) -> None:
    key = min(fo_rates(sides))
    sides.fo_exec(
        'UPDATE "EXCHANGERATE" SET "EXCHANGERATE" = 1.2345 WHERE "VALIDFROM" = :d AND "EXCHANGERATECURRENCYPAIR" = '
        '(SELECT p."RECID" FROM "EXCHANGERATECURRENCYPAIR" p JOIN "EXCHANGERATETYPE" t ON t."RECID" = p."EXCHANGERATETYPE" '
        'WHERE t."NAME" = :t AND p."FROMCURRENCYCODE" = :f AND p."TOCURRENCYCODE" = :o)',
        d=key[3], t=key[0], f=key[1], o=key[2])
    sides.drain()
    assert dv_rates(sides)[key][1] == Decimal("1.2345")
    assert dv_rates(sides) == fo_rates(sides)


def test_rates_are_read_only_in_dataverse_too(sides: Sides) -> None:
    before = fo_rates(sides)
    rateid = sides.dv_sql("SELECT msdyn_currencyexchangerateid FROM msdyn_currencyexchangerate")[0][0]
    response = sides.client.patch(f"/api/data/v9.2/msdyn_currencyexchangerates({rateid})", json={"msdyn_rate": 9})
    assert response.status_code == 204, response.text  # a one-way map: Dataverse may change its copy ...
    assert fo_rates(sides) == before  # ... and F&O never hears of it


# ---------------------------------------------------------------- prerequisites
def test_a_currency_missing_in_dataverse_refuses_the_customer_write(sides: Sides) -> None:
    customer = organization(sides, 5)
    before = account_row(sides, customer["account"])
    sides.dv_exec("UPDATE account SET transactioncurrencyid = NULL WHERE transactioncurrencyid = :c",
                  c=currency_id(sides, "CAD"))
    sides.dv_exec("DELETE FROM transactioncurrency WHERE isocurrencycode = 'CAD'")
    try:
        response = sides.client.patch(
            f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{customer['account']}')",
            json={"SalesCurrencyCode": "CAD", "CreditLimit": 77})
        assert response.status_code == 400, response.text
        assert "transactioncurrenc" in response.json()["error"]["message"]
        assert account_row(sides, customer["account"]).creditlimit == before.creditlimit
        fo = sides.fo_sql("SELECT \"CURRENCY\", \"CREDITMAX\" FROM \"CUSTTABLE\" WHERE \"DATAAREAID\" = 'usmf' "
                          "AND \"ACCOUNTNUM\" = :a", a=customer["account"])[0]
        assert fo[0] != "CAD" and Decimal(str(fo[1])) != 77  # the F&O write was rolled back
    finally:
        initial_sync(sides.dual, sides.dual.table_map("Currencies"), restart=True)
    assert currency_id(sides, "CAD") is not None


def test_an_unknown_currency_code_is_refused_in_fo(sides: Sides) -> None:
    customer = organization(sides, 6)
    response = sides.client.patch(f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{customer['account']}')",
                                  json={"SalesCurrencyCode": "XYZ"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["target"] == "SalesCurrencyCode"
