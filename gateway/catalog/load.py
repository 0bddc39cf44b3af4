"""Load a catalog folder (service.yaml + entities/*.yaml), validate it and report mistakes by file:line."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from gateway.catalog.model import PRIMITIVE_TYPES, Catalog, Entity, Navigation, Operation, Service
from gateway.catalog.structured import attach_structured, check_complex_types, take_structured
from gateway.catalog.typedefs import check_service_types, resolve_types
from gateway.catalog.writes import check_entity_writes, check_service

DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "entities" / "fno"

Location = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class CatalogProblem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


# libyaml's loader where PyYAML was built with it (the wheels are): catalogs and maps load at start-up,
# and the pure-Python one made them most of a restart's time.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CatalogError(Exception):
    """Every problem found in a catalog folder, each with its file and line."""

    def __init__(self, problems: list[CatalogProblem]) -> None:
        self.problems = problems
        super().__init__("invalid catalog:\n" + "\n".join(f"  {p}" for p in problems))


class Document:
    """A parsed YAML file that remembers the line of every value, addressed by its path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[Location, int] = {}
        try:
            text = path.read_text(encoding="utf-8")
            loader = _SafeLoader(text)
            try:  # composed once: the nodes give the lines, the same nodes give the data
                node = loader.get_single_node()
                if node is not None:
                    self._index(loader, node, ())
                self.data: Any = None if node is None else loader.construct_document(node)
            finally:
                loader.dispose()
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
            line = mark.line + 1 if mark is not None else 1
            problem = getattr(error, "problem", None) or str(error)
            raise CatalogError([CatalogProblem(str(path), line, f"YAML syntax: {problem}")]) from None
        except (OSError, UnicodeDecodeError) as error:
            raise CatalogError([CatalogProblem(str(path), 1, f"cannot read: {error}")]) from None

    def _index(self, loader: yaml.SafeLoader, node: yaml.Node, location: Location) -> None:
        self.lines[location] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                self._index(loader, value_node, (*location, loader.construct_object(key_node, deep=True)))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._index(loader, item, (*location, index))

    def line(self, location: Location) -> int:
        """The line of the value at `location`, or of its closest existing parent."""
        while location not in self.lines and location:
            location = location[:-1]
        return self.lines.get(location, 1)

    def problem(self, location: Location, message: str) -> CatalogProblem:
        return CatalogProblem(str(self.path), self.line(location), message)


def load_document(path: Path, problems: list[CatalogProblem]) -> Document | None:
    try:
        return Document(path)
    except CatalogError as error:
        problems.extend(error.problems)
        return None


def validate_document(model: type[M], document: Document | None, problems: list[CatalogProblem]) -> M | None:
    if document is None:
        return None
    try:
        return model.model_validate(document.data)
    except ValidationError as error:
        for detail in error.errors():
            location = tuple(detail["loc"])
            where = ".".join(str(part) for part in location) or "(file)"
            problems.append(document.problem(location, f"{where}: {detail['msg']}"))
        return None


def load_catalog(folder: str | Path = DEFAULT_CATALOG) -> Catalog:
    """Read and validate a catalog folder; raise CatalogError listing every problem found."""
    root = Path(folder)
    problems: list[CatalogProblem] = []
    service_path = root / "service.yaml"
    if not service_path.is_file():
        raise CatalogError([CatalogProblem(str(service_path), 1, "service.yaml is missing")])
    service_document = load_document(service_path, problems)
    service = validate_document(Service, service_document, problems)
    if service is not None and service_document is not None:
        problems.extend(check_service_types(service, service_document))
        problems.extend(check_complex_types(service, service_document))  # (structured.py)
    entities: dict[str, Entity] = {}
    documents: dict[str, Document] = {}
    broken: set[str] = set()  # entity sets whose file has mistakes: not reported again as unknown targets
    for path in sorted((root / "entities").glob("*.yaml")):
        document = load_document(path, problems)
        structured = take_structured(document, service, problems)  # complex and collection-valued properties
        entity = validate_document(Entity, document, problems)
        if entity is None:
            data = document.data if document is not None else None
            broken.add(str(data.get("entity_set")) if isinstance(data, dict) else path.stem)
            continue
        assert document is not None  # a document that failed to load validates to None above
        if entity.entity_set in entities:
            problems.append(document.problem(("entity_set",), f"entity set {entity.entity_set} is defined twice"))
            continue
        entities[entity.entity_set] = _named(entity)
        if service is not None:  # a property of a type definition: its underlying type from here on
            entities[entity.entity_set] = resolve_types(entities[entity.entity_set], service, document, problems)
            entities[entity.entity_set] = attach_structured(entities[entity.entity_set], structured, service,
                                                            document, problems)
        documents[entity.entity_set] = document
    operations: dict[str, Operation] = {}
    for path in sorted((root / "operations").glob("*.yaml")):
        document = load_document(path, problems)
        operation = validate_document(Operation, document, problems)
        if operation is None or document is None:
            continue
        if operation.name in operations or operation.name in entities:
            problems.append(document.problem(("name",), f"{operation.name} is defined twice (operations and entity "
                                                        "sets share one namespace)"))
            continue
        operations[operation.name] = _named_parameters(operation)
        if service is not None:
            problems.extend(check_operation(operations[operation.name], service, entities, document))
    if service is not None:
        for name, entity in entities.items():
            problems.extend(
                problem
                for problem in _check_entity(entity, service, entities, documents[name])
                if not any(f"unknown entity set {set_name}" in problem.message for set_name in broken)
            )
    if service is not None and service_document is not None:  # what reads and writes need (writes.py)
        problems.extend(check_service(service, entities, service_document, documents))
        for name, entity in entities.items():
            problems.extend(check_entity_writes(entity, service, documents[name]))
    if problems:
        raise CatalogError(problems)
    assert service is not None
    return Catalog(service=service, entities=entities, folder=str(root), operations=operations)


def _named(entity: Entity) -> Entity:
    """Copy each mapping key into the `name` field of its property or navigation; add the derived types'
    properties, each marked with its type (a name clash is reported by _check_derived)."""
    properties = {name: prop.model_copy(update={"name": name}) for name, prop in entity.properties.items()}
    for type_name, derived in entity.derived_types.items():
        for name, prop in derived.properties.items():
            properties.setdefault(name, prop.model_copy(update={"name": name, "derived": type_name, "nullable": True}))
    navigation = {name: nav.model_copy(update={"name": name}) for name, nav in entity.navigation.items()}
    return entity.model_copy(update={"properties": properties, "navigation": navigation})


def _named_parameters(operation: Operation) -> Operation:
    parameters = {name: parameter.model_copy(update={"name": name}) for name, parameter in operation.parameters.items()}
    return operation.model_copy(update={"parameters": parameters})


def known_type(type_name: str, service: Service) -> bool:
    """Whether a property or parameter may have this type: a primitive the gateway serves or an enum."""
    return type_name in PRIMITIVE_TYPES or type_name in service.enums


def _check_entity(
    entity: Entity, service: Service, entities: dict[str, Entity], document: Document
) -> Iterator[CatalogProblem]:
    """Cross-references a schema cannot express: aliases, keys, types, navigation targets."""
    seen_aliases: set[str] = set()
    for index, source in enumerate(entity.sources):
        if source.alias in seen_aliases:
            yield document.problem(("sources", index, "alias"), f"alias {source.alias} is used twice")
        if index > 0 and (source.join is None or not source.link):
            yield document.problem(("sources", index), f"source {source.alias} needs 'join' and 'link'")
        for column, reference in source.link.items():
            alias = reference.split(".", 1)[0]
            if "." not in reference or alias not in seen_aliases:
                yield document.problem(
                    ("sources", index, "link", column),
                    f"'{reference}' must name a column of an earlier source as alias.COLUMN",
                )
        seen_aliases.add(source.alias)
    for name, prop in entity.properties.items():
        if "." not in prop.column or prop.alias not in seen_aliases:
            yield document.problem(
                ("properties", name, "column"), f"{name}: '{prop.column}' must be alias.COLUMN of a source"
            )
        if not known_type(prop.type, service):
            known = ", ".join([*PRIMITIVE_TYPES, *service.enums])
            yield document.problem(("properties", name, "type"), f"{name}: unknown type {prop.type} (known: {known})")
    for index, key in enumerate(entity.key):
        if key not in entity.properties:
            yield document.problem(("key", index), f"key property {key} is not a property")
    if entity.company_specific and entity.key[0] != service.company_property:
        yield document.problem(("key",), f"a company-specific entity's first key must be {service.company_property}")
    for index, names in enumerate(entity.alternate_keys):
        for name in names:
            if name not in entity.properties:
                yield document.problem(("alternate_keys", index), f"alternate key property {name} is not a property")
    if entity.primary_name is not None and entity.primary_name not in entity.properties:
        yield document.problem(("primary_name",), f"primary name {entity.primary_name} is not a property")
    for name, prop in entity.properties.items():
        if prop.labels and prop.type not in ("Edm.Int32", "Edm.Boolean"):
            yield document.problem(("properties", name, "labels"), f"{name}: labels need an Edm.Int32 or Edm.Boolean")
    if service.row_ids == "guid":
        yield from _check_guid_key(entity, document)
    yield from _check_streams(entity, document)
    yield from _check_derived(entity, entities, document)
    for index, name in enumerate(entity.searchable):
        if name not in entity.properties:
            yield document.problem(("searchable", index), f"searchable property {name} is not a property")
    for name, nav in entity.navigation.items():
        if name in entity.properties:
            yield document.problem(("navigation", name), f"{name} is both a property and a navigation property")
        target = entities.get(nav.target)
        if target is None:
            yield document.problem(("navigation", name, "target"), f"{name}: unknown entity set {nav.target}")
            continue
        if nav.through is not None:
            yield from _check_through(entity, name, nav, target, document)
            continue
        if not nav.link:
            yield document.problem(("navigation", name), f"{name}: give 'link' (or 'through' for many-to-many)")
        for mine, theirs in nav.link.items():
            if mine not in entity.properties:
                yield document.problem(("navigation", name, "link", mine), f"{name}: {mine} is not a property here")
            if theirs not in target.properties:
                yield document.problem(
                    ("navigation", name, "link", mine), f"{name}: {theirs} is not a property of {nav.target}"
                )


def _check_guid_key(entity: Entity, document: Document) -> Iterator[CatalogProblem]:
    """With row_ids: guid the key identifies the first table's row: its properties live there, and a
    single key is the Guid the writer makes (a composite key, given in full by the client, may mix types)."""
    first = entity.sources[0].alias
    for index, name in enumerate(entity.key):
        prop = entity.properties.get(name)
        if prop is not None and prop.alias != first:
            yield document.problem(("key", index), f"with row_ids: guid the key property {name} must be a "
                                                    f"column of the first source ({first})")
    prop = entity.properties.get(entity.key[0])
    if len(entity.key) == 1 and prop is not None and prop.type != "Edm.Guid":
        yield document.problem(("key",), "with row_ids: guid a single key is an Edm.Guid property "
                                         "(a composite key may mix types)")


def _check_through(
    entity: Entity, name: str, nav: Navigation, target: Entity, document: Document
) -> Iterator[CatalogProblem]:
    """A many-to-many navigation: a collection, paired through its join table's columns."""
    assert nav.through is not None
    at = ("navigation", name, "through")
    if nav.link:
        yield document.problem(("navigation", name, "link"), f"{name}: give either 'link' or 'through', not both")
    if not nav.collection:
        yield document.problem(("navigation", name), f"{name}: a navigation through a join table needs "
                                                     "'collection: true'")
    if not nav.through.table:
        yield document.problem((*at, "table"), f"{name}: the join table has no name")
    sides = (("link", entity, entity.entity_set), ("target_link", target, nav.target))
    for field, owner, owner_set in sides:
        for prop, column in getattr(nav.through, field).items():
            if prop not in owner.properties:
                yield document.problem((*at, field, prop), f"{name}: {prop} is not a property of {owner_set}")
            if not column:
                yield document.problem((*at, field, prop), f"{name}: {prop} names no column of the join table")


def check_operation(
    operation: Operation, service: Service, entities: dict[str, Entity], document: Document
) -> Iterator[CatalogProblem]:
    """What a function or action needs to be served: known types and sets, one implementation that loads."""
    for name, parameter in operation.parameters.items():
        if not known_type(parameter.type, service):
            yield document.problem(("parameters", name, "type"), f"{name}: unknown type {parameter.type}")
    binding = operation.binding
    if binding is not None:
        bound = entities.get(binding.entity_set)
        if bound is None:
            yield document.problem(("binding", "entity_set"), f"unknown entity set {binding.entity_set}")
        elif operation.sql is not None and not binding.collection:
            for name in set(bound.key) & set(operation.parameters):
                yield document.problem(("parameters", name), f"{name} is a key property of {binding.entity_set}: "
                                                             "the SQL gets it as :" + name + " already")
    returns = operation.returns
    if returns is None and operation.kind == "function":
        yield document.problem(("returns",), "a function must return something (give returns:)")
    if returns is not None:
        if (returns.entity_set is None) == (returns.type is None):
            yield document.problem(("returns",), "returns: give either entity_set or type")
        elif returns.entity_set is not None and returns.entity_set not in entities:
            yield document.problem(("returns", "entity_set"), f"unknown entity set {returns.entity_set}")
        elif returns.type is not None and not known_type(returns.type, service):
            yield document.problem(("returns", "type"), f"unknown type {returns.type}")
    if (operation.sql is None) == (operation.python is None):
        yield document.problem(("name",), "give one implementation: sql or python")
    if operation.sql is not None and operation.kind == "action":
        yield document.problem(("sql",), "an action changes data through entities (authorized, audited, evented, "
                                         "dual-written): implement it with python:, not sql:")
    if operation.python is not None:
        problem = _python_problem(operation.python)
        if problem is not None:
            yield document.problem(("python",), problem)


def _python_problem(reference: str) -> str | None:
    """Why "module:function" cannot be called, or None when it can."""
    module_name, _, function_name = reference.partition(":")
    if not module_name or not function_name:
        return f"python: '{reference}' must be module:function"
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - any import failure makes the catalog unservable
        return f"python: cannot import {module_name}: {type(error).__name__}: {error}"
    if not callable(getattr(module, function_name, None)):
        return f"python: {module_name} has no function {function_name}"
    return None


def _check_streams(entity: Entity, document: Document) -> Iterator[CatalogProblem]:
    """Stream properties and media entities: what gateway/stream.py needs to read and write them."""
    if entity.media is not None:
        media = entity.properties.get(entity.media)
        if media is None or media.type != "Edm.Stream":
            yield document.problem(("media",), f"media {entity.media} must name an Edm.Stream property")
    for name, prop in entity.properties.items():
        if prop.type != "Edm.Stream":
            if prop.media_type is not None or prop.media_type_property is not None:
                yield document.problem(("properties", name), f"{name}: only an Edm.Stream has a media type")
            continue
        if name in entity.key:
            yield document.problem(("properties", name), f"{name}: a stream cannot be part of the key")
        if not prop.nullable and name != entity.media:
            yield document.problem(("properties", name, "nullable"),
                                   f"{name}: a stream property must be nullable (an entity is created without it)")
        holder = prop.media_type_property
        if holder is not None and (holder not in entity.properties or entity.properties[holder].type != "Edm.String"):
            yield document.problem(("properties", name, "media_type_property"),
                                   f"{name}: media_type_property {holder} must name an Edm.String property")


def _check_derived(entity: Entity, entities: dict[str, Entity], document: Document) -> Iterator[CatalogProblem]:
    """Derived types: new names, discriminators that are plain properties of the base type."""
    types = {other.entity_type for other in entities.values()}
    for type_name, derived in entity.derived_types.items():
        location = ("derived_types", type_name)
        if type_name in types or any(type_name in other.derived_types for other in entities.values() if other is not entity):
            yield document.problem(location, f"{type_name} is already an entity type")
        if not derived.where:
            yield document.problem(location, f"{type_name}: give `where`, the base properties that tell its rows")
        for name in derived.where:
            prop = entity.properties.get(name)
            if prop is None or prop.derived is not None:
                yield document.problem((*location, "where", name), f"{type_name}: {name} is not a property of "
                                                                    f"{entity.entity_type}")
        for name in derived.properties:
            if entity.properties[name].derived != type_name:
                yield document.problem((*location, "properties", name), f"{type_name}: {name} is already a property")
