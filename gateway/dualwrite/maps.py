"""Dual-write table maps: data (entities/dualwrite/*.yaml), validated against both catalogs.

A map pairs one F&O entity with one Dataverse table. Each field names a property on each side and
the direction its values flow; a Dataverse side written `nav.property` is a lookup (the Guid of the
row of the lookup's table whose `property` has the value). Value maps translate enum members to
option sets or booleans; a field with only one side and a `default` fills that side on every sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.catalog.load import CatalogError, CatalogProblem, Document, load_document, validate_document
from gateway.catalog.model import Catalog, Entity, Navigation
from gateway.errors import ODataError
from gateway.identity.access import SYSTEM
from gateway.options import parse_filter
from gateway.plan.dialects import dialect_traits
from gateway.plan.query import OptionTexts, plan_read
from gateway.plan.scope import PlanContext
from gateway.write.values import parse_value
from grammar import ast

Direction = Literal["both", "to_dv", "to_fo"]
Side = Literal["fo", "dv"]
# The documented execution order of an initial sync, stage by stage: legal entities and currencies,
# units, groups (and other setup every master refers to), then masters, then documents. Within a
# stage, prerequisites come first; a map may only require maps of its own or an earlier stage.
Stage = Literal["reference", "units", "groups", "masters", "documents"]
STAGES: tuple[Stage, ...] = ("reference", "units", "groups", "masters", "documents")
ANY = "*"  # in a value map: every other value


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldMap(_Frozen):
    fo: str | None = None  # F&O property
    dv: str | None = None  # Dataverse property, or lookup as navigation.property
    direction: Direction = "both"
    # Value maps, written with F&O enum member names and Dataverse JSON values; "*" matches the rest.
    to_dv: dict[str, Any] = Field(default_factory=dict)
    to_fo: dict[str, Any] = Field(default_factory=dict)
    default: Any = None  # a field with one side: the value that side gets
    # A Dataverse-only field built from F&O properties, e.g. "{dataAreaId}{ItemNumber}".
    template: str | None = None

    def flows(self, towards: Side) -> bool:
        target = self.dv if towards == "dv" else self.fo
        if target is None:
            return False
        if self.fo is None or self.dv is None:
            return self.default is not None or (self.template is not None and towards == "dv")
        return self.direction == "both" or self.direction == f"to_{towards}"

    @property
    def lookup(self) -> tuple[str, str] | None:
        """(navigation, property of its target) for a Dataverse lookup field, else None."""
        if self.dv is None or "." not in self.dv:
            return None
        navigation, target_property = self.dv.split(".", 1)
        return navigation, target_property


class FilterPair(_Frozen):
    fo: str | None = None
    dv: str | None = None


class AlertRule(_Frozen):
    """N errors (of one code, or any) within a window of seconds pause or stop the map."""

    errors: int = Field(gt=0)
    within: float = Field(gt=0)
    action: Literal["Paused", "Stopped"] = "Paused"
    code: str | None = None


class TableMap(_Frozen):
    name: str
    fo: str  # F&O entity set
    dv: str  # Dataverse entity set
    direction: Literal["both", "to_dv"] = "both"
    # Company striping: the F&O company property and the Dataverse company lookup field.
    company: FieldMap | None = None
    key: list[str] = Field(min_length=1)  # the integration key's F&O properties (besides the company)
    filter: FilterPair = FilterPair()
    requires: list[str] = Field(default_factory=list)  # maps that must run first (prerequisites)
    stage: Stage = "masters"  # where an initial sync of every map runs it (STAGES)
    fields: list[FieldMap] = Field(min_length=1)
    # Larger documents go through an asynchronous integration job with this name instead of live sync.
    job: str | None = None
    # Alert rules; none given: the service's default (50 errors within 5 minutes pause the map).
    alerts: list[AlertRule] = Field(default_factory=list)

    @cached_property
    def all_fields(self) -> list[FieldMap]:
        return [self.company, *self.fields] if self.company is not None else list(self.fields)

    def flowing(self, towards: Side) -> list[FieldMap]:
        if self.direction == "to_dv" and towards == "fo":
            return []
        return [field for field in self.all_fields if field.flows(towards)]

    @cached_property
    def key_fields(self) -> list[FieldMap]:
        """The integration key's fields: the company first, then the key properties."""
        by_fo: dict[str, FieldMap] = {}
        for field in self.fields:
            if field.fo is not None and field.dv is not None:
                by_fo.setdefault(field.fo, field)
        return ([self.company] if self.company is not None else []) + [by_fo[name] for name in self.key]

    def entity_set(self, side: Side) -> str:
        return self.fo if side == "fo" else self.dv


@dataclass(frozen=True)
class MapSet:
    """Every map, with the two catalogs they were validated against."""

    maps: dict[str, TableMap]
    fo: Catalog
    dv: Catalog

    def catalog(self, side: Side) -> Catalog:
        return self.fo if side == "fo" else self.dv

    def on(self, side: Side, entity_set: str) -> list[TableMap]:
        """The maps whose `side` is this entity set."""
        return [table_map for table_map in self.maps.values() if table_map.entity_set(side) == entity_set]

    def ordered(self, names: list[str] | None = None) -> list[TableMap]:
        """Maps (all, or `names` and their prerequisites) in the documented execution order: stage by
        stage (STAGES), and within a stage every prerequisite before its dependants."""
        # Within a stage, what more maps depend on goes first (legal entities before currencies), then file order.
        needed = self._dependants
        position = {name: index for index, name in enumerate(self.maps)}
        wanted = sorted(names or self.maps,
                        key=lambda name: (STAGES.index(self.maps[name].stage), -needed[name], position[name]))
        order: list[TableMap] = []

        def visit(name: str) -> None:
            table_map = self.maps[name]
            if table_map in order:
                return
            for required in table_map.requires:
                visit(required)
            order.append(table_map)

        for name in wanted:
            visit(name)
        return order

    @cached_property
    def _dependants(self) -> dict[str, int]:
        """How many maps need each map, directly or through their own prerequisites (once per map set:
        the worker orders the maps on every pass)."""
        counts = dict.fromkeys(self.maps, 0)
        for name in self.maps:
            seen: set[str] = set()
            stack = list(self.maps[name].requires)
            while stack:
                required = stack.pop()
                if required not in seen:
                    seen.add(required)
                    stack.extend(self.maps[required].requires)
            for required in seen:
                counts[required] += 1
        return counts


def other(side: Side) -> Side:
    return "dv" if side == "fo" else "fo"


def load_maps(folder: str | Path, fo: Catalog, dv: Catalog) -> MapSet:
    """Read every map of a folder and check it against both catalogs; CatalogError lists each mistake."""
    problems: list[CatalogProblem] = []
    maps: dict[str, TableMap] = {}
    documents: dict[str, Document] = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        document = load_document(path, problems)
        table_map = validate_document(TableMap, document, problems)
        if table_map is None or document is None:
            continue
        if table_map.name in maps:
            problems.append(document.problem(("name",), f"map {table_map.name!r} is defined twice"))
            continue
        maps[table_map.name] = table_map
        documents[table_map.name] = document
    for name, table_map in maps.items():
        problems.extend(_check_map(table_map, maps, fo, dv, documents[name]))
    if problems:
        raise CatalogError(problems)
    map_set = MapSet(maps, fo, dv)
    _check_cycles(map_set, documents)
    return map_set


def _check_map(
    table_map: TableMap, maps: dict[str, TableMap], fo: Catalog, dv: Catalog, document: Document
) -> list[CatalogProblem]:
    problems: list[CatalogProblem] = []
    fo_entity, dv_entity = fo.entities.get(table_map.fo), dv.entities.get(table_map.dv)
    if fo_entity is None:
        problems.append(document.problem(("fo",), f"{table_map.name}: F&O has no entity set {table_map.fo}"))
    if dv_entity is None:
        problems.append(document.problem(("dv",), f"{table_map.name}: Dataverse has no table {table_map.dv}"))
    if fo_entity is None or dv_entity is None:
        return problems
    fields = [("company",)] if table_map.company is not None else []
    located = [*((location, table_map.company) for location in fields),
               *((("fields", index), field) for index, field in enumerate(table_map.fields))]
    for location, field in located:
        assert field is not None
        problems.extend(_check_field(table_map, field, fo, fo_entity, dv, dv_entity, document, location))
    fo_names = {field.fo for field in table_map.fields}
    for index, name in enumerate(table_map.key):
        if name not in fo_names:
            problems.append(document.problem(("key", index), f"{table_map.name}: key {name} is not a mapped field"))
    if fo_entity.company_specific and table_map.company is None:
        problems.append(document.problem(("fo",), f"{table_map.name}: {table_map.fo} is company-specific: "
                                                  "the map needs 'company' (company striping)"))
    for index, required in enumerate(table_map.requires):
        if required not in maps:
            problems.append(document.problem(("requires", index), f"{table_map.name}: no map named {required!r}"))
        elif STAGES.index(maps[required].stage) > STAGES.index(table_map.stage):
            problems.append(document.problem(("requires", index), (
                f"{table_map.name}: requires {required!r} of the later stage {maps[required].stage!r} "
                f"(this map's stage is {table_map.stage!r}; stages run in the order {', '.join(STAGES)})")))
    for side, catalog, entity in (("fo", fo, fo_entity), ("dv", dv, dv_entity)):
        text = getattr(table_map.filter, side)
        if text:
            try:
                filter_plan(catalog, entity, text)
            except ODataError as error:
                problems.append(document.problem(("filter", side), f"{table_map.name}: filter: {error.message}"))
    return problems


def _check_field(
    table_map: TableMap, field: FieldMap, fo: Catalog, fo_entity: Entity, dv: Catalog, dv_entity: Entity,
    document: Document, location: tuple[str | int, ...],
) -> list[CatalogProblem]:
    problems: list[CatalogProblem] = []
    where = f"{table_map.name}: field {field.fo or ''} ↔ {field.dv or ''}"
    if field.fo is None and field.dv is None:
        return [document.problem(location, f"{where}: name at least one side (fo or dv)")]
    if (field.fo is None or field.dv is None) and field.default is None and field.template is None:
        problems.append(document.problem(location, f"{where}: a one-sided field needs a default or a template"))
    if field.template is not None:
        import string

        for _, name, _, _ in string.Formatter().parse(field.template):
            if name is not None and name not in fo_entity.properties:
                problems.append(document.problem((*location, "template"), f"{where}: {table_map.fo} has no {name}"))
    if field.fo is not None and field.fo not in fo_entity.properties:
        problems.append(document.problem((*location, "fo"), f"{where}: {table_map.fo} has no property {field.fo}"))
    if field.dv is not None:
        lookup = field.lookup
        if lookup is None and field.dv not in dv_entity.properties:
            problems.append(document.problem((*location, "dv"), f"{where}: {table_map.dv} has no column {field.dv}"))
        if lookup is not None:
            navigation = dv_entity.navigation.get(lookup[0])
            if navigation is None or navigation.collection or len(navigation.link) != 1:
                problems.append(document.problem((*location, "dv"),
                                                 f"{where}: {lookup[0]} is not a lookup of {table_map.dv}"))
            elif lookup[1] not in dv.entities[navigation.target].properties:
                problems.append(document.problem((*location, "dv"),
                                                 f"{where}: {navigation.target} has no column {lookup[1]}"))
    for values, side, catalog, entity, name in (
        (field.to_dv, "to_dv", fo, fo_entity, field.fo),
        (field.to_fo, "to_fo", dv, dv_entity, field.dv),
    ):
        if values and (name is None or name not in entity.properties):
            problems.append(document.problem((*location, side), f"{where}: {side} needs a plain property on its side"))
            continue
        for raw in values:
            if raw == ANY or name is None:
                continue
            try:
                source_value(catalog, entity, name, raw)
            except ODataError as error:
                problems.append(document.problem((*location, side, raw), f"{where}: {error.message}"))
    return problems


def source_value(catalog: Catalog, entity: Entity, name: str, raw: str) -> object:
    """A value-map key (always text in YAML) as the stored value of `name`: 'true' → True, 'No' → 0."""
    prop = entity.properties[name]
    if prop.type == "Edm.Boolean":
        return {"true": True, "false": False}.get(str(raw).lower(), raw)
    if prop.type in ("Edm.Int32", "Edm.Int64"):
        return int(raw)
    return parse_value(catalog, prop, raw)


def lookup_navigation(dv: Catalog, table_map: TableMap, field: FieldMap) -> Navigation:
    assert field.lookup is not None
    return dv.entities[table_map.dv].navigation[field.lookup[0]]


def filter_plan(catalog: Catalog, entity: Entity, text: str) -> ast.Expr:
    """Parse and bind a map filter once (any mistake raises the usual 4xx error)."""
    expression = parse_filter(text)
    context = PlanContext(catalog, (), dialect_traits("sqlite"), access=SYSTEM)
    plan_read(context, entity, ast.QueryOptions(filter=expression), OptionTexts(filter=text))
    return expression


def _check_cycles(map_set: MapSet, documents: dict[str, Document]) -> None:
    for name in map_set.maps:
        seen: set[str] = set()
        stack = [name]
        while stack:
            current = stack.pop()
            for required in map_set.maps[current].requires:
                if required == name:
                    raise CatalogError([documents[name].problem(("requires",), f"{name}: prerequisites form a cycle")])
                if required not in seen:
                    seen.add(required)
                    stack.append(required)
