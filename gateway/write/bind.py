"""`Nav@odata.bind`: set a single-valued navigation (a Dataverse lookup) by referencing the target row.

    {"msdyn_company@odata.bind": "/cdm_companies(cdm_companycode='usmf')"}

The reference is an entity path of the same service (relative, absolute from the service root, or a
full URL), by key or alternate key; it becomes the values of the navigation's link properties (here
`_msdyn_company_value` = that company's Guid). null clears them.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from gateway.catalog.model import Catalog, Entity
from gateway.errors import BadRequest, InvalidValue, NotFound, UnknownProperty, did_you_mean
from gateway.read import _parse_path
from gateway.resource import RowLookup, resolve

BIND = "@odata.bind"
# OData 4.01 JSON lets control information leave out its `odata.` prefix: `Customer@bind` is the same.
BIND_SUFFIXES = (BIND, "@bind")


def bound_values(catalog: Catalog, entity: Entity, body: object, lookup: RowLookup, prefix: str) -> dict[str, object]:
    values: dict[str, object] = {}
    if not isinstance(body, dict):
        return values
    for name, raw in body.items():
        suffix = next((suffix for suffix in BIND_SUFFIXES if name.endswith(suffix)), None)
        if suffix is None:
            continue
        navigation_name = name[: -len(suffix)]
        navigation = entity.navigation.get(navigation_name)
        if navigation is None:
            raise UnknownProperty(f"{entity.entity_type} has no navigation property {navigation_name}."
                                  + did_you_mean(navigation_name, entity.navigation), target=name)
        if navigation.collection:
            raise BadRequest(f"{name}: binding a collection (deep link) is not supported; bind from the other side",
                             target=name)
        if raw is None:
            values.update({mine: None for mine in navigation.link})
            continue
        if not isinstance(raw, str):
            raise InvalidValue(f"{name} must be an entity reference like {navigation.target}(key)", target=name)
        target = resolve(catalog, _parse_path(_service_relative(raw, prefix)), {}, lookup)
        if target.kind != "entity" or target.entity.entity_set != navigation.target:
            raise BadRequest(f"{name} must reference one {navigation.target}, e.g. {navigation.target}(key)",
                             target=name)
        row = lookup(target.entity, target.fixed, tuple(navigation.link.values()))
        if row is None:
            raise NotFound(f"{name}: there is no {target.entity.entity_type} {target.key_text}", target=name)
        values.update(dict(zip(navigation.link, row)))
    return values


def _service_relative(reference: str, prefix: str) -> str:
    path = unquote(urlsplit(reference).path) if "://" in reference else reference
    path = path.split(prefix + "/", 1)[1] if prefix + "/" in path else path
    return path.lstrip("/")
