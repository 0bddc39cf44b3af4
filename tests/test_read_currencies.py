"""Currencies, ExchangeRateTypes and ExchangeRates on every backend, against hand-written joins over
CURRENCY, EXCHANGERATETYPE, EXCHANGERATECURRENCYPAIR and EXCHANGERATE."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from gateway.demo import schema as s
from tests.conftest import Backend, every_page

DISPLAY_FACTOR = {0: "One", 1: "Ten", 2: "Hundred", 3: "Thousand", 4: "TenThousand"}


def rates(backend: Backend) -> list[dict[str, Any]]:
    r, p, t = s.EXCHANGERATE, s.EXCHANGERATECURRENCYPAIR, s.EXCHANGERATETYPE
    statement = select(t.c.NAME, p.c.FROMCURRENCYCODE, p.c.TOCURRENCYCODE, r.c.VALIDFROM, r.c.VALIDTO, r.c.EXCHANGERATE,
                       p.c.EXCHANGERATEDISPLAYFACTOR).select_from(
        r.join(p, p.c.RECID == r.c.EXCHANGERATECURRENCYPAIR).join(t, t.c.RECID == p.c.EXCHANGERATETYPE))
    with backend.engine.connect() as connection:
        return [{"RateTypeName": row[0], "FromCurrency": row[1], "ToCurrency": row[2], "StartDate": row[3].isoformat(),
                 "EndDate": row[4].isoformat(), "Rate": Decimal(str(row[5])), "ConversionFactor": DISPLAY_FACTOR[row[6]]}
                for row in connection.execute(statement)]


def test_currencies(client: TestClient, backend: Backend) -> None:
    c = s.CURRENCY
    with backend.engine.connect() as connection:
        expected = {row[0]: (row[1], row[2], Decimal(str(row[3]))) for row in connection.execute(
            select(c.c.CURRENCYCODE, c.c.TXT, c.c.SYMBOL, c.c.ROUNDINGPRECISION))}
    got = every_page(client, "/data/Currencies")
    assert {row["CurrencyCode"]: (row["Name"], row["Symbol"], Decimal(str(row["RoundingPrecision"]))) for row in got} \
        == expected


def test_exchange_rates_of_a_pair_in_a_period(client: TestClient, backend: Backend) -> None:
    since = dt.date(2024, 1, 1).isoformat()
    expected = sorted((row for row in rates(backend) if row["FromCurrency"] == "EUR" and row["StartDate"] >= since),
                      key=lambda row: (row["RateTypeName"], row["ToCurrency"], row["StartDate"]))
    got = every_page(client, f"/data/ExchangeRates?$filter=FromCurrency eq 'EUR' and StartDate ge {since}"
                     "&$orderby=RateTypeName,ToCurrency,StartDate")
    assert len(expected) >= 24
    assert [{**row, "Rate": Decimal(str(row["Rate"]))} for row in
            ({k: v for k, v in r.items() if not k.startswith("@")} for r in got)] == expected


def test_the_rate_on_a_day_and_its_type(client: TestClient, backend: Backend) -> None:
    day = "2021-06-15"
    (expected,) = [row for row in rates(backend) if row["RateTypeName"] == "Default" and row["FromCurrency"] == "JPY"
                   and row["StartDate"] <= day <= row["EndDate"]]
    response = client.get("/data/ExchangeRates?$filter=RateTypeName eq 'Default' and FromCurrency eq 'JPY' and "
                          f"StartDate le {day} and EndDate ge {day}&$expand=RateType,FromCurrencyDetails($select=Name)")
    assert response.status_code == 200, response.text
    (row,) = response.json()["value"]
    assert (Decimal(str(row["Rate"])), row["ConversionFactor"]) == (expected["Rate"], "Hundred")
    assert row["RateType"]["Description"].startswith("Daily") and row["FromCurrencyDetails"]["Name"] == "Yen"


def test_one_rate_by_its_four_part_key(client: TestClient, backend: Backend) -> None:
    first = min(rates(backend), key=lambda row: (row["RateTypeName"], row["FromCurrency"], row["StartDate"]))
    response = client.get(f"/data/ExchangeRates(RateTypeName='{first['RateTypeName']}',FromCurrency="
                          f"'{first['FromCurrency']}',ToCurrency='{first['ToCurrency']}',StartDate={first['StartDate']})")
    assert response.status_code == 200, response.text
    assert Decimal(str(response.json()["Rate"])) == first["Rate"]
