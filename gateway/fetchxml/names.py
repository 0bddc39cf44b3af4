"""FetchXML names → catalog names: tables by logical name, columns (lookups included), link-entities.

FetchXML names a table by its logical name (`account`, the catalog's entity_type) and a lookup column
by the lookup's own name (`msdyn_company`), where the Web API, and so the catalog, has the Guid
property `_msdyn_company_value` next to the navigation property `msdyn_company`.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from gateway.catalog.model import Catalog, Entity, Navigation, Property
from gateway.errors import BadRequest, UnknownEntitySet, UnknownProperty, did_you_mean

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def required(element: Element, name: str) -> str:
    value = element.get(name)
    if value is None or not value.strip():
        raise BadRequest(f"<{element.tag}> needs a {name}=\"...\" attribute")
    return value.strip()


def entity_by_logical_name(catalog: Catalog, name: str) -> Entity:
    entity = catalog.entity_types.get(name)
    if entity is not None:
        return entity
    by_set = catalog.entities.get(name)
    hint = (f" FetchXML names a table by its logical name: '{by_set.entity_type}', not the entity set '{name}'."
            if by_set is not None else did_you_mean(name, sorted(catalog.entity_types)))
    raise UnknownEntitySet(f"unknown table '{name}'." + hint, target=name)


def column(entity: Entity, name: str) -> Property:
    """The property a FetchXML attribute name stands for (a lookup by its `_name_value` property)."""
    prop = entity.properties.get(name) or entity.properties.get(f"_{name}_value")
    if prop is not None:
        return prop
    raise UnknownProperty(
        f"{entity.entity_type} has no attribute '{name}'." + did_you_mean(name, logical_names(entity)),
        target=name,
    )


def logical_names(entity: Entity) -> list[str]:
    """Column names as FetchXML writes them: lookups without their `_..._value` wrapping."""
    names = []
    for name in entity.properties:
        lookup = re.fullmatch(r"_(.+)_value", name)
        names.append(lookup.group(1) if lookup else name)
    return names


def navigation(catalog: Catalog, parent: Entity, element: Element) -> tuple[Navigation, Entity]:
    """The navigation property of `parent` that a <link-entity name from to> follows, and its target.

    `to` is the parent's column and `from` the linked table's: account → salesorder is
    from="customerid" to="accountid" (a 1:n collection), salesorder → account is from="accountid"
    to="customerid" (n:1). Without from/to the one relationship between the two tables is taken.
    """
    target = entity_by_logical_name(catalog, required(element, "name"))
    candidates = [nav for nav in parent.navigation.values() if nav.target == target.entity_set]
    to, from_ = element.get("to"), element.get("from")
    if (to is None) != (from_ is None):
        raise BadRequest(f"<link-entity name=\"{target.entity_type}\"> needs both from and to, or neither")
    if to is not None and from_ is not None:
        link = {column(parent, to).name: column(target, from_).name}
        company = catalog.service.company_property
        # Between company-specific tables (F&O's virtual tables) a relation also pairs the company
        # columns; FetchXML names one column pair, so the company pair is implied.
        matches = [nav for nav in candidates if nav.link == link or
                   (company in nav.link and nav.link[company] == company and len(nav.link) == 2
                    and {name: other for name, other in nav.link.items() if name != company} == link)]
        described = f"from=\"{from_}\" to=\"{to}\""
    else:
        matches = candidates
        described = "(no from/to given)"
    if len(matches) == 1:
        return matches[0], target
    if not matches:
        known = ", ".join(f"{nav.name} (from=\"{_logical(theirs)}\" to=\"{_logical(mine)}\")"
                          for nav in candidates for mine, theirs in [_described_pair(nav, catalog)])
        raise BadRequest(
            f"{parent.entity_type} has no relationship to {target.entity_type} {described}"
            + (f"; its relationships to {target.entity_type}: {known}" if known else ""),
            target=target.entity_type,
        )
    raise BadRequest(f"{parent.entity_type} has several relationships to {target.entity_type}: give from and to",
                     target=target.entity_type)


def _described_pair(nav: Navigation, catalog: Catalog) -> tuple[str, str]:
    """The column pair a link-entity names for `nav` (not the implied company pair)."""
    company = catalog.service.company_property
    pairs = [(mine, theirs) for mine, theirs in nav.link.items() if mine != company] or list(nav.link.items())
    return pairs[0]


def _logical(name: str) -> str:
    lookup = re.fullmatch(r"_(.+)_value", name)
    return lookup.group(1) if lookup else name


def alias(element: Element, default: str) -> str:
    """A link-entity's or attribute's alias: it becomes a lambda variable and a JSON name, so only
    identifier characters are allowed."""
    value = element.get("alias")
    if value is None:
        return default
    if not _IDENTIFIER.fullmatch(value):
        raise BadRequest(f"alias '{value[:40]}' on <{element.tag}> must be letters, digits and '_' "
                         "(not starting with a digit)", target="alias")
    return value


def flag(element: Element, name: str) -> bool:
    """A FetchXML boolean attribute ('true'/'false', '1'/'0'); absent is false."""
    value = element.get(name)
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise BadRequest(f"{name}=\"{value[:40]}\" on <{element.tag}> must be true or false", target=name)
