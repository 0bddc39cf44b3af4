"""Initial sync at scale: N organization customers copied to a fresh Dataverse-side store.

    python -m bench.dualwrite [--customers 1000000] [--db-dir bench/.data]

1. builds a small demo F&O database, then adds N organization customers (party, address, customer)
   with plain executemany, so that the F&O side holds N + demo customers;
2. runs the "Legal entities", "Customer groups" and "Customers V3" initial syncs into an empty
   Dataverse-side SQLite store, timing the customers map;
3. raw baseline: the least work the same copy can take, hand-written: one SELECT joining the three F&O
   tables, then executemany INSERTs of the account rows (Guid made in Python), no checks, no lookups
   beyond a dict; the report prints both times and the ratio gateway / raw;
4. checks the result: as many accounts as organization customers.
"""

from __future__ import annotations

import argparse
import sqlite3
import time
import uuid
from pathlib import Path

from gateway.app import open_sides
from gateway.db import remove_sqlite_database
from gateway.demo.generate import build_demo_database
from gateway.dualwrite.initial import initial_sync
from gateway.settings import Settings

CHUNK = 50_000


def add_customers(path: Path, count: int) -> None:
    connection = sqlite3.connect(path)
    start = connection.execute("SELECT max(RECID) FROM (SELECT RECID FROM CUSTTABLE UNION ALL SELECT RECID FROM "
                               "DIRPARTYTABLE UNION ALL SELECT RECID FROM LOGISTICSPOSTALADDRESS)").fetchone()[0] + 1
    groups = [row[0] for row in connection.execute("SELECT CUSTGROUP FROM CUSTGROUP WHERE DATAAREAID = 'usmf'")]
    for first in range(0, count, CHUNK):
        addresses, parties, customers = [], [], []
        for index in range(first, min(count, first + CHUNK)):
            recid = start + 3 * index
            addresses.append((recid, 1, f"{index} Bench Street", "Seattle", "WA", "98101", "USA"))
            parties.append((recid + 1, 1, f"B{index:09d}", f"Bench Org {index}", 2, "en-us", recid))
            customers.append((recid + 2, 1, "usmf", f"B-{index:09d}", recid + 1, groups[index % len(groups)], "USD",
                              1000 + index % 5000, 0, "2026-01-01 00:00:00", "2026-01-01 00:00:00"))
        connection.executemany("INSERT INTO LOGISTICSPOSTALADDRESS (RECID, RECVERSION, STREET, CITY, STATE, ZIPCODE, "
                               "COUNTRYREGIONID) VALUES (?, ?, ?, ?, ?, ?, ?)", addresses)
        connection.executemany("INSERT INTO DIRPARTYTABLE (RECID, RECVERSION, PARTYNUMBER, NAME, PARTYTYPE, LANGUAGEID, "
                               "PRIMARYADDRESS) VALUES (?, ?, ?, ?, ?, ?, ?)", parties)
        connection.executemany("INSERT INTO CUSTTABLE (RECID, RECVERSION, DATAAREAID, ACCOUNTNUM, PARTY, CUSTGROUP, "
                               "CURRENCY, CREDITMAX, BLOCKED, CREATEDDATETIME, MODIFIEDDATETIME) VALUES "
                               "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", customers)
        connection.commit()
    connection.close()


def raw_copy(fo: Path, dv: Path) -> float:
    """The same customers copied by hand: the floor any copy pays."""
    source, target = sqlite3.connect(fo), sqlite3.connect(dv)
    target.execute("CREATE TABLE raw_account AS SELECT * FROM account WHERE 0")
    companies = dict(target.execute("SELECT cdm_companycode, cdm_companyid FROM cdm_company"))
    groups = {(company, group): guid for guid, company, group in
              target.execute("SELECT g.msdyn_customergroupid, c.cdm_companycode, g.msdyn_groupid FROM msdyn_customergroup g "
                             "JOIN cdm_company c ON c.cdm_companyid = g.msdyn_company")}
    currencies = dict(target.execute("SELECT isocurrencycode, transactioncurrencyid FROM transactioncurrency"))
    started = time.perf_counter()
    cursor = source.execute(
        "SELECT c.DATAAREAID, c.ACCOUNTNUM, p.NAME, c.CUSTGROUP, c.CURRENCY, c.CREDITMAX, c.BLOCKED, a.STREET, a.CITY, "
        "a.STATE, a.ZIPCODE, a.COUNTRYREGIONID FROM CUSTTABLE c JOIN DIRPARTYTABLE p ON p.RECID = c.PARTY "
        "LEFT JOIN LOGISTICSPOSTALADDRESS a ON a.RECID = p.PRIMARYADDRESS WHERE p.PARTYTYPE = 2")
    while rows := cursor.fetchmany(CHUNK):
        target.executemany(
            "INSERT INTO raw_account (accountid, accountnumber, name, msdyn_company, msdyn_customergroupid, "
            "transactioncurrencyid, creditlimit, creditonhold, address1_line1, address1_city, address1_stateorprovince, "
            "address1_postalcode, address1_country, customertypecode, statecode, versionnumber) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 3, 0, 1)",
            [(str(uuid.uuid4()), r[1], r[2], companies[r[0]], groups.get((r[0], r[3])), currencies.get(r[4]), r[5], r[6] != 0, r[7],
              r[8], r[9], r[10], r[11]) for r in rows])
    target.commit()
    elapsed = time.perf_counter() - started
    target.execute("DROP TABLE raw_account")
    source.close()
    target.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--db-dir", default="bench/.data")
    arguments = parser.parse_args()
    folder = Path(arguments.db_dir)
    folder.mkdir(parents=True, exist_ok=True)
    fo, dv = folder / f"dw-fo-{arguments.customers}.db", folder / f"dw-fo-{arguments.customers}-dataverse.db"
    for path in (fo, dv):
        remove_sqlite_database(path)
    build_demo_database(f"sqlite:///{fo}", scale=0.05, seed=1, progress=False)
    add_customers(fo, arguments.customers)
    dual = open_sides(Settings(db=f"sqlite:///{fo}"))
    for name in ("Legal entities", "Currencies", "Customer groups"):
        initial_sync(dual, dual.table_map(name))
    started = time.perf_counter()
    result = initial_sync(dual, dual.table_map("Customers V3"))
    gateway_seconds = time.perf_counter() - started
    copied = result.counts["create"]
    raw_seconds = raw_copy(fo, dv)
    with sqlite3.connect(dv) as connection:
        accounts = connection.execute("SELECT count(*) FROM account").fetchone()[0]
    with sqlite3.connect(fo) as connection:
        organizations = connection.execute("SELECT count(*) FROM CUSTTABLE c JOIN DIRPARTYTABLE p ON "
                                           "p.RECID = c.PARTY WHERE p.PARTYTYPE = 2").fetchone()[0]
    assert accounts == organizations == copied, (accounts, organizations, copied)
    print("| customers copied | gateway initial sync | raw SQL copy | ratio gateway / raw |")
    print("| --- | --- | --- | --- |")
    print(f"| {copied:,} | {gateway_seconds:.1f} s ({copied / gateway_seconds:,.0f} rows/s) | "
          f"{raw_seconds:.1f} s | {gateway_seconds / raw_seconds:.1f} |")


if __name__ == "__main__":
    main()
