"""Key predicates: (name=value, ...) or a single value → typed (property, value) pairs of an entity."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.catalog.model import Catalog, Entity
from gateway.errors import InvalidKey, did_you_mean
from gateway.plan.types import comparable
from grammar import ast

Fixed = tuple[tuple[str, object], ...]


def key_values(catalog: Catalog, entity: Entity, pairs: tuple[ast.KeyValue, ...], aliases: dict[str, Any]) -> Fixed:
    names = entity.key
    if len(pairs) == 1 and pairs[0].name is None:
        if len(names) != 1:
            raise InvalidKey(
                f"{entity.entity_set} has a composite key: name every part, "
                f"e.g. {entity.entity_set}({','.join(f'{name}=...' for name in names)})"
            )
        pairs = (ast.KeyValue(names[0], pairs[0].value),)
    given: dict[str, object] = {}
    named = {pair.name for pair in pairs}
    for alternate in entity.alternate_keys:  # Dataverse: accounts(_msdyn_company_value=...,accountnumber='X')
        if named == set(alternate) and named != set(names):
            names = alternate
            break
    for pair in pairs:
        if pair.name is None:
            raise InvalidKey("a composite key needs name=value for every part")
        if pair.name not in names:
            raise InvalidKey(
                f"{pair.name} is not a key property of {entity.entity_set} (key: {', '.join(names)})."
                + did_you_mean(pair.name, names),
                target=pair.name,
            )
        if pair.name in given:
            raise InvalidKey(f"key property {pair.name} is given twice", target=pair.name)
        given[pair.name] = _key_value(catalog, entity, pair.name, pair.value, aliases)
    missing = [name for name in names if name not in given]
    if missing:
        raise InvalidKey(f"the key of {entity.entity_set} is missing {', '.join(missing)}", target=missing[0])
    return tuple((name, given[name]) for name in names)


def _key_value(catalog: Catalog, entity: Entity, name: str, node: Any, aliases: dict[str, Any]) -> object:
    if isinstance(node, ast.Alias):
        if node.name not in aliases:
            raise InvalidKey(f"parameter alias @{node.name} has no value", target=name)
        node = aliases[node.name]
    prop_type = entity.properties[name].type
    if isinstance(node, ast.EnumLiteral) and catalog.is_enum(prop_type):
        members = {member: value for value, member in catalog.service.enums[prop_type].items()}
        if len(node.members) == 1 and node.members[0] in members:
            return members[node.members[0]]
    if isinstance(node, ast.Literal) and node.type != "null":
        if catalog.is_enum(prop_type) and node.type == "Edm.String":
            members = {member: value for value, member in catalog.service.enums[prop_type].items()}
            if node.value in members:
                return members[str(node.value)]
        elif comparable(prop_type, node.type):
            if prop_type == "Edm.Guid":
                return str(node.value).lower()
            if isinstance(node.value, dt.datetime) and node.value.tzinfo is not None:
                return node.value.astimezone(dt.UTC).replace(tzinfo=None)
            return node.value
    raise InvalidKey(f"key property {name} needs a value of type {prop_type}", target=name)
