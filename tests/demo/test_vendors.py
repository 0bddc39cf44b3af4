"""Demo vendors at every scale: each company has organization vendors and at least one person vendor
(sole proprietor), one per ten organizations, and every vendor's group exists in its company."""

from __future__ import annotations

import sqlite3


def test_every_company_has_organization_and_person_vendors(scaled_demo: sqlite3.Connection) -> None:
    rows = scaled_demo.execute(
        "SELECT d.ID, SUM(p.PARTYTYPE = 2), SUM(p.PARTYTYPE = 1) FROM DATAAREA d "
        "LEFT JOIN VENDTABLE v ON v.DATAAREAID = d.ID LEFT JOIN DIRPARTYTABLE p ON p.RECID = v.PARTY GROUP BY d.ID").fetchall()
    assert len(rows) == 3
    for company, organizations, persons in rows:
        assert organizations >= 5 and persons == max(1, organizations // 10), company


def test_every_vendor_group_exists(scaled_demo: sqlite3.Connection) -> None:
    orphans = scaled_demo.execute(
        "SELECT count(*) FROM VENDTABLE v LEFT JOIN VENDGROUP g ON g.DATAAREAID = v.DATAAREAID AND g.VENDGROUP = v.VENDGROUP "
        "WHERE g.RECID IS NULL").fetchone()[0]
    assert orphans == 0
