"""What one caller sees of a service: the service document and $metadata list only the entity sets it
holds a privilege on, and navigation properties only towards those. The documents are built once per
distinct access (a handful of role sets), not per request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from gateway.catalog.model import Catalog
from gateway.identity.access import ServiceAccess

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
    return catalog.model_copy(update={"entities": entities})


class PerAccess(Generic[T]):
    """A value built once per access key (bounded: the oldest goes first)."""

    def __init__(self, build: Callable[[Catalog], T], size: int = 64) -> None:
        self._build = build
        self._values: OrderedDict[object, T] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, catalog: Catalog, access: ServiceAccess) -> T:
        key = access.access.key
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = self._build(visible_catalog(catalog, access))
        with self._lock:
            self._values[key] = value
            if len(self._values) > self._size:
                self._values.popitem(last=False)
        return value
