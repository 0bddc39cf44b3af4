"""FetchXML → AST, checked against the gateway's OData parser reading the equivalent query string."""

from __future__ import annotations

import pytest

from gateway.catalog.model import Catalog
from gateway.fetchxml import FetchRequest, translate
from gateway.options import parse_query
from tests.fetchxml.cases import CASES, CO_LINK, SO_LINK, cond, fetch
from tests.fetchxml.conftest import TODAY, USER


def _translate(xml: str, catalog: Catalog) -> FetchRequest:
    return translate(xml, catalog, today=TODAY, user_id=USER)


@pytest.mark.parametrize(("xml", "entity_set", "odata"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_translation_means_the_odata_query(xml: str, entity_set: str, odata: str, catalog: Catalog) -> None:
    request = _translate(xml, catalog)
    assert request.entity_set == entity_set
    assert request.options == parse_query(odata).options


def test_case_ids_are_unique() -> None:
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("attributes", "page", "page_size"),
    [({}, None, None), ({"top": "7"}, None, None), ({"count": "50", "page": "3"}, 3, 50),
     ({"count": "20"}, 1, 20), ({"page": "2"}, 2, 5000)],
    ids=["none", "top", "count-page", "count", "page"],
)
def test_paging_is_reported(attributes: dict[str, str], page: int | None, page_size: int | None,
                            catalog: Catalog) -> None:
    request = _translate(fetch("account", '<attribute name="name"/>', **attributes), catalog)
    assert (request.page, request.page_size) == (page, page_size)


@pytest.mark.parametrize(
    ("xml", "aliases"),
    [
        (fetch("account", CO_LINK + ' link-type="outer"><attribute name="cdm_name"/></link-entity>'),
         {"co": "msdyn_company"}),
        (fetch("account", SO_LINK + ' link-type="outer"><attribute name="name"/></link-entity>'), {"so": "salesorders"}),
        # A link-entity that only filters is not expanded, so it has nothing to flatten.
        (fetch("account", SO_LINK + "/>"), {}),
        # Without alias= a link-entity is named after its table, numbered like Dataverse does.
        (fetch("account", '<link-entity name="cdm_company" link-type="outer"><attribute name="cdm_name"/>'
                          "</link-entity>"), {"cdm_company1": "msdyn_company"}),
        (fetch("salesorder", '<link-entity name="salesorderdetail" from="salesorderid" to="salesorderid" '
                             'link-type="outer" alias="d"><attribute name="quantity"/><link-entity name="product" '
                             'from="productid" to="productid" link-type="outer" alias="p"><attribute name="name"/>'
                             "</link-entity></link-entity>"),
         {"d": "order_details", "p": "order_details/productid"}),
        (fetch("account", '<attribute name="accountid" aggregate="count" alias="n"/>' + CO_LINK
               + '><attribute name="cdm_name" groupby="true" alias="company"/></link-entity>', aggregate="true"),
         {"co": "msdyn_company"}),
    ],
    ids=["n1", "1n", "filter-only", "default-alias", "nested", "aggregate"],
)
def test_aliases_name_the_expanded_navigation(xml: str, aliases: dict[str, str], catalog: Catalog) -> None:
    assert _translate(xml, catalog).aliases == aliases


def test_same_text_same_request(catalog: Catalog) -> None:
    """No clock, no counters across calls: a translation is a pure function of its inputs."""
    xml = fetch("account", "<filter>" + cond("createdon", "last-x-days", "3") + "</filter>" + SO_LINK + "/>")
    assert _translate(xml, catalog) == _translate(xml, catalog)


def test_nesting_at_the_limit_is_accepted(catalog: Catalog) -> None:
    inner = cond("name", "eq", "a")
    for _ in range(32):
        inner = f"<filter>{inner}</filter>"
    request = _translate(fetch("account", inner), catalog)
    assert request.options == parse_query("$filter=name eq 'a'").options
