"""What a catalog must hold for the runtime to serve it, writes included: checked when it loads.

A catalog that loads must never answer 500. Reads tolerate a service without row versions (the admin
tables have none: no ETags), but every write checks and bumps a row version and numbers new rows
from the sequence table, so a writable entity needs `row_version`, `row_id` (where its tables have
one) and `sequences`. Column names are never empty (an INSERT naming a column "" is a 500), and a
property's `default` is a value of its type (else every create would be refused for the client's
fault). Each problem points at the line to fix, by file:line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from gateway.catalog.model import Catalog, Entity, Service, Source

if TYPE_CHECKING:
    from gateway.catalog.load import CatalogProblem, Document


def check_service(service: Service, entities: Mapping[str, Entity], service_document: Document,
                  documents: Mapping[str, Document]) -> Iterator[CatalogProblem]:
    """service.yaml's row_version, row_id, sequences and enums, as its entities use them."""
    writable = [entity for entity in entities.values() if entity.writable]
    where = ", ".join(f"{entity.entity_set} ({_at(documents[entity.entity_set], ('writable',))})"
                      for entity in writable if entity.entity_set in documents)
    for name in ("row_version", "row_id"):
        value = getattr(service, name)
        if value != value.strip():
            yield service_document.problem((name,), f"{name} {value!r}: a column name has no surrounding spaces")
    if not service.row_version.strip() and writable:
        yield service_document.problem(
            ("row_version",), "row_version is empty, and writes need it (each update checks and bumps the row "
                              f"version of every table it writes; new rows get 1): writable entities are {where}. "
                              "Name the row version column, or make them read-only (writable: false)")
    uses_row_id = [entity for entity in entities.values() if _row_id_sources(service, entity)
                   and (entity.writable or service.row_version.strip())]
    if not service.row_id.strip() and uses_row_id:
        names = ", ".join(entity.entity_set for entity in uses_row_id)
        yield service_document.problem(("row_id",), f"row_id is empty, and the tables of {names} are read and "
                                                    "written by their row id: name the row id column (e.g. RECID)")
    for name, members in service.enums.items():
        if not members:
            yield service_document.problem(("enums", name), f"enum {name} has no members (a value of it could "
                                                            "neither be read nor written)")


def check_entity_writes(entity: Entity, service: Service, document: Document) -> Iterator[CatalogProblem]:
    """Column names of every entity; of a writable one, what its writes take from the catalog."""
    for index, source in enumerate(entity.sources):
        if not source.table.strip():
            yield document.problem(("sources", index, "table"), f"source {source.alias} names no table")
        for kind in ("link", "where", "defaults", "on_update", "sequences"):
            for column in getattr(source, kind):
                if not str(column).strip():
                    yield document.problem(("sources", index, kind), f"source {source.alias}: {kind} names an "
                                                                     "empty column")
        for column, reference in source.link.items():
            if "." in reference and not reference.split(".", 1)[1].strip():
                yield document.problem(("sources", index, "link", column),
                                       f"'{reference}' names no column after the alias")
    for name, prop in entity.properties.items():
        if "." in prop.column and not prop.column_name.strip():
            yield document.problem(("properties", name, "column"), f"{name}: '{prop.column}' names no column "
                                                                   "after the alias")
    if not entity.writable:
        return
    numbered = [source for source in entity.sources if source.sequences] + _row_id_sources(service, entity)
    if numbered and service.sequences is None:
        yield document.problem(
            ("writable",), f"{entity.entity_set} is writable, and its creates number rows from the sequence table "
                           f"(tables {', '.join(sorted({source.table for source in numbered}))}), which service.yaml "
                           "does not name: add sequences: {table: ..., name_column: ..., value_column: ...}")
    yield from _check_defaults(entity, service, document)


def _check_defaults(entity: Entity, service: Service, document: Document) -> Iterator[CatalogProblem]:
    """A default is written into every create that does not give the property: it must be a value of it."""
    from gateway.errors import ODataError
    from gateway.write.values import parse_value  # (the write path's own parser: what a create will do)

    catalog = Catalog(service=service, entities={entity.entity_set: entity})
    for name, prop in entity.properties.items():
        if prop.default is None:
            continue
        try:
            parse_value(catalog, prop, prop.default)
        except ODataError as error:
            yield document.problem(("properties", name, "default"), f"{name}: default {prop.default!r} is not a "
                                                                    f"value of {prop.type} ({error.message})")


def _row_id_sources(service: Service, entity: Entity) -> list[Source]:
    """The entity's tables whose rows have a row id column (not the first table of a Guid-keyed service,
    identified by its key)."""
    return [source for source in entity.sources if not (service.row_ids == "guid" and source is entity.sources[0])]


def _at(document: Document, location: tuple[str, ...]) -> str:
    return f"{document.path}:{document.line(location)}"
