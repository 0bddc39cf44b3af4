"""Dataverse query functions (Microsoft.Dynamics.CRM.In, Today, LastXDays, ...) against a plain-Python oracle.

A Dataverse store (gateway.dataverse.schema) is created on each backend and filled by plain SQL
inserts with rows placed around a fixed "now" (the planning clock is replaced). Every filter is
planned with the Dataverse catalog, run on the database, and its rows compared with the same
predicate evaluated here in Python over the inserted rows: the expected windows are written out
below from the documented rules, not taken from the gateway's module.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine, bindparam, create_engine, text

from gateway.catalog.load import load_catalog
from gateway.catalog.model import Catalog
from gateway.dataverse.schema import create_store, store_metadata
from gateway.errors import BadRequest, ODataError, TypeMismatch, UnknownProperty
from gateway.identity.access import SYSTEM
from gateway.options import parse_query
from gateway.plan import crm_functions
from gateway.plan.dialects import dialect_traits
from gateway.plan.query import plan_read
from gateway.plan.scope import PlanContext
from tests.conftest import BACKENDS, database_url
from tests.plan.test_golden_sql import DIALECTS

CRM = "Microsoft.Dynamics.CRM."
CATALOG = load_catalog(Path(__file__).resolve().parents[2] / "entities" / "dataverse")
# Two moments: the last day of a month in a leap year (Feb 29 clamps), and a year's first midnight.
MOMENTS = [dt.datetime(2024, 3, 31, 10, 30, 0), dt.datetime(2024, 1, 1, 0, 0, 0)]
USER = "7d3e0a52-51c4-4c3b-9a55-2b2f4f8c0a01"  # the caller: also the customer of some orders

Row = dict[str, Any]


# ---------------------------------------------------------------------------- the store


@dataclass
class Store:
    name: str
    engine: Engine
    loaded: dt.datetime | None = None
    orders: list[Row] | None = None
    accounts: list[Row] | None = None


@pytest.fixture(scope="module", params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    name = request.param
    url = database_url(name, "fno_crm", tmp_path_factory.mktemp("crm") / "dataverse.db")
    engine = create_engine(url)
    store_metadata(CATALOG).drop_all(engine)  # the catalog may have changed since the last run
    create_store(engine, CATALOG)
    yield Store(name, engine)
    engine.dispose()


def _accounts() -> list[Row]:
    names = ["Contoso Ltd", "CONTOSO Retail", "Fabrikam", "fabrikam outlet", "Adatum 50% Off", "Adatum_Corp",
             "Litware", "Northwind", "Tailspin", "Wingtip"]
    rows = []
    for index, name in enumerate(names):
        rows.append({
            "accountid": USER if index == 0 else str(uuid.UUID(int=1000 + index)),
            "name": name,
            "creditlimit": None if index % 4 == 3 else Decimal(index * 2500) + Decimal("0.5"),
            "creditonhold": None if index == 5 else index % 2 == 0,
            "customertypecode": None if index == 7 else index % 4 + 1,
            "statecode": index % 2,
            "createdon": None,
        })
    return rows


def _orders(now: dt.datetime, accounts: list[Row]) -> list[Row]:
    """Orders whose createdon and requestdeliveryby sit on and around every boundary the functions have."""
    midnight = dt.datetime.combine(now.date(), dt.time())
    second = dt.timedelta(seconds=1)
    created: list[dt.datetime | None] = [
        now, now - second, now + second, midnight, midnight - second, midnight + dt.timedelta(days=1),
        midnight + dt.timedelta(days=1) - second, midnight + dt.timedelta(days=2),
        now - dt.timedelta(hours=5), now - dt.timedelta(hours=6), now - dt.timedelta(hours=6) - second,
        now + dt.timedelta(hours=5), now + dt.timedelta(hours=6), now + dt.timedelta(hours=6) + second,
        None, None,
    ]
    for days in (3, 6, 7, 8, 28, 29, 30, 31, 60, 61, 365, 366, 367, 730, 731):
        created += [midnight - dt.timedelta(days=days), midnight - dt.timedelta(days=days) - second,
                    midnight + dt.timedelta(days=days), midnight + dt.timedelta(days=days + 1) - second]
    generator = random.Random(42)
    created += [now + dt.timedelta(seconds=generator.randint(-900 * 86400, 900 * 86400)) for _ in range(30)]
    deliveries: list[dt.date | None] = [None if index % 9 == 0 else now.date() + dt.timedelta(days=offset)
                                        for index, offset in enumerate(range(-400, 400, 11))]
    deliveries += [now.date() + dt.timedelta(days=offset) for offset in (-8, -7, -1, 0, 1, 7, 8, -31, -30, 31)]
    names = ["Order alpha", "ORDER Beta", "order gamma", "100% cotton", "under_score", "Ünïcode", None, "plain"]
    rows = []
    for index, moment in enumerate(created):
        rows.append({
            "salesorderid": str(uuid.UUID(int=10_000 + index)),
            "name": names[index % len(names)],
            "statuscode": None if index % 7 == 6 else [1, 2, 3, 4, 100001, 100002, 100003][index % 7],
            "customerid": None if index % 5 == 4 else accounts[index % 3]["accountid"],
            "requestdeliveryby": deliveries[index % len(deliveries)],
            "createdon": moment,
        })
    return rows


def _insert(store: Store, table: str, rows: list[Row]) -> None:
    """Plain SQL INSERTs, each value bound with its column's type (as the gateway's own writes bind it)."""
    columns = list(rows[0])
    statement = text(
        f"INSERT INTO {table} ({', '.join(columns)}, versionnumber) VALUES "
        f"({', '.join(':' + name for name in columns)}, 1)"
    ).bindparams(*(bindparam(name, type_=store_metadata(CATALOG).tables[table].c[name].type) for name in columns))
    with store.engine.begin() as connection:
        connection.execute(statement, rows)


@pytest.fixture(params=MOMENTS, ids=[moment.isoformat() for moment in MOMENTS])
def now(request: pytest.FixtureRequest, store: Store, monkeypatch: pytest.MonkeyPatch) -> dt.datetime:
    moment: dt.datetime = request.param
    monkeypatch.setattr(crm_functions, "utc_now", lambda: moment)
    if store.loaded != moment:
        with store.engine.begin() as connection:
            connection.execute(text("DELETE FROM salesorder"))
            connection.execute(text("DELETE FROM account"))
        store.accounts = _accounts()
        store.orders = _orders(moment, store.accounts)
        _insert(store, "account", store.accounts)
        _insert(store, "salesorder", store.orders)
        store.loaded = moment
    return moment


def _context(catalog: Catalog, dialect: str, aliases: dict[str, object], user_id: str | None = USER) -> PlanContext:
    return PlanContext(catalog, (), dialect_traits(dialect), aliases, access=SYSTEM, user_id=user_id)


def _ids(store: Store, entity_set: str, filter_text: str, **params: str) -> set[str]:
    """The keys of the rows the gateway's plan for `filter_text` returns on the store's database."""
    entity = CATALOG.entities[entity_set]
    key = entity.key[0]
    request = parse_query(urlencode({"$filter": filter_text, "$select": key, **params}))
    context = _context(CATALOG, store.engine.dialect.name, request.aliases)
    plan = plan_read(context, entity, request.options, request.texts)
    with store.engine.connect() as connection:
        return {str(row[0]) for row in connection.execute(plan.statement)}


def _plan_error(filter_text: str, entity_set: str = "salesorders", catalog: Catalog = CATALOG,
                user_id: str | None = USER) -> ODataError:
    request = parse_query(urlencode({"$filter": filter_text}))
    context = _context(catalog, "sqlite", request.aliases, user_id)
    with pytest.raises(ODataError) as caught:
        plan_read(context, catalog.entities[entity_set], request.options, request.texts)
    assert caught.value.status == 400, caught.value.message
    return caught.value


# ---------------------------------------------------------------------------- the oracle's date rules


def _day(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _shift_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later or earlier; the month's last day where the month is shorter."""
    year, month = day.year, day.month
    for _ in range(abs(months)):
        month += 1 if months > 0 else -1
        if month == 13:
            year, month = year + 1, 1
        elif month == 0:
            year, month = year - 1, 12
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _previous_month(day: dt.date) -> tuple[int, int]:
    return (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)


# Each: (function call after the namespace, without PropertyName; predicate(value's day, today)).
DayRule = Callable[[dt.date, dt.date], bool]
DAY_RULES: list[tuple[str, str, DayRule]] = [
    ("today", "Today", lambda d, t: d == t),
    ("yesterday", "Yesterday", lambda d, t: d == t - dt.timedelta(days=1)),
    ("tomorrow", "Tomorrow", lambda d, t: d == t + dt.timedelta(days=1)),
    ("last7days", "Last7Days", lambda d, t: t - dt.timedelta(days=7) <= d <= t),
    ("next7days", "Next7Days", lambda d, t: t <= d <= t + dt.timedelta(days=7)),
    ("lastxdays-0", "LastXDays:0", lambda d, t: d == t),
    ("lastxdays-30", "LastXDays:30", lambda d, t: t - dt.timedelta(days=30) <= d <= t),
    ("lastxdays-string", "LastXDays:'30'", lambda d, t: t - dt.timedelta(days=30) <= d <= t),
    ("nextxdays-8", "NextXDays:8", lambda d, t: t <= d <= t + dt.timedelta(days=8)),
    ("lastxmonths-1", "LastXMonths:1", lambda d, t: _shift_months(t, -1) <= d <= t),
    ("lastxmonths-13", "LastXMonths:13", lambda d, t: _shift_months(t, -13) <= d <= t),
    ("nextxmonths-2", "NextXMonths:2", lambda d, t: t <= d <= _shift_months(t, 2)),
    ("lastxyears-1", "LastXYears:1", lambda d, t: _shift_months(t, -12) <= d <= t),
    ("nextxyears-2", "NextXYears:2", lambda d, t: t <= d <= _shift_months(t, 24)),
    ("olderthanxdays-7", "OlderThanXDays:7", lambda d, t: d < t - dt.timedelta(days=7)),
    ("olderthanxdays-0", "OlderThanXDays:0", lambda d, t: d < t),
    ("thismonth", "ThisMonth", lambda d, t: (d.year, d.month) == (t.year, t.month)),
    ("lastmonth", "LastMonth", lambda d, t: (d.year, d.month) == _previous_month(t)),
    ("thisyear", "ThisYear", lambda d, t: d.year == t.year),
    ("lastyear", "LastYear", lambda d, t: d.year == t.year - 1),
    ("on", "On:'{today}'", lambda d, t: d == t),
    ("on-date-literal", "On:{yesterday}", lambda d, t: d == t - dt.timedelta(days=1)),
    ("onorafter", "OnOrAfter:'{yesterday}'", lambda d, t: d >= t - dt.timedelta(days=1)),
    ("onorbefore", "OnOrBefore:'{yesterday}'", lambda d, t: d <= t - dt.timedelta(days=1)),
]


def _call(function: str, property_name: str, today: dt.date) -> str:
    name, _, value = function.partition(":")
    value = value.format(today=today.isoformat(), yesterday=(today - dt.timedelta(days=1)).isoformat())
    arguments = f"PropertyName='{property_name}'" + (f",PropertyValue={value}" if value else "")
    return f"{CRM}{name}({arguments})"


def _expected(rows: list[Row], column: str, test: Callable[[Any], bool], key: str = "salesorderid") -> set[str]:
    return {row[key] for row in rows if row[column] is not None and test(row[column])}


# ---------------------------------------------------------------------------- dates


@pytest.mark.parametrize("column", ["createdon", "requestdeliveryby"])
@pytest.mark.parametrize(("function", "rule"), [(f, r) for _, f, r in DAY_RULES], ids=[i for i, _, _ in DAY_RULES])
def test_day_windows(store: Store, now: dt.datetime, column: str, function: str, rule: DayRule) -> None:
    assert store.orders is not None
    today = now.date()
    expected = _expected(store.orders, column, lambda value: rule(_day(value), today))
    assert _ids(store, "salesorders", _call(function, column, today)) == expected
    # not: the complement, nulls included (every function is false, not null, for a null value)
    everything = {row["salesorderid"] for row in store.orders}
    assert _ids(store, "salesorders", "not " + _call(function, column, today)) == everything - expected


@pytest.mark.parametrize(("function", "hours", "sign"), [("LastXHours", 6, -1), ("NextXHours", 6, 1),
                                                          ("LastXHours", 0, -1), ("NextXHours", "'30'", 1)])
def test_hour_windows(store: Store, now: dt.datetime, function: str, hours: int | str, sign: int) -> None:
    assert store.orders is not None
    span = dt.timedelta(hours=int(str(hours).strip("'")))
    low, high = (now - span, now) if sign < 0 else (now, now + span)
    expected = _expected(store.orders, "createdon", lambda value: low <= value <= high)
    filter_text = f"{CRM}{function}(PropertyName='createdon',PropertyValue={hours})"
    assert _ids(store, "salesorders", filter_text) == expected


def test_windows_partition_the_past(store: Store, now: dt.datetime) -> None:
    """LastXDays(X), OlderThanXDays(X) and 'after today' cover every dated row exactly once."""
    assert store.orders is not None
    last = _ids(store, "salesorders", f"{CRM}LastXDays(PropertyName='createdon',PropertyValue=30)")
    older = _ids(store, "salesorders", f"{CRM}OlderThanXDays(PropertyName='createdon',PropertyValue=30)")
    later = _ids(store, "salesorders", f"{CRM}OnOrAfter(PropertyName='createdon',PropertyValue="
                                       f"'{now.date() + dt.timedelta(days=1)}')")
    dated = {row["salesorderid"] for row in store.orders if row["createdon"] is not None}
    assert not (last & older) and not (last & later) and not (older & later)
    assert last | older | later == dated


# ---------------------------------------------------------------------------- In, NotIn, Between, NotBetween


def _values(items: list[str], quote: str = "'") -> str:
    return "[" + ",".join(f"{quote}{item}{quote}" for item in items) + "]"


VALUE_CASES: list[tuple[str, str, str, list[str], Callable[[Any], Any]]] = [
    # id, entity set, property, values as Dataverse sends them, their Python value
    ("int", "salesorders", "statuscode", ["1", "3", "100002"], int),
    ("string", "salesorders", "name", ["Order alpha", "plain", "absent"], str),
    ("guid", "salesorders", "_customerid_value", [USER.upper(), str(uuid.UUID(int=1001))], lambda v: str(uuid.UUID(v))),
    ("date", "salesorders", "requestdeliveryby", ["2024-01-01", "2023-12-20", "2024-03-31"], dt.date.fromisoformat),
    ("decimal", "accounts", "creditlimit", ["2500.5", "10000.500000", "7"], Decimal),
    ("boolean", "accounts", "creditonhold", ["true"], lambda v: v == "true"),
]


def _rows(store: Store, entity_set: str) -> tuple[list[Row], str]:
    assert store.orders is not None and store.accounts is not None
    return (store.orders, "salesorderid") if entity_set == "salesorders" else (store.accounts, "accountid")


def _column(entity_set: str, property_name: str) -> str:
    return CATALOG.entities[entity_set].properties[property_name].column_name


@pytest.mark.parametrize("negated", [False, True], ids=["In", "NotIn"])
@pytest.mark.parametrize(("entity_set", "prop", "values", "convert"), [c[1:] for c in VALUE_CASES],
                         ids=[c[0] for c in VALUE_CASES])
def test_in(store: Store, now: dt.datetime, entity_set: str, prop: str, values: list[str],
            convert: Callable[[Any], Any], negated: bool) -> None:
    rows, key = _rows(store, entity_set)
    wanted = {convert(value) for value in values}
    test = (lambda value: value not in wanted) if negated else (lambda value: value in wanted)
    expected = _expected(rows, _column(entity_set, prop), test, key)
    function = "NotIn" if negated else "In"
    assert _ids(store, entity_set, f"{CRM}{function}(PropertyName='{prop}',PropertyValues={_values(values)})") == expected
    # The JSON form with double quotes is the same list.
    double = f"{CRM}{function}(PropertyName='{prop}',PropertyValues={_values(values, chr(34))})"
    assert _ids(store, entity_set, double) == expected


BETWEEN_CASES: list[tuple[str, str, str, list[str], Callable[[Any], Any]]] = [
    ("int", "salesorders", "statuscode", ["2", "100001"], int),
    ("datetime", "salesorders", "createdon", ["2023-12-01T00:00:00Z", "2024-03-31T10:30:00Z"],
     lambda v: dt.datetime.fromisoformat(v.replace("Z", ""))),
    ("datetime-offset", "salesorders", "createdon", ["2023-12-01T02:00:00+02:00", "2024-03-31"],
     lambda v: dt.datetime.fromisoformat(v).astimezone(dt.UTC).replace(tzinfo=None)),
    ("date", "salesorders", "requestdeliveryby", ["2023-12-31", "2024-04-30"], dt.date.fromisoformat),
    ("decimal", "accounts", "creditlimit", ["2500.5", "15000"], Decimal),
    ("string", "accounts", "name", ["D", "N"], str),
]


@pytest.mark.parametrize("negated", [False, True], ids=["Between", "NotBetween"])
@pytest.mark.parametrize(("entity_set", "prop", "values", "convert"), [c[1:] for c in BETWEEN_CASES],
                         ids=[c[0] for c in BETWEEN_CASES])
def test_between(store: Store, now: dt.datetime, entity_set: str, prop: str, values: list[str],
                 convert: Callable[[Any], Any], negated: bool) -> None:
    rows, key = _rows(store, entity_set)
    low, high = (convert(value) for value in values)
    if negated:
        expected = _expected(rows, _column(entity_set, prop), lambda v: v < low or v > high, key)
    else:
        expected = _expected(rows, _column(entity_set, prop), lambda v: low <= v <= high, key)
    function = "NotBetween" if negated else "Between"
    assert _ids(store, entity_set, f"{CRM}{function}(PropertyName='{prop}',PropertyValues={_values(values)})") == expected


def test_numbers_may_be_written_unquoted(store: Store, now: dt.datetime) -> None:
    assert store.orders is not None
    expected = _expected(store.orders, "statuscode", lambda value: value in (1, 2))
    assert _ids(store, "salesorders", f"{CRM}In(PropertyName='statuscode',PropertyValues=[1,'2'])") == expected


# ---------------------------------------------------------------------------- users, aliases, composition


def test_equal_user_id(store: Store, now: dt.datetime) -> None:
    assert store.orders is not None
    mine = _expected(store.orders, "customerid", lambda value: value == USER)
    others = _expected(store.orders, "customerid", lambda value: value != USER)
    assert mine and others
    assert _ids(store, "salesorders", f"{CRM}EqualUserId(PropertyName='_customerid_value')") == mine
    assert _ids(store, "salesorders", f"{CRM}NotEqualUserId(PropertyName='_customerid_value')") == others


def test_parameter_aliases(store: Store, now: dt.datetime) -> None:
    assert store.orders is not None
    expected = _expected(store.orders, "statuscode", lambda value: value in (3, 4))
    found = _ids(store, "salesorders", f"{CRM}In(PropertyName=@p,PropertyValues=@v)", **{"@p": "'statuscode'",
                                                                                          "@v": "['3','4']"})
    assert found == expected


def test_inside_a_lambda_and_with_other_conditions(store: Store, now: dt.datetime) -> None:
    """In any(), PropertyName names a property of the lambda's entity."""
    assert store.orders is not None and store.accounts is not None
    today = now.date()
    with_today = {row["customerid"] for row in store.orders
                  if row["createdon"] is not None and row["createdon"].date() == today and row["customerid"]}
    expected = {row["accountid"] for row in store.accounts if row["accountid"] in with_today and row["statecode"] == 0}
    filter_text = f"salesorders/any(o:{CRM}Today(PropertyName='createdon')) and statecode eq 0"
    assert _ids(store, "accounts", filter_text) == expected


# ---------------------------------------------------------------------------- case-insensitive text


@pytest.mark.parametrize(("function", "needle", "test"), [
    ("contains", "ORDER", lambda v, n: n.lower() in v.lower()),
    ("contains", "0% c", lambda v, n: n.lower() in v.lower()),  # % is the user's text, not a wildcard
    ("contains", "r_s", lambda v, n: n.lower() in v.lower()),  # so is _
    ("startswith", "order", lambda v, n: v.lower().startswith(n.lower())),
    ("endswith", "GAMMA", lambda v, n: v.lower().endswith(n.lower())),
], ids=["contains", "contains-percent", "contains-underscore", "startswith", "endswith"])
def test_text_functions_ignore_case(store: Store, now: dt.datetime, function: str, needle: str,
                                    test: Callable[[str, str], bool]) -> None:
    assert store.orders is not None
    expected = _expected(store.orders, "name", lambda value: test(value, needle))
    assert expected
    assert _ids(store, "salesorders", f"{function}(name,'{needle}')") == expected


def test_text_functions_keep_case_on_the_fno_service() -> None:
    """Only the Dataverse service folds case: F&O's contains stays a plain LIKE."""
    fno = load_catalog()
    request = parse_query(urlencode({"$filter": "contains(CustomerAccount,'Us')"}))
    context = PlanContext(fno, ("usmf",), dialect_traits("postgresql"), request.aliases, access=SYSTEM)
    plan = plan_read(context, fno.entities["CustomersV3"], request.options, request.texts)
    sql = str(plan.statement.compile(dialect=DIALECTS["postgresql"]))
    assert " LIKE " in sql and "ILIKE" not in sql
    dataverse = parse_query(urlencode({"$filter": "contains(name,'Us')"}))
    context = _context(CATALOG, "postgresql", dataverse.aliases)
    plan = plan_read(context, CATALOG.entities["accounts"], dataverse.options, dataverse.texts)
    assert "ILIKE" in str(plan.statement.compile(dialect=DIALECTS["postgresql"]))


# ---------------------------------------------------------------------------- bad input: a 400 that says why


ERROR_CASES: list[tuple[str, str, type[ODataError], str]] = [
    ("unknown-function", f"{CRM}Todya(PropertyName='createdon')", BadRequest, "Did you mean 'Today'?"),
    ("unknown-function-lists", f"{CRM}Whenever(PropertyName='createdon')", BadRequest, "Supported: In, NotIn"),
    ("wrong-case", "microsoft.dynamics.crm.today(PropertyName='createdon')", BadRequest, "unknown query function"),
    ("unknown-property", f"{CRM}In(PropertyName='statuscod',PropertyValues=['1'])", UnknownProperty,
     "Did you mean 'statuscode'?"),
    ("not-a-name", f"{CRM}In(PropertyName='a b',PropertyValues=['1'])", UnknownProperty, "no property 'a b'"),
    ("navigation", f"{CRM}Today(PropertyName='customerid_account')", BadRequest, "navigation property"),
    ("wrong-value-type", f"{CRM}In(PropertyName='statuscode',PropertyValues=['1','two'])", TypeMismatch,
     "'two' in PropertyValues is not a value of statuscode (Edm.Int32"),
    ("bad-date", f"{CRM}In(PropertyName='requestdeliveryby',PropertyValues=['2024-02-30'])", TypeMismatch,
     "'2024-02-30' in PropertyValues is not a value of requestdeliveryby"),
    ("bad-guid", f"{CRM}In(PropertyName='_customerid_value',PropertyValues=['nope'])", TypeMismatch, "a Guid"),
    ("int-out-of-range", f"{CRM}In(PropertyName='statuscode',PropertyValues=['99999999999'])", TypeMismatch,
     "not a value of statuscode"),
    ("decimal-too-large", f"{CRM}Between(PropertyName='creditlimit',PropertyValues=['1','1e40'])", TypeMismatch,
     "'1e40' in PropertyValues is outside the range of creditlimit"),
    ("missing-values", f"{CRM}In(PropertyName='statuscode')", BadRequest, "needs the parameter PropertyValues"),
    ("missing-name", f"{CRM}Today()", BadRequest, "needs the parameter PropertyName"),
    ("missing-value", f"{CRM}LastXDays(PropertyName='createdon')", BadRequest, "needs the parameter PropertyValue"),
    ("positional", f"{CRM}Today('createdon')", BadRequest, "takes named parameters"),
    ("unknown-parameter", f"{CRM}LastXDays(PropertyName='createdon',PropertyValues=['1'])", BadRequest,
     "has no parameter PropertyValues. Did you mean 'PropertyValue'?"),
    ("twice", f"{CRM}Today(PropertyName='createdon',PropertyName='createdon')", BadRequest, "given twice"),
    ("between-three", f"{CRM}Between(PropertyName='statuscode',PropertyValues=['1','2','3'])", BadRequest,
     "needs exactly two values (the low and the high end), not 3"),
    ("between-one", f"{CRM}NotBetween(PropertyName='statuscode',PropertyValues=['1'])", BadRequest,
     "exactly two values"),
    ("in-empty", f"{CRM}In(PropertyName='statuscode',PropertyValues=[])", BadRequest, "at least one value"),
    ("values-not-a-list", f"{CRM}In(PropertyName='statuscode',PropertyValues='1')", TypeMismatch,
     "must be a list of values"),
    ("null-value", f"{CRM}In(PropertyName='statuscode',PropertyValues=[null])", BadRequest, "cannot hold null"),
    ("name-not-a-string", f"{CRM}Today(PropertyName=createdon)", TypeMismatch, "PropertyName must be a string"),
    ("date-function-on-text", f"{CRM}Today(PropertyName='name')", TypeMismatch,
     "needs a date or date-time property, but name is of type Edm.String"),
    ("hours-on-a-date", f"{CRM}LastXHours(PropertyName='requestdeliveryby',PropertyValue=2)", TypeMismatch,
     "hours need a date-time property"),
    ("x-not-a-number", f"{CRM}LastXDays(PropertyName='createdon',PropertyValue='many')", TypeMismatch,
     "PropertyValue must be a whole number (0 or more), not 'many'"),
    ("x-negative", f"{CRM}LastXDays(PropertyName='createdon',PropertyValue=-3)", TypeMismatch,
     "whole number (0 or more)"),
    ("x-too-large", f"{CRM}NextXYears(PropertyName='createdon',PropertyValue=999999)", BadRequest,
     "beyond the range of dates"),
    ("on-not-a-date", f"{CRM}On(PropertyName='createdon',PropertyValue='soon')", TypeMismatch,
     "must be a date like 2024-01-31, not 'soon'"),
    ("user-id-on-a-number", f"{CRM}EqualUserId(PropertyName='statuscode')", TypeMismatch, "Guid or string property"),
    ("alias-without-value", f"{CRM}Today(PropertyName=@p)", BadRequest, "@p given for PropertyName has no value"),
]


@pytest.mark.parametrize(("filter_text", "error_type", "message"), [c[1:] for c in ERROR_CASES],
                         ids=[c[0] for c in ERROR_CASES])
def test_bad_input_is_a_clear_400(filter_text: str, error_type: type[ODataError], message: str) -> None:
    error = _plan_error(filter_text, "accounts" if "creditlimit" in filter_text else "salesorders")
    assert isinstance(error, error_type), (type(error).__name__, error.message)
    assert message in error.message
    assert "(at position" in error.message  # the caret points into the $filter text


def test_equal_user_id_without_a_user() -> None:
    error = _plan_error(f"{CRM}EqualUserId(PropertyName='_customerid_value')", user_id=None)
    assert "no user id to compare with" in error.message


def test_on_the_fno_service_they_point_to_the_dataverse_endpoint() -> None:
    error = _plan_error(f"{CRM}Today(PropertyName='CreatedDateTime')", "CustomersV3", load_catalog())
    assert "/api/data/v9.2" in error.message and "Dataverse query function" in error.message


def test_today_follows_the_clock() -> None:
    """Without a replaced clock, Today binds the current UTC date (so such plans must not be cached)."""
    request = parse_query(urlencode({"$filter": f"{CRM}Today(PropertyName='requestdeliveryby')"}))
    before = dt.datetime.now(dt.UTC).date()
    plan = plan_read(_context(CATALOG, "sqlite", request.aliases), CATALOG.entities["salesorders"],
                     request.options, request.texts)
    after = dt.datetime.now(dt.UTC).date()
    bound = set(plan.statement.compile().params.values())
    assert before in bound or after in bound
