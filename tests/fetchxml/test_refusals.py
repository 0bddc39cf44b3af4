"""Hostile and mistaken FetchXML: every one a BadRequest (400) that says what is wrong, never another error."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.catalog.model import Catalog
from gateway.errors import BadRequest, ODataError
from gateway.fetchxml import translate
from tests.fetchxml.cases import CASES, CO_LINK, SO_LINK, cond, fetch, where
from tests.fetchxml.conftest import TODAY, USER

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + ']><fetch><entity name="account"><filter><condition attribute="name" operator="eq" value="&lol9;"/>'
    "</filter></entity></fetch>"
)
XXE = ('<?xml version="1.0"?><!DOCTYPE fetch [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       '<fetch><entity name="account"><filter><condition attribute="name" operator="eq" value="&xxe;"/></filter>'
       "</entity></fetch>")
EXTERNAL_DTD = '<!DOCTYPE fetch SYSTEM "http://example.invalid/fetch.dtd"><fetch><entity name="account"/></fetch>'
PARAMETER_ENTITY = ('<!DOCTYPE fetch [<!ENTITY % remote SYSTEM "http://example.invalid/x.dtd"> %remote;]>'
                    '<fetch><entity name="account"/></fetch>')
DEEP_FILTERS = fetch("account", "<filter>" * 10_000 + "</filter>" * 10_000)
DEEP_LINKS = fetch("account", '<link-entity name="account">' * 10_000 + "</link-entity>" * 10_000)
DEEP_UNKNOWN = "<fetch>" + "<x>" * 10_000 + "</x>" * 10_000 + "</fetch>"
WIDE = fetch("account", "<filter>" + cond("name", "in", None, *["x" * 20] * 60_000) + "</filter>")
AGG = {"aggregate": "true"}

# (id, FetchXML, words the message must hold)
REFUSALS: list[tuple[str, str, str]] = [
    # ---- the XML itself
    ("billion-laughs", BILLION_LAUGHS, "DOCTYPE"),
    ("xxe-external-entity", XXE, "DOCTYPE"),
    ("external-dtd", EXTERNAL_DTD, "DOCTYPE"),
    ("parameter-entity", PARAMETER_ENTITY, "DOCTYPE"),
    ("plain-doctype", '<!DOCTYPE fetch><fetch><entity name="account"/></fetch>', "DOCTYPE"),
    ("deep-filters", DEEP_FILTERS, "more than 32 levels"),
    ("deep-link-entities", DEEP_LINKS, "more than 32 levels"),
    ("deep-unknown-elements", DEEP_UNKNOWN, "levels deep"),
    ("too-long", WIDE, "longer than"),
    ("nesting-one-past-limit", fetch("account", "<filter>" * 33 + "</filter>" * 33), "more than 32 levels"),
    ("mismatched-tag", '<fetch><entity name="account"></fetch>', "mismatched tag at line 1, column 33"),
    ("unclosed", '<fetch>\n  <entity name="account">', "line 2"),
    ("not-xml", "SELECT * FROM account", "malformed FetchXML"),
    ("empty", "", "empty"),
    ("blank", "  \n ", "empty"),
    ("junk-after-root", "<fetch/><fetch/>", "junk after document element"),
    ("undefined-entity", '<fetch><entity name="&nope;"/></fetch>', "malformed FetchXML"),
    ("bad-character", '<fetch><entity name="a\x01"/></fetch>', "malformed FetchXML"),
    ("lone-surrogate", '<fetch><entity name="\ud800"/></fetch>', "malformed FetchXML"),
    ("other-encoding-declared", '<?xml version="1.0" encoding="utf-16"?><fetch/>', "FetchXML"),
    ("not-fetch-root", '<query><entity name="account"/></query>', "must start with <fetch>"),
    ("namespaced-root", '<fetch xmlns="urn:x"><entity name="account"/></fetch>', "must start with <fetch>"),
    ("text-in-element", '<fetch><entity name="account">name</entity></fetch>', "unexpected text 'name'"),
    ("text-after-element", '<fetch><entity name="account"><all-attributes/>x</entity></fetch>', "unexpected text 'x'"),
    # ---- elements and attributes
    ("unknown-element", fetch("account", '<atribute name="name"/>'), "Did you mean 'attribute'?"),
    ("misplaced-element", fetch("account", "<condition/>"), "<condition>: not allowed inside <entity>"),
    ("unknown-attribute", fetch("account", '<attribute nme="name"/>'), "unknown attribute 'nme' on <attribute>"),
    ("unknown-attribute-hint", fetch("account", '<attribute name="name" alais="x"/>'), "Did you mean 'alias'?"),
    ("unknown-fetch-attribute", '<fetch topp="5"><entity name="account"/></fetch>', "Did you mean 'top'?"),
    ("no-entity", "<fetch/>", "exactly one <entity>"),
    ("two-entities", '<fetch><entity name="account"/><entity name="account"/></fetch>', "exactly one <entity>"),
    ("entity-without-name", "<fetch><entity/></fetch>", "needs a name="),
    ("unknown-table", fetch("acount", ""), "unknown table 'acount'. Did you mean 'account'?"),
    ("entity-set-name", fetch("accounts", ""), "logical name: 'account'"),
    ("unknown-column", fetch("account", '<attribute name="accountnumbr"/>'), "Did you mean 'accountnumber'?"),
    ("unknown-lookup", where("account", cond("msdyn_compnay", "eq", USER)), "Did you mean 'msdyn_company'?"),
    ("column-case", fetch("account", '<attribute name="Name"/>'), "Did you mean 'name'?"),
    ("attribute-alias", fetch("account", '<attribute name="name" alias="n"/>'), "aggregate queries only"),
    ("aggregate-without-fetch-flag", fetch("account", '<attribute name="name" aggregate="count" alias="n"/>'),
     "aggregate=\"true\""),
    # ---- operators and values
    ("unknown-operator", where("account", cond("name", "equals", "x")), "unknown condition operator 'equals'"),
    ("unknown-operator-hint", where("account", cond("name", "eqq", "x")), "Did you mean 'eq'?"),
    ("unsupported-operator", where("account", cond("createdon", "in-fiscal-year", "2024")), "not supported"),
    ("clock-operator", where("account", cond("createdon", "last-x-hours", "2")), "not supported"),
    ("operator-missing", fetch("account", '<filter><condition attribute="name" value="x"/></filter>'),
     "needs a operator="),
    ("attribute-missing", fetch("account", '<filter><condition operator="eq" value="x"/></filter>'),
     "needs a attribute="),
    ("int-not-a-number", where("account", cond("statecode", "eq", "abc")), "'abc' is not a value of statecode"),
    ("int-fraction", where("account", cond("statecode", "eq", "1.5")), "not a value of statecode"),
    ("int-out-of-range", where("account", cond("statecode", "eq", "99999999999")), "Edm.Int32"),
    ("decimal-not-a-number", where("account", cond("creditlimit", "gt", "lots")), "not a value of creditlimit"),
    ("decimal-nan", where("account", cond("creditlimit", "gt", "NaN")), "not a value of creditlimit"),
    ("decimal-infinity", where("account", cond("creditlimit", "gt", "Infinity")), "not a value of creditlimit"),
    ("boolean-yes", where("account", cond("creditonhold", "eq", "yes")), "1, 0, true or false"),
    ("guid-malformed", where("account", cond("accountid", "eq", "not-a-guid")), "not a value of accountid"),
    ("guid-unbraced-short", where("account", cond("accountid", "eq", "{1234}")), "not a value of accountid"),
    ("date-word", where("salesorder", cond("requestdeliveryby", "eq", "yesterday")), "yyyy-mm-dd"),
    ("datetime-month-13", where("account", cond("createdon", "gt", "2024-13-01")), "not a value of createdon"),
    ("in-list-bad-item", where("account", cond("statecode", "in", None, "1", "two")), "'two' is not a value"),
    ("empty-in-list", where("account", cond("name", "in")), "at least one <value>"),
    ("empty-not-in-list", where("account", cond("name", "not-in")), "at least one <value>"),
    ("between-one-value", where("account", cond("creditlimit", "between", None, "1")), "exactly two <value>"),
    ("eq-without-value", where("account", cond("name", "eq")), "needs one value"),
    ("eq-two-values", where("account", cond("name", "eq", "a", "b")), "needs one value"),
    ("like-on-number", where("account", cond("creditlimit", "like", "1%")), "Edm.String"),
    ("begins-with-on-guid", where("account", cond("accountid", "begins-with", "1")), "Edm.String"),
    ("date-operator-on-string", where("account", cond("name", "today")), "Edm.Date or Edm.DateTimeOffset"),
    ("on-not-a-date", where("account", cond("createdon", "on", "monday")), "not a date"),
    ("last-x-days-word", where("account", cond("createdon", "last-x-days", "three")), "whole number"),
    ("last-x-years-past-calendar", where("account", cond("createdon", "last-x-years", "999999")), "years 1 to 9999"),
    ("userid-on-string", where("account", cond("name", "eq-userid")), "Edm.Guid"),
    ("valueof-with-like", where("account", cond("name", "like", None, valueof="accountnumber")), "valueof"),
    ("valueof-unknown", where("account", cond("name", "eq", None, valueof="nam")), "Did you mean 'name'?"),
    ("filter-type-xor", fetch("account", '<filter type="xor"/>'), "must be and or or"),
    # ---- fetch attributes and paging
    ("top-and-page", fetch("account", "", top="5", page="2"), "cannot have top="),
    ("top-negative", fetch("account", "", top="-1"), "whole number"),
    ("top-word", fetch("account", "", top="ten"), "whole number"),
    ("count-zero", fetch("account", "", count="0"), "from 1 to 5000"),
    ("count-too-big", fetch("account", "", count="5001"), "from 1 to 5000"),
    ("page-zero", fetch("account", "", count="10", page="0"), "counts from 1"),
    ("flag-maybe", fetch("account", "", returntotalrecordcount="maybe"), "must be true or false"),
    # ---- link-entities
    ("link-no-relationship", fetch("account", '<link-entity name="cdm_company" from="cdm_name" to="name"/>'),
     "no relationship to cdm_company"),
    ("link-unknown-from", fetch("account", '<link-entity name="cdm_company" from="cdm_id" to="msdyn_company"/>'),
     "Did you mean 'cdm_companyid'?"),
    ("link-half-given", fetch("account", '<link-entity name="cdm_company" to="msdyn_company"/>'), "both from and to"),
    ("link-unrelated-table", fetch("account", '<link-entity name="uom"/>'), "no relationship to uom"),
    ("link-unknown-table", fetch("account", '<link-entity name="opportunity" from="a" to="b"/>'),
     "unknown table 'opportunity'"),
    ("link-duplicate-alias", fetch("account", CO_LINK + "/>" + CO_LINK + "/>"), "two link-entities have the alias 'co'"),
    ("link-type-all", fetch("account", SO_LINK + ' link-type="all"/>'), "not supported"),
    ("link-type-unknown", fetch("account", SO_LINK + ' link-type="outter"/>'), "Did you mean 'outer'?"),
    ("link-outer-in-filter", fetch("account", "<filter>" + SO_LINK + ' link-type="outer"/></filter>'), "means nothing"),
    ("link-bad-alias", fetch("account", '<link-entity name="cdm_company" alias="a b"/>'), "letters, digits"),
    ("entityname-unknown", fetch("account", "<filter>" + cond("cdm_name", "eq", "x", entityname="coo") + "</filter>"
                                 + CO_LINK + "/>"), "Did you mean 'co'?"),
    ("entityname-outside", fetch("account", SO_LINK + "><filter>" + cond("cdm_name", "eq", "x", entityname="co")
                                 + "</filter></link-entity>" + CO_LINK + "/>"), "inside the one"),
    ("order-through-1n", fetch("account", '<order attribute="name" entityname="so"/>' + SO_LINK + "/>"), "1:n"),
    ("order-alias-not-aggregate", fetch("account", '<order alias="n"/>'), "aggregate"),
    # ---- aggregates
    ("aggregate-no-alias", fetch("account", '<attribute name="accountid" aggregate="count"/>', **AGG), "needs an alias"),
    ("aggregate-unknown", fetch("account", '<attribute name="creditlimit" aggregate="median" alias="m"/>', **AGG),
     "unknown aggregate 'median'"),
    ("aggregate-neither", fetch("account", '<attribute name="name" alias="n"/>', **AGG), "groupby=\"true\" or aggregate"),
    ("aggregate-both", fetch("account", '<attribute name="name" alias="n" groupby="true" aggregate="count"/>', **AGG),
     "cannot both"),
    ("aggregate-nothing", fetch("account", "", **AGG), "at least one <attribute>"),
    ("aggregate-all-attributes", fetch("account", "<all-attributes/>", **AGG), "<all-attributes/>"),
    ("countcolumn-nullable", fetch("account", '<attribute name="address1_city" aggregate="countcolumn" alias="c"/>',
                                   **AGG), "countcolumn"),
    ("dategrouping-quarter", fetch("account", '<attribute name="createdon" groupby="true" dategrouping="quarter" '
                                   'alias="q"/>', **AGG), "not supported"),
    ("dategrouping-unknown", fetch("account", '<attribute name="createdon" groupby="true" dategrouping="yeer" '
                                   'alias="q"/>', **AGG), "Did you mean 'year'?"),
    ("dategrouping-on-string", fetch("account", '<attribute name="name" groupby="true" dategrouping="year" '
                                     'alias="q"/>', **AGG), "needs a date column"),
    ("dategrouping-no-alias", fetch("account", '<attribute name="createdon" groupby="true" dategrouping="year"/>',
                                    **AGG), "needs an alias"),
    ("aggregate-alias-twice", fetch("account", '<attribute name="accountid" aggregate="count" alias="n"/>'
                                    '<attribute name="creditlimit" aggregate="sum" alias="n"/>', **AGG), "names two"),
    ("aggregate-order-unknown-alias", fetch("account", '<attribute name="accountid" aggregate="count" alias="n"/>'
                                            '<order alias="m"/>', **AGG), "names no column"),
    ("aggregate-order-attribute", fetch("account", '<attribute name="accountid" aggregate="count" alias="n"/>'
                                        '<order attribute="name"/>', **AGG), "must name a group column"),
    ("aggregate-through-1n", fetch("account", SO_LINK + '><attribute name="name" groupby="true" alias="o"/>'
                                   "</link-entity>", **AGG), "1:n link-entity"),
    ("aggregate-outer-filter", fetch("account", CO_LINK + ' link-type="outer"><attribute name="cdm_name" '
                                     'groupby="true" alias="c"/><filter>' + cond("cdm_name", "eq", "x")
                                     + "</filter></link-entity>", **AGG), "outer link-entity"),
    ("aggregate-bad-alias", fetch("account", '<attribute name="accountid" aggregate="count" alias="1n"/>', **AGG),
     "letters, digits"),
]


@pytest.mark.parametrize(("xml", "words"), [case[1:] for case in REFUSALS], ids=[case[0] for case in REFUSALS])
def test_refused_with_a_clear_400(xml: str, words: str, catalog: Catalog) -> None:
    with pytest.raises(BadRequest) as caught:
        translate(xml, catalog, today=TODAY, user_id=USER)
    assert caught.value.status == 400
    assert words in caught.value.message


def test_refusal_ids_are_unique() -> None:
    ids = [case[0] for case in REFUSALS]
    assert len(ids) == len(set(ids))


def test_user_operators_need_a_user(catalog: Catalog) -> None:
    with pytest.raises(BadRequest, match="needs a signed-in user"):
        translate(where("account", cond("msdyn_company", "eq-userid")), catalog, today=TODAY, user_id=None)


def test_user_id_must_be_a_guid(catalog: Catalog) -> None:
    with pytest.raises(BadRequest, match="not a Guid"):
        translate(where("account", cond("msdyn_company", "ne-userid")), catalog, today=TODAY, user_id="alice")


def test_malformed_points_at_line_and_column(catalog: Catalog) -> None:
    xml = '<fetch>\n  <entity name="account">\n    <attribute name="name">\n  </entity>\n</fetch>'
    with pytest.raises(BadRequest) as caught:
        translate(xml, catalog, today=TODAY)
    assert "mismatched tag at line 4, column 5" in caught.value.message
    assert caught.value.message.endswith("  </entity>\n    ^")


def test_unknown_names_are_targeted(catalog: Catalog) -> None:
    with pytest.raises(BadRequest) as caught:
        translate(fetch("account", '<attribute name="nmae"/>'), catalog, today=TODAY)
    assert caught.value.target == "nmae"
    assert caught.value.code == "UnknownProperty"


# ------------------------------------------------------------------ no other exception, whatever the text
VALID = [case[1] for case in CASES]


def _only_odata_errors(xml: str, catalog: Catalog) -> None:
    try:
        translate(xml, catalog, today=TODAY, user_id=USER)
    except ODataError as error:
        assert error.status == 400, f"{error.status}: {error.message}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_any_text(text: str, catalog: Catalog) -> None:
    _only_odata_errors(text, catalog)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(xml=st.sampled_from(VALID), cut=st.integers(0, 10_000), insert=st.text(max_size=12), drop=st.integers(0, 5))
def test_mutated_queries(xml: str, cut: int, insert: str, drop: int, catalog: Catalog) -> None:
    """Valid queries with text inserted and dropped somewhere: translated, or refused with a 400."""
    at = cut % (len(xml) + 1)
    _only_odata_errors(xml[:at] + insert + xml[at + drop :], catalog)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    xml=st.sampled_from([case[1] for case in CASES if 'value="' in case[1]]),
    value=st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30),
)
def test_any_condition_value(xml: str, value: str, catalog: Catalog) -> None:
    """Whatever a condition's value is, its type check answers with a 400 (or the query translates)."""
    from xml.sax.saxutils import quoteattr

    start = xml.index('value="')
    end = xml.index('"', start + 7)
    _only_odata_errors(xml[:start] + "value=" + quoteattr(value) + xml[end + 1 :], catalog)


def test_a_condition_on_a_1n_link_inside_an_or_filter_is_refused(catalog: Catalog) -> None:
    """After SQL's LEFT JOIN such a condition keeps some joined rows of a parent and drops others,
    which an expansion cannot say: a 400 that says where to put it, never a wrong answer."""
    xml = ('<fetch><entity name="account"><attribute name="name"/>'
           '<filter type="or"><condition attribute="name" operator="eq" value="x"/>'
           '<condition entityname="o" attribute="name" operator="eq" value="y"/></filter>'
           '<link-entity name="salesorder" from="customerid" to="accountid" alias="o" link-type="outer">'
           '<attribute name="name"/></link-entity></entity></fetch>')
    with pytest.raises(BadRequest) as refused:
        translate(xml, catalog, today=TODAY, user_id=USER)
    assert "or-filter" in refused.value.message and refused.value.status == 400


@pytest.mark.parametrize("encoding", ["nope", "rot13", "base64", "utf-7"])
def test_an_xml_declaration_with_an_unknown_encoding_is_a_400(encoding: str, catalog: Catalog) -> None:
    """Found by test_mutated_queries: Python's codec lookup raised LookupError, which became a 500."""
    with pytest.raises(BadRequest) as refused:
        translate(f'<?xml version="1.0" encoding="{encoding}"?><fetch><entity name="account"/></fetch>', catalog,
                  today=TODAY, user_id=USER)
    assert refused.value.status == 400 and "malformed FetchXML" in refused.value.message
