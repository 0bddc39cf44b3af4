"""What one principal may do, compiled once from its role assignments and asked by the plan.

`Access` answers "in which companies may this principal do OP on SERVICE:EntitySet?". The planner
asks it for every entity a statement touches (EntityScope), so an entity the principal may not read
cannot be reached by any path: $expand, navigation in $filter/$orderby, any/all, $root, $apply,
Nav/$count, key and alternate-key lookups, $batch. A create, update or delete privilege implies read
of the same entity in the same companies (F&O's "maintain" privileges include "view"), so a writer can
read back what it wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from gateway.errors import Forbidden
from gateway.identity.config import OPERATIONS, Assignment, Operation, SecurityConfig

if TYPE_CHECKING:
    from gateway.catalog.model import Entity

EVERY_COMPANY: frozenset[str] | None = None  # a grant in every company, present and future


@dataclass(frozen=True)
class Grant:
    service: str
    pattern: str  # entity set name or fnmatch pattern
    operations: frozenset[Operation]
    companies: frozenset[str] | None  # None: every company
    role: str


@dataclass(frozen=True)
class Access:
    """A principal's grants; `key` identifies equal access (plans and $metadata are cached by it)."""

    grants: tuple[Grant, ...]
    roles: tuple[str, ...]
    admin: bool = False
    unrestricted: bool = False  # the gateway's own work (dual-write worker, live sync): no checks
    key: tuple[object, ...] = ()

    def service(self, name: str) -> ServiceAccess:
        return ServiceAccess(self, name)

    def companies(self, service: str, entity_set: str, operation: Operation) -> frozenset[str] | None:
        """Companies with the privilege (None: all); an empty set: none at all."""
        if self.unrestricted:
            return EVERY_COMPANY
        found: set[str] = set()
        for grant in self.grants:
            if grant.service != service or not fnmatchcase(entity_set, grant.pattern):
                continue
            if operation not in grant.operations and not (operation == "read" and grant.operations):
                continue
            if grant.companies is None:
                return EVERY_COMPANY
            found |= grant.companies
        return frozenset(found)


SYSTEM_ACCESS = Access(grants=(), roles=("system",), admin=True, unrestricted=True, key=("system",))


@dataclass
class ServiceAccess:
    """Access within one service, with its answers memoized (a few per entity set)."""

    access: Access
    name: str
    _memo: dict[tuple[str, Operation], frozenset[str] | None] = field(default_factory=dict)

    @property
    def unrestricted(self) -> bool:
        return self.access.unrestricted

    def companies(self, entity_set: str, operation: Operation) -> frozenset[str] | None:
        key = (entity_set, operation)
        if key not in self._memo:
            self._memo[key] = self.access.companies(self.name, entity_set, operation)
        return self._memo[key]

    def may(self, entity_set: str, operation: Operation) -> bool:
        companies = self.companies(entity_set, operation)
        return companies is None or bool(companies)

    def visible(self, entity_set: str) -> bool:
        """Listed in the service document and $metadata: the principal holds some privilege on it."""
        return self.may(entity_set, "read")

    def scope(self, entity: Entity, operation: Operation, requested: tuple[str, ...]) -> tuple[str, ...]:
        """The requested companies the privilege covers, or Forbidden when it covers none of them."""
        if self.unrestricted:
            return requested
        companies = self.companies(entity.entity_set, operation)
        if companies is not None and not companies:
            raise Forbidden(f"you lack the {operation} privilege on {entity.entity_set} "
                            f"(your roles: {', '.join(self.access.roles) or 'none'})", target=entity.entity_set)
        if not entity.company_specific or companies is None:
            return requested
        allowed = tuple(company for company in requested if company in companies)
        if not allowed:
            raise Forbidden(f"you lack the {operation} privilege on {entity.entity_set} in "
                            f"{_companies_text(requested)} (you have it in {', '.join(sorted(companies))})",
                            target=entity.entity_set)
        return allowed

    def require(self, entity: Entity, operation: Operation, company: str | None = None) -> None:
        """Forbidden unless the principal may do `operation` on the entity (in `company`, if given)."""
        if company is not None and entity.company_specific:
            self.scope(entity, operation, (company,))
        elif not self.unrestricted and not self.may(entity.entity_set, operation):
            self.scope(entity, operation, ())  # raises, saying which privilege is missing

    def require_admin(self) -> None:
        if not self.access.admin:
            raise Forbidden("this needs an administrator role "
                            f"(your roles: {', '.join(self.access.roles) or 'none'})", target="admin")


@dataclass
class MirroredAccess(ServiceAccess):
    """Access to tables that show another service's entities (Dataverse virtual tables show F&O's):
    an operation needs the privilege on the table here AND on the entity it shows there, and works in
    the companies both grant. Tables not in `sources` are this service's own, checked as usual."""

    source_service: str = ""
    sources: Mapping[str, str] = field(default_factory=dict)  # table here -> entity set there

    def companies(self, entity_set: str, operation: Operation) -> frozenset[str] | None:
        own = super().companies(entity_set, operation)
        source = self.sources.get(entity_set)
        if source is None or self.unrestricted:
            return own
        theirs = self.access.companies(self.source_service, source, operation)
        if own is None:
            return theirs
        return own if theirs is None else own & theirs

    def scope(self, entity: Entity, operation: Operation, requested: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return super().scope(entity, operation, requested)
        except Forbidden as refused:  # say which two privileges a table that shows another's entity needs
            source = self.sources.get(entity.entity_set)
            if source is not None:
                refused.message += (f"; {entity.entity_set} shows the {self.source_service} entity {source}: it needs "
                                    f"{operation} on {self.name}:{entity.entity_set} and on {self.source_service}:{source}")
            raise


# The gateway's own statements (dual-write sync, reference checks): every entity, every company.
SYSTEM = ServiceAccess(SYSTEM_ACCESS, "system")


def _companies_text(companies: tuple[str, ...]) -> str:
    return f"company '{companies[0]}'" if len(companies) == 1 else "companies " + ", ".join(companies)


def compile_access(config: SecurityConfig, assignments: list[Assignment]) -> Access:
    """The grants of some role assignments. Assignment companies narrow the role's own companies."""
    grants: list[Grant] = []
    admin = False
    for assignment in assignments:
        role = config.roles[assignment.role]
        admin = admin or role.admin
        chosen = assignment.companies if assignment.companies is not None else role.companies
        companies = None if chosen == "*" else frozenset(company.lower() for company in chosen)
        if role.admin:
            grants.append(Grant("admin", "*", frozenset(OPERATIONS), companies, assignment.role))
        for target, operations in role.privileges.items():
            service, _, pattern = target.partition(":")
            grants.append(Grant(service, pattern, frozenset(operations), companies, assignment.role))
    roles = tuple(sorted({assignment.role for assignment in assignments}))
    # Equal grants are equal access: the key is what the grants allow, never the role names alone (an
    # assignment without companies takes its role's, so one role name may mean different companies).
    key = (admin, *sorted({(grant.service, grant.pattern, tuple(sorted(grant.operations)),
                            ("*",) if grant.companies is None else tuple(sorted(grant.companies)))
                           for grant in grants}))
    return Access(tuple(grants), roles, admin, key=key)


def assignment_companies(config: SecurityConfig, assignments: list[Assignment],
                         every: tuple[str, ...]) -> tuple[str, ...]:
    """The companies a principal may choose with `company=`: those of any of its roles, in `every`'s order."""
    chosen: set[str] = set()
    for assignment in assignments:
        companies = assignment.companies if assignment.companies is not None else config.roles[assignment.role].companies
        if companies == "*":
            return every
        chosen |= {company.lower() for company in companies}
    return tuple(company for company in every if company in chosen) + tuple(sorted(chosen - set(every)))
