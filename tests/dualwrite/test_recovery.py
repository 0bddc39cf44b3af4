"""A process that dies between the two commits: the other side committed, the origin did not.

The database state a kill leaves behind is built for real: the live-sync hook runs (the other side
commits the change and its intent record), then the origin's transaction is rolled back by closing
its connection without committing, exactly what the database does to a killed client, and the hook's
after-commit step never runs. Recovery must then put the other side back, and must not touch a change
whose origin did commit."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

from gateway.dualwrite.live import LiveSync
from gateway.dualwrite.rows import Endpoint
from gateway.identity.access import SYSTEM
from gateway.plan.dialects import dialect_traits
from gateway.plan.scope import PlanContext
from gateway.write.entity import EntityWriter
from gateway.write.unit import WriteUnit
from tests.dualwrite.conftest import Sides
from tests.dualwrite.test_live import account_row, customer_row, organization

INTENTS = 'SELECT count(*) FROM "DUALWRITEINTENT"'


def _write_credit(sides: Sides, account: str, value: int, *, commit_origin: bool) -> None:
    """A live-synced update of one customer's credit limit that stops where a killed process would."""
    unit = _synced_but_not_committed(sides, account, value)
    if commit_origin:
        unit._transaction.commit()  # ... the origin too, but the process dies before cleaning up
    unit.connection.close()  # without a commit: the database rolls the origin back


def _synced_but_not_committed(sides: Sides, account: str, value: int) -> WriteUnit:
    """The other side committed the change (with its intent); the origin's transaction is still open."""
    fo: Endpoint = sides.dual.fo
    hook = LiveSync(sides.dual, "fo")
    unit = WriteUnit(fo.engine, fo.catalog, hook=hook)
    context = PlanContext(fo.catalog, fo.companies, dialect_traits(fo.engine.dialect.name),
                          writable_companies=fo.companies, access=SYSTEM)
    writer = EntityWriter(unit, context, fo.entity("CustomersV3"))
    writer.update((("dataAreaId", "usmf"), ("CustomerAccount", account)), {"CreditLimit": Decimal(value)}, None,
                  replace=False)
    hook.before_commit(unit)  # the other side commits (with its intent)
    return unit


def test_killed_before_the_origin_commit_is_compensated(sides: Sides) -> None:
    customer = organization(sides, 0)
    before_fo = customer_row(sides, customer["account"]).credit
    before_dv = account_row(sides, customer["account"]).creditlimit
    _write_credit(sides, customer["account"], 6543, commit_origin=False)
    assert Decimal(str(account_row(sides, customer["account"]).creditlimit)) == 6543  # Dataverse kept it ...
    assert customer_row(sides, customer["account"]).credit == before_fo  # ... F&O lost it
    assert sides.dv_sql(INTENTS)[0][0] == 1 and sides.fo_sql(INTENTS)[0][0] == 0
    assert sides.dual.recover(older_than=0) == 1
    assert account_row(sides, customer["account"]).creditlimit == before_dv  # put back
    assert (sides.fo_sql(INTENTS)[0][0], sides.dv_sql(INTENTS)[0][0]) == (0, 0)
    logged = sides.fo_sql('SELECT "CODE" FROM "DUALWRITEERROR" WHERE "KIND" = \'compensation\'')
    assert [row.CODE for row in logged] == ["OriginLost"]
    assert sides.dual.recover(older_than=0) == 0  # nothing twice


def test_killed_after_both_commits_keeps_the_change(sides: Sides) -> None:
    customer = organization(sides, 1)
    _write_credit(sides, customer["account"], 7654, commit_origin=True)
    assert (sides.fo_sql(INTENTS)[0][0], sides.dv_sql(INTENTS)[0][0]) == (1, 1)
    assert sides.dual.recover(older_than=0) == 0
    assert Decimal(str(customer_row(sides, customer["account"]).credit)) == 7654
    assert Decimal(str(account_row(sides, customer["account"]).creditlimit)) == 7654
    assert (sides.fo_sql(INTENTS)[0][0], sides.dv_sql(INTENTS)[0][0]) == (0, 0)


def test_young_intents_wait_for_their_transaction(sides: Sides) -> None:
    customer = organization(sides, 2)
    _write_credit(sides, customer["account"], 1357, commit_origin=False)
    assert sides.dual.recover() == 0  # within the live time limit the origin may still commit
    assert sides.dv_sql(INTENTS)[0][0] == 1
    assert sides.dual.recover(older_than=0) == 1


def test_recovery_keeps_what_others_wrote_since(sides: Sides) -> None:
    customer = organization(sides, 3)
    before_dv = account_row(sides, customer["account"]).creditlimit
    _write_credit(sides, customer["account"], 2468, commit_origin=False)
    sides.dv_exec("UPDATE account SET address1_city = 'Later City' WHERE accountid = :id", id=customer["accountid"])
    assert sides.dual.recover(older_than=0) == 1
    row = account_row(sides, customer["account"])
    assert (row.creditlimit, row.address1_city) == (before_dv, "Later City")  # the lost change undone, nothing else
    sides.dv_exec("UPDATE account SET creditlimit = 1357 WHERE accountid = :id", id=customer["accountid"])
    _write_credit(sides, customer["account"], 3579, commit_origin=False)
    sides.dv_exec("UPDATE account SET creditlimit = 9753 WHERE accountid = :id", id=customer["accountid"])
    assert sides.dual.recover(older_than=0) == 1
    assert Decimal(str(account_row(sides, customer["account"]).creditlimit)) == 9753  # changed since: kept
    sides.drain()  # (the SQL updates above are captured and synced like any other change)


def test_an_origin_still_running_is_waited_for_not_undone(sides: Sides) -> None:
    """No age decides: an intent whose origin transaction is still open is left alone (the probe waits
    for it, then gives up), and once the origin commits, recovery keeps the change on both sides."""
    customer = organization(sides, 4)
    sides.dual.limits.lock_wait_seconds = 1  # the probe's bounded wait (SQLite: the driver's busy timeout)
    try:
        unit = _synced_but_not_committed(sides, customer["account"], 4321)
        assert sides.dual.recover(older_than=0) == 0  # still running: nothing to decide yet
        assert Decimal(str(account_row(sides, customer["account"]).creditlimit)) == 4321
        assert sides.dv_sql(INTENTS)[0][0] == 1
        unit._transaction.commit()
        unit.connection.close()
    finally:
        sides.dual.limits.lock_wait_seconds = 5
    assert sides.dual.recover(older_than=0) == 0  # committed: both records go, the change stays
    assert (sides.fo_sql(INTENTS)[0][0], sides.dv_sql(INTENTS)[0][0]) == (0, 0)
    assert Decimal(str(customer_row(sides, customer["account"]).credit)) == 4321
    assert Decimal(str(account_row(sides, customer["account"]).creditlimit)) == 4321


def test_two_recoveries_at_once_resolve_an_intent_once(sides: Sides) -> None:
    """Two workers deciding the same lost intent: one resolves it, the other finds it taken."""
    customer = organization(sides, 5)
    before = Decimal(str(account_row(sides, customer["account"]).creditlimit))
    counted = 'SELECT count(*) FROM "DUALWRITEERROR" WHERE "CODE" = \'OriginLost\''
    logged = sides.fo_sql(counted)[0][0]
    _write_credit(sides, customer["account"], 5432, commit_origin=False)
    results: list[int] = []
    barrier = threading.Barrier(2)

    def recover() -> None:
        barrier.wait()
        results.append(sides.dual.recover(older_than=0))

    threads = [threading.Thread(target=recover) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [0, 1]
    assert Decimal(str(account_row(sides, customer["account"]).creditlimit)) == before
    assert sides.fo_sql(counted)[0][0] == logged + 1  # said once
    assert (sides.fo_sql(INTENTS)[0][0], sides.dv_sql(INTENTS)[0][0]) == (0, 0)


def test_a_lost_create_is_removed_and_a_lost_delete_comes_back(sides: Sides) -> None:
    """Resolved by the origin's current state: the account a lost create made is deleted; the account a
    lost delete removed is made again from the F&O customer, whole."""
    customer = organization(sides, 6)
    fo = sides.dual.fo
    context = PlanContext(fo.catalog, fo.companies, dialect_traits(fo.engine.dialect.name),
                          writable_companies=fo.companies, access=SYSTEM)
    new_account = "US-LOST"

    def lost(write: Callable[[EntityWriter], object]) -> None:
        hook = LiveSync(sides.dual, "fo")
        unit = WriteUnit(fo.engine, fo.catalog, hook=hook)
        write(EntityWriter(unit, context, fo.entity("CustomersV3")))
        hook.before_commit(unit)
        unit.connection.close()  # the origin never commits

    lost(lambda writer: writer.create({"dataAreaId": "usmf", "CustomerAccount": new_account,
                                       "OrganizationName": "Lost Create Ltd", "CustomerGroupId": "10",
                                       "SalesCurrencyCode": "USD"}))
    assert account_row(sides, new_account) is not None and customer_row(sides, new_account) is None
    kept = account_row(sides, customer["account"])
    lost(lambda writer: writer.delete((("dataAreaId", "usmf"), ("CustomerAccount", customer["account"])), None))
    assert account_row(sides, customer["account"]) is None and customer_row(sides, customer["account"]) is not None
    assert sides.dual.recover(older_than=0) == 2
    assert account_row(sides, new_account) is None
    back = account_row(sides, customer["account"])
    assert (back.accountid, back.name, Decimal(str(back.creditlimit)), back.address1_city) == (
        kept.accountid, kept.name, Decimal(str(kept.creditlimit)), kept.address1_city)  # the same row, Guid too
    assert (sides.fo_sql(INTENTS)[0][0], sides.dv_sql(INTENTS)[0][0]) == (0, 0)
