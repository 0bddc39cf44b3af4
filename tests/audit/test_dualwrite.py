"""Audit with both sides and live dual-write: the caller's write is audited on the side it was made
(Dataverse-side writes too, in the F&O database's log), dual-write's own sync writes are not, and a
Dataverse-side write that fails after its audit rows were committed takes them back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from gateway.audit.trail import Auditor
from gateway.principal import Principal
from gateway.write.unit import Change, WriteUnit
from tests.dualwrite.conftest import Sides, sides  # noqa: F401 - the fixture
from tests.dualwrite.test_live import account_row, organization

SERVICE_ID = "x-ms-service-request-id"


def audit_rows(sides: Sides, request_id: str) -> list[Any]:
    return sides.fo_sql('SELECT "SERVICE", "ENTITYSET", "OP", "FIELDS", "PRINCIPAL", "KEYDATA" FROM "GATEWAYAUDITLOG" '
                        'WHERE "REQUESTID" = :id ORDER BY "SEQ"', id=request_id)


def test_a_synced_fo_write_is_audited_once(sides: Sides) -> None:
    customer = organization(sides, 2)
    path = f"/data/CustomersV3(dataAreaId='usmf',CustomerAccount='{customer['account']}')"
    response = sides.client.patch(path, json={"CreditLimit": 4321})
    assert response.status_code == 204, response.text
    assert account_row(sides, customer["account"]).creditlimit == 4321  # live sync wrote the other side
    rows = audit_rows(sides, response.headers[SERVICE_ID])
    assert [tuple(row[:5]) for row in rows] == [("fno", "CustomersV3", "update", "CreditLimit", "test-admin")]


def test_dataverse_writes_are_audited_in_the_fo_database(sides: Sides) -> None:
    customer = organization(sides, 3)
    response = sides.client.patch(f"/api/data/v9.2/accounts({customer['accountid']})", json={"creditlimit": 777})
    assert response.status_code == 204, response.text
    credit = sides.fo_sql('SELECT "CREDITMAX" FROM "CUSTTABLE" WHERE "DATAAREAID" = \'usmf\' AND "ACCOUNTNUM" = :a',
                          a=customer["account"])[0][0]
    assert credit == 777
    rows = audit_rows(sides, response.headers[SERVICE_ID])
    assert [tuple(row[:5]) for row in rows] == [("dataverse", "accounts", "update", "creditlimit", "test-admin")]
    assert customer["accountid"] in rows[0].KEYDATA


def test_a_refused_dataverse_write_takes_its_audit_rows_back(sides: Sides) -> None:
    customer = organization(sides, 4)
    path = f"/api/data/v9.2/accounts({customer['accountid']})"
    # The integration key cannot change: live sync refuses after the audit rows were committed.
    refused = sides.client.patch(path, json={"accountnumber": "MOVED-1"})
    assert refused.status_code == 400 and refused.json()["error"]["innererror"]["type"] == "DualWriteFailed", refused.text
    assert audit_rows(sides, refused.headers[SERVICE_ID]) == []
    dry = sides.client.patch(path, json={"creditlimit": 1}, headers={"Prefer": "tx=rollback"})
    assert dry.status_code == 204 and audit_rows(sides, dry.headers[SERVICE_ID]) == []


class _FailingCommit:
    """A transaction whose commit fails (the database went away at the last moment)."""

    def __init__(self, transaction: Any) -> None:
        self.transaction = transaction

    def commit(self) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    def rollback(self) -> None:
        self.transaction.rollback()

    @property
    def is_active(self) -> bool:
        return bool(self.transaction.is_active)


@pytest.mark.parametrize("fails", [False, True], ids=["commits", "commit-fails"])
def test_rows_in_another_database_follow_the_commit(sides: Sides, monkeypatch: pytest.MonkeyPatch,
                                                    fails: bool) -> None:
    dv = sides.dual.dv
    auditor = Auditor(sides.dual.fo.engine, "dataverse", "dataAreaId")
    request_id = f"unit-{fails}-{sides.name}"
    trail = auditor.trail({"fno.principal": Principal("unit", ("usmf",), "usmf"), "fno.request_id": request_id})
    unit = WriteUnit(dv.engine, dv.catalog, trail=trail)
    unit.record(Change("accounts", "create", (("accountid", "0000"),), given=frozenset({"name"})))
    if fails:
        monkeypatch.setattr(unit, "_transaction", _FailingCommit(unit._transaction))
        with pytest.raises(OperationalError), unit:
            pass
    else:
        with unit:
            pass
    assert len(audit_rows(sides, request_id)) == (0 if fails else 1)


def test_a_busy_fo_database_refuses_the_dataverse_write_whole(sides: Sides) -> None:
    if sides.name != "sqlite":
        pytest.skip("SQLite's whole-file write lock is what makes the F&O database busy for an insert")
    name = f"Locked out {sides.name}"
    with sides.fo.connect() as holder:  # another writer holds the F&O database's write lock throughout
        holder.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            response = sides.client.post("/api/data/v9.2/accounts", json={"name": name})
        finally:
            holder.exec_driver_sql("ROLLBACK")
    assert response.status_code == 503 and response.json()["error"]["innererror"]["type"] == "DatabaseUnavailable", response.text
    assert sides.dv_sql("SELECT count(*) FROM account WHERE name = :n", n=name)[0][0] == 0
    assert audit_rows(sides, response.headers[SERVICE_ID]) == []
