"""A whole <fetch> → `FetchRequest`: the entity set and the OData query options that mean the same.

Mapping (FetchXML → OData):
- <attribute> → $select; <all-attributes/> or no attribute at all → every column (no $select);
- <filter>/<condition> → $filter (conditions.py); <order> → $orderby;
- <link-entity link-type="outer"> → $expand of the navigation property it follows, its attributes
  as the nested $select and its filter as the nested $filter; link-type="inner" (the default) →
  the same $expand plus a $filter that the related row exists (`Nav/key ne null` for n:1,
  `Nav/any(alias: ...)` for 1:n); any / not any / exists / in → that $filter only;
- <condition entityname="alias"> → a path through the link-entities' navigation properties;
- top → $top; count/page → $top/$skip of that page; returntotalrecordcount → $count;
- aggregate="true" → $apply (aggregate.py).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from gateway.catalog.model import Catalog, Entity, Navigation
from gateway.errors import BadRequest, ODataError, did_you_mean
from gateway.fetchxml import aggregate, conditions, names
from gateway.fetchxml.aggregate import steps
from gateway.fetchxml.conditions import Env
from gateway.fetchxml.parse import parse_fetch
from grammar import ast

DEFAULT_PAGE_SIZE = 5000  # Dataverse's page size when page= comes without count=
MAX_PAGE_SIZE = 5000  # and the largest count= it accepts
_NUMBER = re.compile(r"[0-9]{1,9}")
_LINK_TYPES = ("inner", "outer", "any", "not any", "exists", "in")
_UNSUPPORTED_LINK_TYPES = ("all", "not all", "matchfirstrowusingcrossapply")
_RESTRICTING = frozenset({"inner", "any", "not any", "exists", "in"})  # link types that filter the parent
_NULL = ast.Literal(None, "null")
_Make = Callable[[tuple[str, ...]], ast.Expr]  # builds a condition at the end of a path


@dataclass(frozen=True)
class FetchRequest:
    entity_set: str  # the entity set of the root <entity name=...>
    options: ast.QueryOptions  # select/filter/orderby/top/skip/count/expand/apply
    page: int | None  # FetchXML page= (1-based) when paging was asked
    page_size: int | None  # FetchXML count= (rows per page)
    aliases: dict[str, str]  # link-entity alias -> navigation property (path) used in $expand


def translate(xml_text: str, catalog: Catalog, *, today: dt.date, user_id: str | None = None) -> FetchRequest:
    """Translate FetchXML; every mistake in it is a BadRequest (400) that says what and where."""
    try:
        return _Translator(catalog, Env(catalog, today, user_id)).fetch(parse_fetch(xml_text))
    except ODataError:
        raise
    except RecursionError:
        raise BadRequest("FetchXML is nested too deeply") from None
    except Exception as error:  # a bug here: still the OData error shape (500), never a bare exception
        raise ODataError(f"FetchXML could not be translated ({type(error).__name__})") from error


@dataclass(frozen=True, eq=False)  # compared by identity: one per <link-entity> element
class _Link:
    element: Element
    nav: Navigation
    entity: Entity
    alias: str
    link_type: str
    parents: tuple[_Link, ...]  # the enclosing link-entities, outermost first

    @property
    def path(self) -> tuple[_Link, ...]:
        return (*self.parents, self)


@dataclass(frozen=True)
class _Scope:
    """Where a condition is evaluated: an entity, the link-entities leading to it, and the path
    prefix its member paths start with ('' steps for the root, a navigation or a lambda variable)."""

    entity: Entity
    chain: tuple[_Link, ...]
    prefix: tuple[str, ...]


class _Translator:
    def __init__(self, catalog: Catalog, env: Env) -> None:
        self.catalog = catalog
        self.env = env
        self.links: dict[int, _Link] = {}  # id(<link-entity> element) → its link
        self.by_alias: dict[str, _Link] = {}
        self.unnamed: Counter[str] = Counter()
        self.aliases: dict[str, str] = {}
        # Root conditions on a 1:n link-entity's columns (<condition entityname=...> in the root's and-filters):
        # after SQL's LEFT JOIN they filter the joined rows, so they also filter that link's expanded rows.
        self.joined: dict[str, list[Element]] = {}

    # ------------------------------------------------------------------ <fetch>
    def fetch(self, fetch: Element) -> FetchRequest:
        entities = [child for child in fetch if child.tag == "entity"]
        if len(entities) != 1:
            raise BadRequest(f"<fetch> needs exactly one <entity>, not {len(entities)}")
        element = entities[0]
        entity = names.entity_by_logical_name(self.catalog, names.required(element, "name"))
        self._collect(element, entity, ())
        self._collect_joined(element, anded=True)
        top, page, page_size = _paging(fetch)
        skip = (page - 1) * page_size if page is not None and page_size is not None and page > 1 else None
        count = True if names.flag(fetch, "returntotalrecordcount") else None
        condition = self._predicate(element, _Scope(entity, (), ()))
        if names.flag(fetch, "aggregate"):
            attributes, order_elements = self._aggregate_sources(element, entity)
            apply, orderby = aggregate.build_apply(entity, attributes, order_elements, condition)
            options = ast.QueryOptions(apply=apply, orderby=orderby, top=top, skip=skip, count=count)
        else:
            orders = self._orders(element, _Scope(entity, (), ()))
            expand = self._expands(element, orders, (), "")  # n:1 link-entities add their orders
            select, _ = self._select(element, entity)
            options = ast.QueryOptions(filter=condition, select=select, expand=expand,
                                       orderby=tuple(orders) or None, top=top, skip=skip, count=count)
        return FetchRequest(entity.entity_set, options, page, page_size, dict(self.aliases))

    # ------------------------------------------------------------------ link-entities
    def _collect(self, element: Element, entity: Entity, parents: tuple[_Link, ...]) -> None:
        """Resolve every <link-entity> first, so conditions may name one declared after them."""
        for child in element:
            if child.tag == "filter":
                self._collect(child, entity, parents)
            elif child.tag == "link-entity":
                nav, target = names.navigation(self.catalog, entity, child)
                self.unnamed[target.entity_type] += 1
                alias = names.alias(child, f"{target.entity_type}{self.unnamed[target.entity_type]}")
                if alias in self.by_alias:
                    raise BadRequest(f"two link-entities have the alias '{alias}'", target=alias)
                link = _Link(child, nav, target, alias, _link_type(child, element.tag), parents)
                self.links[id(child)] = link
                self.by_alias[alias] = link
                self._collect(child, target, link.path)

    def _collect_joined(self, element: Element, anded: bool) -> None:
        """The root filters' conditions on the columns of a 1:n link-entity of the root: kept in
        `joined` when only and-filters enclose them; under an or-filter they would keep some joined
        rows and drop others of one parent, which $expand cannot say: refused."""
        for child in element:
            if child.tag == "filter":
                self._collect_joined(child, anded and child.get("type", "and") == "and")
            elif child.tag == "condition" and child.get("entityname") in self.by_alias:
                link = self.by_alias[child.attrib["entityname"]]
                if not link.nav.collection or link.parents or link.link_type not in ("inner", "outer"):
                    continue
                if not anded:
                    raise BadRequest(f"a condition on the 1:n link-entity '{link.alias}' inside an or-filter is not "
                                     "supported: move it into the link-entity's own <filter>", target=link.alias)
                self.joined.setdefault(link.alias, []).append(child)

    def _existence(self, link: _Link, scope: _Scope) -> ast.Expr:
        """The parent-side condition of a restricting link: a related row exists (and matches)."""
        path = (*scope.prefix, link.nav.name)
        inner_chain = (*scope.chain, link)
        if link.nav.collection:
            predicate = self._predicate(link.element, _Scope(link.entity, inner_chain, (link.alias,)))
            lambda_step = ast.LambdaStep("any", link.alias if predicate is not None else None, predicate)
            expr: ast.Expr = ast.MemberPath((*steps(path).steps, lambda_step))
        else:
            expr = ast.BinaryOp("ne", steps((*path, link.entity.key[0])), _NULL)
            predicate = self._predicate(link.element, _Scope(link.entity, inner_chain, path))
            if predicate is not None:
                expr = ast.BinaryOp("and", expr, predicate)
        return ast.UnaryOp("not", expr) if link.link_type == "not any" else expr

    def _through(self, links: tuple[_Link, ...], prefix: tuple[str, ...], make: _Make) -> ast.Expr:
        """`make(path)` at the end of `links`; a collection on the way becomes any(alias: ...)."""
        path = list(prefix)
        for index, link in enumerate(links):
            path.append(link.nav.name)
            if link.nav.collection:
                inner = self._through(links[index + 1 :], (link.alias,), make)
                return ast.MemberPath((*steps(tuple(path)).steps, ast.LambdaStep("any", link.alias, inner)))
        return make(tuple(path))

    def _linked(self, element: Element, scope: _Scope) -> tuple[tuple[_Link, ...], Entity]:
        """The link-entities from `scope` to the one `entityname` names (none without entityname)."""
        alias = element.get("entityname")
        if alias is None:
            return (), scope.entity
        link = self.by_alias.get(alias)
        if link is None:
            raise BadRequest(f"entityname=\"{alias}\" names no link-entity of this query."
                             + did_you_mean(alias, sorted(self.by_alias)), target=alias)
        depth = len(scope.chain)
        if link.path[:depth] != scope.chain:
            raise BadRequest(f"entityname=\"{alias}\" must name a link-entity inside the one whose filter uses it",
                             target=alias)
        return link.path[depth:], link.entity

    # ------------------------------------------------------------------ filters
    def _predicate(self, element: Element, scope: _Scope) -> ast.Expr | None:
        """An entity's or link-entity's own condition: its filters and its restricting links."""
        parts: list[ast.Expr] = []
        for child in element:
            if child.tag == "filter":
                part = self._filter(child, scope)
                if part is not None:
                    parts.append(part)
            elif child.tag == "link-entity":
                link = self.links[id(child)]
                if link.link_type in _RESTRICTING:
                    parts.append(self._existence(link, scope))
        return _combine("and", parts)

    def _filter(self, element: Element, scope: _Scope) -> ast.Expr | None:
        kind = element.get("type", "and")
        if kind not in ("and", "or"):
            raise BadRequest(f"<filter type=\"{kind[:40]}\"> must be and or or", target="type")
        parts: list[ast.Expr] = []
        for child in element:
            if child.tag == "condition":
                parts.append(self._condition(child, scope))
            elif child.tag == "filter":
                part = self._filter(child, scope)
                if part is not None:
                    parts.append(part)
            else:  # a link-entity inside a filter: a condition on related rows, never columns
                parts.append(self._existence(self.links[id(child)], scope))
        return _combine(kind, parts)

    def _condition(self, element: Element, scope: _Scope) -> ast.Expr:
        operator = names.required(element, "operator")
        conditions.check_operator(operator)
        links, entity = self._linked(element, scope)
        prop = names.column(entity, names.required(element, "attribute"))
        valueof = element.get("valueof")
        other = names.column(entity, valueof) if valueof is not None else None
        values = [element.attrib["value"]] if "value" in element.attrib else []
        values += [child.text or "" for child in element if child.tag == "value"]

        def make(path: tuple[str, ...]) -> ast.Expr:
            subject = steps((*path, prop.name))
            compared = steps((*path, other.name)) if other is not None else None
            return conditions.condition_expr(operator, subject, prop, values, compared, self.env)

        absent = self._no_related_rows(links, prop.name, operator, scope)
        if absent is not None:
            return absent
        return self._through(links, scope.prefix, make)

    def _no_related_rows(self, links: tuple[_Link, ...], column: str, operator: str, scope: _Scope) -> ast.Expr | None:
        """FetchXML's idiom for "rows without related rows": an outer 1:n link-entity and a condition
        that one of its never-null columns is null, which after SQL's LEFT JOIN holds exactly for the
        rows that have none (and not-null for those that have some)."""
        if len(links) != 1 or operator not in ("null", "not-null"):
            return None
        link = links[0]
        prop = link.entity.properties.get(column)
        if link.link_type != "outer" or not link.nav.collection or prop is None or prop.nullable:
            return None  # (a nullable column is also null in related rows: not this idiom)
        exists = ast.MemberPath((*steps((*scope.prefix, link.nav.name)).steps, ast.LambdaStep("any", None, None)))
        return ast.UnaryOp("not", exists) if operator == "null" else exists

    # ------------------------------------------------------------------ columns, order, expand
    def _select(self, element: Element, entity: Entity) -> tuple[tuple[ast.SelectItem, ...] | None, bool]:
        """($select items or None for every column, whether <attribute> elements were given)."""
        chosen: list[str] = []
        for child in element:
            if child.tag != "attribute":
                continue
            for name in ("aggregate", "groupby", "dategrouping"):
                if name in child.attrib:
                    raise BadRequest(f"{name}= on <attribute> needs <fetch aggregate=\"true\">", target=name)
            if "alias" in child.attrib:
                raise BadRequest("alias= on <attribute> is supported in aggregate queries only; the column keeps "
                                 "its own name", target="alias")
            prop = names.column(entity, names.required(child, "name"))
            if prop.name not in chosen:
                chosen.append(prop.name)
        every = any(child.tag == "all-attributes" for child in element)
        if every or not chosen:
            return None, bool(chosen) or every
        return tuple(ast.SelectItem((name,)) for name in chosen), True

    def _orders(self, element: Element, scope: _Scope) -> list[ast.OrderItem]:
        items = []
        for child in element:
            if child.tag != "order":
                continue
            if "alias" in child.attrib:
                raise BadRequest("<order alias=...> names an aggregate column: it needs <fetch aggregate=\"true\">",
                                 target="alias")
            links, entity = self._linked(child, scope)
            if any(link.nav.collection for link in links):
                raise BadRequest("<order entityname=...> cannot sort by a column of a 1:n link-entity")
            prop = names.column(entity, names.required(child, "attribute"))
            path = (*scope.prefix, *(link.nav.name for link in links), prop.name)
            items.append(ast.OrderItem(steps(path), names.flag(child, "descending")))
        return items

    def _expands(
        self, element: Element, orders: list[ast.OrderItem], prefix: tuple[str, ...], base: str
    ) -> tuple[ast.ExpandItem, ...] | None:
        """The $expand items of an element's inner and outer link-entities; orders of n:1 links go
        to `orders` (the nearest collection's $orderby) under `prefix`."""
        items = []
        for child in element:
            if child.tag == "link-entity":
                link = self.links[id(child)]
                if link.link_type in ("inner", "outer"):
                    item = self._expand(link, orders, prefix, base)
                    if item is not None:
                        items.append(item)
        return tuple(items) or None

    def _expand(
        self, link: _Link, orders: list[ast.OrderItem], prefix: tuple[str, ...], base: str
    ) -> ast.ExpandItem | None:
        path_name = f"{base}/{link.nav.name}" if base else link.nav.name
        collection = link.nav.collection
        own_orders: list[ast.OrderItem] = [] if collection else orders
        own_prefix = () if collection else (*prefix, link.nav.name)
        own_orders.extend(self._orders(link.element, _Scope(link.entity, link.path, own_prefix)))
        select, asked = self._select(link.element, link.entity)
        nested = self._expands(link.element, own_orders, own_prefix, path_name)
        if not asked and nested is None:
            return None  # no columns of it are wanted: it only filters (or does nothing, when outer)
        if not asked:  # columns of a deeper link only: keep this level to a minimum
            select = tuple(ast.SelectItem((key,)) for key in link.entity.key)
        condition = self._predicate(link.element, _Scope(link.entity, link.path, ()))
        for joined in self.joined.get(link.alias, []):  # the root's conditions on these joined rows
            own = copy.copy(joined)
            own.attrib = {name: value for name, value in joined.attrib.items() if name != "entityname"}
            part = self._condition(own, _Scope(link.entity, link.path, ()))
            condition = part if condition is None else ast.BinaryOp("and", condition, part)
        options = ast.QueryOptions(
            filter=condition,
            select=select,
            expand=nested,
            orderby=(tuple(own_orders) or None) if collection else None,
        )
        self.aliases[link.alias] = path_name
        return ast.ExpandItem((link.nav.name,), options=None if options == ast.QueryOptions() else options)

    # ------------------------------------------------------------------ aggregate queries
    def _aggregate_sources(
        self, element: Element, entity: Entity
    ) -> tuple[list[aggregate.AttributeSource], list[Element]]:
        """Every <attribute> and <order> of the root and its (n:1) inner/outer link-entities."""
        attributes: list[aggregate.AttributeSource] = []
        orders: list[Element] = []

        def visit(node: Element, node_entity: Entity, prefix: tuple[str, ...]) -> None:
            for child in node:
                if child.tag == "attribute":
                    attributes.append((child, node_entity, prefix))
                elif child.tag == "order":
                    orders.append(child)
                elif child.tag == "all-attributes":
                    raise BadRequest("<all-attributes/> cannot be used in an aggregate query")
                elif child.tag == "link-entity":
                    link = self.links[id(child)]
                    if link.link_type not in ("inner", "outer"):
                        continue
                    wants_columns = any(c.tag in ("attribute", "link-entity") for c in child)
                    if link.nav.collection and any(c.tag == "attribute" for c in child.iter()):
                        raise BadRequest(f"aggregate query: columns of the 1:n link-entity '{link.alias}' cannot be "
                                         "grouped or aggregated (query the related table instead)")
                    if link.link_type == "outer" and wants_columns and any(c.tag == "filter" for c in child):
                        raise BadRequest(f"aggregate query: the outer link-entity '{link.alias}' cannot have a "
                                         "<filter> (use link-type=\"inner\")")
                    if not link.nav.collection:
                        self.aliases[link.alias] = "/".join((*prefix, link.nav.name))
                        visit(child, link.entity, (*prefix, link.nav.name))

        visit(element, entity, ())
        return attributes, orders


def _combine(kind: str, parts: list[ast.Expr]) -> ast.Expr | None:
    """Left-nested and/or, as the OData parser nests `a and b and c`."""
    if not parts:
        return None
    result = parts[0]
    for part in parts[1:]:
        result = ast.BinaryOp(kind, result, part)
    return result


def _link_type(element: Element, parent_tag: str) -> str:
    kind = element.get("link-type", "inner")
    if kind in _UNSUPPORTED_LINK_TYPES:
        raise BadRequest(f"link-type=\"{kind}\" is not supported by this service", target="link-type")
    if kind not in _LINK_TYPES:
        raise BadRequest(f"unknown link-type=\"{kind[:40]}\" (supported: {', '.join(_LINK_TYPES)})."
                         + did_you_mean(kind, _LINK_TYPES), target="link-type")
    if parent_tag == "filter" and kind == "outer":
        raise BadRequest("a <link-entity> inside a <filter> tests related rows: link-type=\"outer\" means nothing "
                         "there (use any, not any, exists or in)", target="link-type")
    return kind


def _paging(fetch: Element) -> tuple[int | None, int | None, int | None]:
    """($top, page, page size) from top=, page= and count=."""
    top = _number(fetch, "top")
    page = _number(fetch, "page")
    size = _number(fetch, "count")
    if top is not None and (page is not None or size is not None):
        raise BadRequest("<fetch> cannot have top= together with count= or page= (use count and page to page)")
    if page is None and size is None:
        return top, None, None
    if page is not None and page < 1:
        raise BadRequest("page= counts from 1", target="page")
    if size is not None and not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequest(f"count= (rows per page) must be from 1 to {MAX_PAGE_SIZE}", target="count")
    size = DEFAULT_PAGE_SIZE if size is None else size
    return size, page or 1, size


def _number(element: Element, name: str) -> int | None:
    value = element.get(name)
    if value is None:
        return None
    if not _NUMBER.fullmatch(value.strip()):
        raise BadRequest(f"{name}=\"{value[:40]}\" on <fetch> must be a whole number", target=name)
    return int(value)
