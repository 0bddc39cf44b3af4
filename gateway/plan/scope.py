"""One use of an entity inside a SQL statement: its physical tables (aliased), joins and columns.

An entity is never a view or a subquery: its tables are joined straight into the statement that
uses it, so the database plans over the physical tables and their indexes. Single-valued navigation
used in $filter/$orderby adds the target entity's tables as a LEFT OUTER JOIN, once per path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, reduce
from itertools import count
from typing import Any

from sqlalchemy import (
    BigInteger,
    Engine,
    Integer,
    String,
    and_,
    cast,
    column,
    false,
    select,
    table,
    true,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnClause, ColumnElement
from sqlalchemy.sql.selectable import FromClause, TableClause
from sqlalchemy.types import TypeEngine

from gateway.catalog.model import Catalog, Entity, Navigation
from gateway.identity.access import SYSTEM, ServiceAccess
from gateway.plan.dialects import DialectTraits
from gateway.plan.structured import structured_columns
from gateway.plan.through import RELATED, Related, related_condition, through_exists
from gateway.plan.types import sql_type
from gateway.protect import signing
from gateway.virtual.rowguid import RowGuid


@dataclass
class PlanContext:
    """What every scope of one request shares: the catalog, the caller's companies and privileges, the dialect."""

    catalog: Catalog
    companies: tuple[str, ...]  # companies this request may see (one unless cross-company)
    dialect: DialectTraits
    # What the caller may do in this service: every entity a statement touches is checked against it.
    access: ServiceAccess = field(kw_only=True)
    aliases: dict[str, object] = field(default_factory=dict)  # parameter aliases (@p) by name
    current_company: str = ""  # where a create goes when its body names no company
    writable_companies: tuple[str, ...] = ()  # where writes may go (the principal's companies)
    signing_key: bytes = field(default_factory=signing.process_key)  # signs the $skiptoken of nextLinks
    _counter: count[int] = field(default_factory=count)
    # The caller's user id, what Microsoft.Dynamics.CRM.EqualUserId compares with (None: no user).
    user_id: str | None = field(default=None, kw_only=True)
    # Who writes, as events name them (InitiatingUserAADObjectId): the token's oid, else the user id.
    initiator: str | None = field(default=None, kw_only=True)
    # Navigation to tables of another database (a virtual table's lookup to a native table): only
    # $expand follows it, with a second statement planned and run there.
    elsewhere: Elsewhere | None = field(default=None, kw_only=True)

    def unique(self, stem: str) -> str:
        return f"{stem}_{next(self._counter)}"


@dataclass(frozen=True)
class Elsewhere:
    """Tables of another service's database that navigation of this one's entities may expand to."""

    navigation: Mapping[str, Mapping[str, Navigation]]  # entity set here -> navigation name -> navigation
    engine: Engine  # its database
    make_context: Callable[[], PlanContext]  # the request's plan context there

    @cached_property
    def context(self) -> PlanContext:
        """Made when a plan first follows such a navigation: most requests never do."""
        return self.make_context()

    def find(self, entity: Entity, name: str) -> Navigation | None:
        return self.navigation.get(entity.entity_set, {}).get(name)


class EntityScope:
    def __init__(self, entity: Entity, context: PlanContext, keyset: bool = False,
                 substitutes: Mapping[str, Callable[[TableClause], FromClause]] | None = None) -> None:
        self.entity = entity
        self.context = context
        self._keyset = keyset  # this use reads a page after a $skiptoken position
        self.tables: dict[str, TableClause] = {}
        self._nav_joins: dict[str, tuple[EntityScope, ColumnElement[bool]]] = {}
        self._inner_joins: list[tuple[FromClause, ColumnElement[bool]]] = []  # a many-to-many's join table
        columns_by_alias = _columns_by_alias(entity, context.catalog)
        base: FromClause | None = None
        self.conditions: list[ColumnElement[bool]] = []
        for source in entity.sources:
            physical = table(source.table, *columns_by_alias[source.alias])
            # A substitute stands in for a table with the same columns (an event trigger's OLD row).
            substitute = (substitutes or {}).get(source.alias)
            aliased = substitute(physical) if substitute else physical.alias(context.unique(source.alias))
            self.tables[source.alias] = aliased  # type: ignore[assignment]
            restrictions = [aliased.c[name] == value for name, value in source.where.items()]
            if base is None:
                base = aliased
                self.conditions.extend(restrictions)
                continue
            link = [aliased.c[mine] == self._reference(theirs) for mine, theirs in source.link.items()]
            base = base.join(aliased, and_(*link, *restrictions), isouter=source.join == "left")
        assert base is not None
        self._base_from = base
        # The read privilege is checked here, where every use of an entity in any statement begins:
        # no path (expand, navigation, lambda, $root, $apply, key lookup) reaches an entity around it.
        self.companies = context.access.scope(entity, "read", context.companies)
        if entity.company_specific:
            self.conditions.append(self.company_condition())
        elif (lookup := company_lookup(entity, context.catalog)) is not None:
            # Rows that name their company by a lookup: a role granted in some companies reads theirs only.
            granted = context.access.companies(entity.entity_set, "read")
            if granted is not None:
                self.conditions.append(self.lookup_company_condition(lookup, granted))

    def lookup_company_condition(self, lookup: Navigation, companies: frozenset[str]) -> ColumnElement[bool]:
        """The row's company lookup names one of `companies` (by code): `msdyn_company IN (SELECT ...)`."""
        (mine, theirs), = lookup.link.items()
        target = EntityScope(self.context.catalog.entities[lookup.target], replace(self.context, access=SYSTEM))
        code = target.column(self.context.catalog.service.company_code or "")
        ids = select(target.column(theirs)).select_from(target.from_clause()).where(code.in_(sorted(companies)))
        return self.column(mine).in_(ids.scalar_subquery())

    def _reference(self, reference: str) -> ColumnElement[object]:
        alias, name = reference.split(".", 1)
        return self.tables[alias].c[name]

    def company_condition(self) -> ColumnElement[bool]:
        companies = self.companies
        company = self.column(self.context.catalog.service.company_property)
        if self._keyset and self.context.dialect.keyset_unindexes_company:
            company = company.concat("")  # still the same test, but no index: the keyset range gets it
        if not companies:
            return false()
        if len(companies) == 1:
            return company == companies[0]
        return company.in_(companies)

    def column(self, property_name: str) -> ColumnElement[object]:
        prop = self.entity.leaf(property_name)  # a property, or a complex property's member (Address/City)
        if prop is None:  # a collection-valued property: its JSON column (gateway/plan/structured.py)
            alias, name = (self.entity.structured[property_name].column or "").split(".", 1)
            return self.tables[alias].c[name]
        physical = self.tables[prop.alias].c[prop.column_name]
        if prop.lookup is not None:  # a virtual lookup's value: the other row's RECID, as its Guid
            other = table(prop.lookup.table, column(prop.lookup.row_id, BigInteger()),
                          *(column(name) for name in prop.lookup.match)).alias(self.context.unique("lookup"))
            found = select(other.c[prop.lookup.row_id]).where(
                *(other.c[name] == self._reference(mine) for name, mine in prop.lookup.match.items())).limit(1)
            return type_coerce(found.scalar_subquery(), RowGuid(prop.row_guid or 0))
        if prop.row_guid is not None:  # a virtual table's Guid key: the RECID, bound and read as a Guid
            return type_coerce(physical, RowGuid(prop.row_guid))
        if prop.joined:  # mserp_primaryfield: the key columns as text, joined with '|'
            parts: list[ColumnElement[Any]] = [cast(self._reference(part), String()) for part in prop.joined]
            joined: ColumnElement[Any] = reduce(lambda text, part: text.concat("|").concat(part), parts[1:], parts[0])
            return joined
        return physical

    def link_column(self, name: str) -> ColumnElement[object]:
        """A navigation link's column on this side: a property, or `Nav/Property` through one of its
        single-valued navigations (a synthetic relation by a company code the row holds as a lookup)."""
        if "/" not in name:
            return self.column(name)
        nav_name, prop = name.split("/", 1)
        return self.navigate(self.entity.navigation[nav_name]).column(prop)

    def where(self, fixed: tuple[tuple[str, object], ...] = ()) -> ColumnElement[bool]:
        """The entity's own restrictions (source filters, company scope) plus `property = value` pairs."""
        conditions = [*self.conditions, *(
            related_condition(self, value) if name == RELATED and isinstance(value, Related)  # (through.py)
            else self.column(name) == value
            for name, value in fixed)]
        return and_(true(), *conditions) if conditions else true()

    def from_clause(self) -> FromClause:
        """The entity's tables plus every navigation join that expressions asked for."""
        result = self._base_from
        for joined, on in self._inner_joins:
            result = result.join(joined, on)
        for target, onclause in self._nav_joins.values():
            result = result.join(target.from_clause(), onclause, isouter=True)
        return result

    def join_inner(self, joined: FromClause, onclause: ColumnElement[bool]) -> None:
        """Join another table into this scope's FROM (an $expand's join table, gateway/plan/through.py)."""
        self._inner_joins.append((joined, onclause))

    def navigate(self, nav: Navigation) -> EntityScope:
        """The scope of a single-valued navigation target, LEFT JOINed into this scope (once per name)."""
        if nav.name not in self._nav_joins:
            target = EntityScope(self.context.catalog.entities[nav.target], self.context)
            self._nav_joins[nav.name] = (target, and_(self.link_condition(nav, target), *target.conditions))
        return self._nav_joins[nav.name][0]

    def link_condition(self, nav: Navigation, target: EntityScope) -> ColumnElement[bool]:
        if nav.through is not None:  # many-to-many: a join row pairs the two
            parent = {name: self.column(name) for name in nav.through.link}
            return through_exists(nav, parent, target, self.context.unique("through"))
        return and_(*(self.column(mine) == target.column(theirs) for mine, theirs in nav.link.items()))

    def etag_columns(self) -> list[ColumnElement[object]]:
        """Row id and version (RECID, RECVERSION) of every source table: the row's version, whichever
        table changed."""
        catalog = self.context.catalog
        version = catalog.service.row_version
        columns: list[ColumnElement[object]] = []
        if not version:  # a service over tables without row versions (dual-write's admin tables)
            return columns
        for source in self.entity.sources:
            aliased = self.tables[source.alias]
            ids = catalog.row_id_columns(self.entity, source)  # (a composite Guid-service key: all its parts)
            columns.extend((*(aliased.c[name] for name in ids), aliased.c[version]))
        return columns


def company_lookup(entity: Entity, catalog: Catalog) -> Navigation | None:
    """The single-valued navigation by which rows of `entity` name their company, if the service has one."""
    if catalog.service.company_code is None:
        return None
    nav = entity.navigation.get(catalog.service.company_property)
    return nav if nav is not None and not nav.collection and len(nav.link) == 1 else None


def _columns_by_alias(entity: Entity, catalog: Catalog) -> dict[str, list[ColumnClause[Any]]]:
    """The lightweight column list of each source table: what properties, links and filters use."""
    service = catalog.service
    names: dict[str, dict[str, TypeEngine[Any]]] = {
        source.alias: {**dict.fromkeys(catalog.row_id_columns(entity, source), BigInteger()),
                       service.row_version: Integer()}
        if service.row_version else {}
        for source in entity.sources
    }
    for source in entity.sources:
        for mine, theirs in source.link.items():
            names[source.alias].setdefault(mine, BigInteger())
            alias, name = theirs.split(".", 1)
            names[alias].setdefault(name, BigInteger())
        for name in source.where:
            names[source.alias].setdefault(name, Integer())
    for prop in entity.properties.values():
        if prop.lookup is not None:  # another table's row id: EntityScope.column reads it
            for mine in prop.lookup.match.values():
                alias, name = mine.split(".", 1)
                names[alias].setdefault(name, String())
            continue
        if prop.row_guid is not None:  # the row id itself, typed by EntityScope.column
            names[prop.alias].setdefault(prop.column_name, BigInteger())
            continue
        for part in prop.joined:
            alias, name = part.split(".", 1)
            names[alias].setdefault(name, String())
        names[prop.alias][prop.column_name] = sql_type(prop.type, catalog)
    for alias, name, type_ in structured_columns(entity, catalog):  # member and JSON columns (structured.py)
        names[alias][name] = type_
    return {alias: [column(name, type_) for name, type_ in cols.items()] for alias, cols in names.items()}
