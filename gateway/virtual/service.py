"""Serving the visible virtual tables beside the native ones at /api/data/v9.2.

A request on a virtual table runs the ordinary read pipeline with a catalog of the visible virtual
tables and the F&O database's engine: `Served.read` is a `ReadService` like /data's, so every query
option, the company scope and the privileges work as they do there. What makes it Dataverse:
- the catalog's names and types (generate.py);
- every company of the caller unless `cross-company=false` (Dataverse has no current company);
- both privileges: the Dataverse one on the table and the F&O one on the entity (MirroredAccess);
- Dataverse's query rules: no `$skip` (Entity.skip, refused by read.py), pages of at most 5,000 rows,
  `@odata.count` capped at 5,000.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from gateway.catalog.load import load_catalog
from gateway.catalog.model import Catalog
from gateway.errors import NotFound
from gateway.identity.access import Access, MirroredAccess
from gateway.read import ReadService
from gateway.virtual.available import ENTITY_SET, AvailableTable, Snapshot, Visibility
from gateway.virtual.generate import VirtualCatalog, virtual_catalog
from gateway.virtual.naming import physical_name
from gateway.virtual.relations import foreign_navigation, load_relations, reverse_navigation
from gateway.virtual.write import write_through

COUNT_LIMIT = 5000  # Dataverse counts at most this many rows for $count=true


@dataclass(frozen=True)
class Served:
    """What is served while one visibility snapshot holds."""

    version: Snapshot
    generated: VirtualCatalog
    read: ReadService  # the visible virtual tables, on the F&O engine
    source_catalog: Catalog  # the F&O catalog they were made from (writes go through its entities)
    merged: Catalog  # native and visible virtual tables: the service document and $metadata
    native: ReadService  # the native tables, whose $expand may also reach the visible virtual tables
    # FetchXML's names on a virtual table: the virtual tables (with their lookups to native tables)
    # and the native ones, under the virtual tables' service (its company column).
    fetch_names: Catalog


class VirtualTables:
    def __init__(self, fno: ReadService, native: ReadService, available: AvailableTable) -> None:
        self.fno = fno  # /data: its engine, its folder (refresh reloads it), its write path
        self.native = native
        self.available = available
        self.visibility = Visibility(available)
        self._lock = threading.Lock()
        self._source = fno.catalog
        self._generated = virtual_catalog(fno.catalog)
        self._relations = load_relations(native.catalog.folder) if native.catalog.folder else []
        self._loaded_at: object = None  # the refresh time the generated catalog reflects
        self._served: Served | None = None

    # ------------------------------------------------------------------ what is served
    def served(self) -> Served:
        snapshot = self.visibility.current()
        served = self._served
        if served is not None and served.version == snapshot:
            return served
        with self._lock:
            if self._served is None or self._served.version != snapshot:
                self._served = self._build(snapshot)
            return self._served

    def _build(self, snapshot: Snapshot) -> Served:
        if self._loaded_at is not None and snapshot.refreshed != self._loaded_at and self.fno.catalog.folder:
            # `virtual refresh` ran: the F&O catalog folder may have new entities or properties.
            self._source = load_catalog(Path(self.fno.catalog.folder))
            self._generated = virtual_catalog(self._source)
        self._loaded_at = snapshot.refreshed
        generated = self._generated
        visible = frozenset(name for name, entity in generated.catalog.entities.items()
                            if entity.physical_name in snapshot.visible)
        catalog = generated.only(visible)
        # Lookups to native tables (another database): $expand only, so kept out of the catalog the
        # planner joins with, and shown in $metadata (the merged catalog).
        foreign = {name: navigation for name, navigation in
                   foreign_navigation(generated, self.native.catalog, self._relations).items() if name in visible}
        read = replace(self.fno, catalog=catalog, name=self.native.name, prefix=self.native.prefix,
                       max_page_size=self.native.max_page_size, write_hook=None,
                       access_for=lambda access: self.access(access, generated), every_company=True,
                       count_limit=COUNT_LIMIT, foreign=(self.native, foreign))
        reverse = reverse_navigation(foreign)  # a native row's virtual rows: $expand only, too
        native = replace(self.native, foreign=(read, reverse))
        shown = {name: entity.model_copy(update={"navigation": {**entity.navigation, **foreign.get(name, {})}})
                 for name, entity in catalog.entities.items()}
        natives = {name: entity.model_copy(update={"navigation": {**entity.navigation, **reverse[name]}})
                   if name in reverse else entity for name, entity in self.native.catalog.entities.items()}
        merged = self.native.catalog.model_copy(update={"entities": {**natives, **shown}})
        fetch_names = catalog.model_copy(update={"entities": {**self.native.catalog.entities, **shown}})
        return Served(snapshot, generated, read, self._source, merged, native, fetch_names)

    def access(self, access: Access, generated: VirtualCatalog | None = None) -> MirroredAccess:
        """The caller's access in the Dataverse service: virtual tables also need the F&O privilege."""
        generated = generated or self.served().generated
        return MirroredAccess(access, self.native.name, source_service=self.fno.name, sources=generated.source_sets)

    def changed(self) -> None:
        """A write to the available table went through this worker: serve it from the next request."""
        self.visibility.changed()

    async def write(self, request: Request, resource_path: str, require_if_match: bool) -> Response:
        """POST, PATCH, PUT, DELETE on a virtual table: the F&O entity's own write path (write.py)."""
        return await write_through(self, request, resource_path, require_if_match)

    # ------------------------------------------------------------------ routing
    def route(self, resource_path: str) -> tuple[Served, ReadService]:
        """The service of the table the path addresses: the virtual tables' or the native ones'. A hidden
        table is a 404 that says how to enable it."""
        name = first_segment(resource_path)
        served = self.served()
        if not name.startswith("mserp_") or name == ENTITY_SET:
            return served, served.native
        if name in served.read.catalog.entities:
            return served, served.read
        entity = served.generated.catalog.entities.get(name)
        if entity is None:
            return served, served.native  # which says there is no such table (with a did-you-mean)
        physical = physical_name(entity)
        raise NotFound(f"{name} is the virtual table of the F&O entity {physical}, which is not enabled. Enable it: "
                       f"PATCH {self.native.prefix}/{ENTITY_SET}(mserp_physicalname='{physical}') with "
                       f'{{"mserp_isvisible": true}}, or run: fno-gateway virtual enable {physical}', target=name)


def first_segment(resource_path: str) -> str:
    """The entity set a resource path starts with: `accounts(...)/x` -> accounts."""
    return resource_path.lstrip("/").split("/", 1)[0].split("(", 1)[0]
