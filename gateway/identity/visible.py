"""What one caller sees of a service: the service document and $metadata list only the entity sets it
holds a privilege on, and navigation properties only towards those. The documents are built once per
distinct access (a handful of role sets), not per request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Literal, TypeVar

from gateway.catalog.model import Catalog, Operation
from gateway.identity.access import ServiceAccess
from grammar.cache import BoundedCache

T = TypeVar("T")


def visible_catalog(catalog: Catalog, access: ServiceAccess) -> Catalog:
    if access.unrestricted:
        return catalog
    shown = {name for name in catalog.entities if access.visible(name)}
    entities = {}
    for name, entity in catalog.entities.items():
        if name not in shown:
            continue
        navigation = {nav_name: nav for nav_name, nav in entity.navigation.items() if nav.target in shown}
        # Capabilities annotations tell a client what it may do: no write privilege, not insertable.
        writable = entity.writable and any(access.may(name, op) for op in ("create", "update", "delete"))
        entities[name] = entity.model_copy(update={"navigation": navigation, "writable": writable})
    # Operations the caller may call, whose bound and returned entity sets it sees.
    operations = {
        name: operation for name, operation in catalog.operations.items()
        if access.may(name, operation_privilege(operation))
        and all(used in shown for used in (operation.binding.entity_set if operation.binding else None,
                                           operation.returns.entity_set if operation.returns else None) if used)
    }
    return catalog.model_copy(update={"entities": entities, "operations": operations})


def operation_privilege(operation: Operation) -> Literal["read", "update"]:
    """What a role must grant on an operation's name to call it: read for a function (it changes
    nothing), update for an action; the entities it reads and writes are checked on their own too."""
    return "read" if operation.kind == "function" else "update"


class PerAccess(Generic[T]):
    """A value built once per access key (bounded: the oldest goes first)."""

    def __init__(self, build: Callable[[Catalog], T], size: int = 64) -> None:
        self._build = build
        # A $metadata document is some hundred KB: the entry count is the bound that matters.
        self._values: BoundedCache[T] = BoundedCache(size, size << 20, lambda key, value: 1 << 20)

    def get(self, catalog: Catalog, access: ServiceAccess, version: object = None) -> T:
        """`version` names the catalog when a service's catalog changes while it runs (virtual tables)."""
        return self._values.get((version, access.access.key), lambda: self._build(visible_catalog(catalog, access)))
