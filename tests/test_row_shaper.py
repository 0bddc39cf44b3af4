"""The generated row shaper (RowShaper._compiled) against the general loop it stands in for.

Rows of every kind of value a driver may hand over (str, int, float, bool, None, bytes, Decimal,
date and time values, ints as text) for every property type of the catalog: the generated function
must give exactly what applying each converter in turn gives, and the ETag what `etag` gives.
"""

from __future__ import annotations

import base64
from decimal import Decimal

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.catalog.load import load_catalog
from gateway.catalog.model import Entity
from gateway.execute import RowShaper
from gateway.plan.query import Layout
from gateway.serialize.values import JsonFormat, etag
from gateway.settings import Settings

CATALOG = load_catalog(Settings.entities)

values = st.one_of(
    st.none(), st.text(max_size=8), st.integers(min_value=-(2**63), max_value=2**63), st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True), st.binary(max_size=6),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.dates().map(lambda day: day.isoformat()), st.datetimes(), st.dates(),
    st.integers(min_value=0, max_value=3).map(str),
)


def _comparable(shaped: dict[str, object]) -> bytes:
    return orjson.dumps(shaped)  # (orjson.Fragment, the exact decimals, compares by its text)


@pytest.mark.parametrize("entity_set", ["SalesOrderLines", "CustomersV3", "SalesOrderHeadersV2", "ReleasedProductsV2"])
@pytest.mark.parametrize("json_format", [JsonFormat(), JsonFormat(ieee754_compatible=True), JsonFormat(metadata="none")])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_generated_shaper_equals_the_general_loop(entity_set: str, json_format: JsonFormat, data: st.DataObject) -> None:
    entity: Entity = CATALOG.entities[entity_set]
    names = tuple(entity.properties)
    layout = Layout(visible=names, read=names, etag_width=2, sort_width=0)
    shaper = RowShaper(entity, layout, CATALOG, json_format, generated=True)
    assert shaper._plain is not None  # the generated path is the one under test
    row = data.draw(st.lists(values, min_size=len(names) + 2, max_size=len(names) + 2))
    try:
        expected = shaper.general(row)
    except (TypeError, ValueError, ArithmeticError, AttributeError) as refused:
        with pytest.raises(type(refused)):
            shaper(row)
        return
    got = shaper(row)
    assert list(got) == list(expected)
    assert _comparable(got) == _comparable(expected)
    if json_format.annotations:
        assert got["@odata.etag"] == etag(row[len(names):])


def test_a_typical_row_is_written_as_before() -> None:
    """Spelled out: what SQLite hands over for a sales line, and what goes on the wire."""
    entity = CATALOG.entities["SalesOrderLines"]
    names = ("dataAreaId", "InventoryLotId", "LineAmount", "OrderedSalesQuantity", "SalesOrderLineStatus")
    shaper = RowShaper(entity, Layout(visible=names, read=names, etag_width=2, sort_width=0), CATALOG, JsonFormat(),
                       generated=True)
    shaped = shaper(("usmf", "LOT-1", 1188.42, 47, 1, 5637144576, 3))
    assert orjson.dumps(shaped) == (
        b'{"@odata.etag":"W/\\"NTYzNzE0NDU3Niwz\\"","dataAreaId":"usmf","InventoryLotId":"LOT-1",'
        b'"LineAmount":1188.42,"OrderedSalesQuantity":47,"SalesOrderLineStatus":"Backorder"}'
    )
    # A server's Decimal keeps its exact digits; a missing version tag is written as 0.
    exact = shaper(("usmf", "LOT-2", Decimal("1.50"), 2.0, None, 7, None))
    assert orjson.dumps(exact["LineAmount"]) == b"1.5" and exact["OrderedSalesQuantity"] == 2
    assert exact["@odata.etag"] == 'W/"' + base64.b64encode(b"7,0").decode() + '"'
    assert exact["SalesOrderLineStatus"] is None
