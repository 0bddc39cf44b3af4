"""Dataverse Web API functions on /api/data/v9.2 (WhoAmI, EntityDefinitions, RetrieveTotalRecordCount),
called with tokens as users do. Expectations come from the README's documented id derivations
(recomputed here with uuid5), the role files as written (entities/security/roles.yaml), the store's
physical tables (SQLAlchemy's inspector) and hand-written SQL, never from the gateway's answers."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import String, inspect
from sqlalchemy.engine import make_url

from tests.conftest import bearer
from tests.dualwrite.conftest import Sides

API = "/api/data/v9.2"
ADMIN = bearer("fn-admin@contoso.com", ("SystemAdministrator",))
ALICE = bearer("alice@contoso.com", ())  # users.yaml: SalesClerk in usmf
# DOMAIN.md §3: every table of the store, logical name → entity set.
TABLES = {
    "cdm_company": "cdm_companies", "account": "accounts", "msdyn_customergroup": "msdyn_customergroups",
    "uom": "uoms", "msdyn_productcolor": "msdyn_productcolors", "msdyn_productsize": "msdyn_productsizes",
    "msdyn_productstyle": "msdyn_productstyles", "msdyn_productconfiguration": "msdyn_productconfigurations",
    "msdyn_globalproduct": "msdyn_globalproducts", "product": "products",
    "msdyn_sharedproductdetail": "msdyn_sharedproductdetails", "salesorder": "salesorders",
    "salesorderdetail": "salesorderdetails",
    # Issue 13: vendors (and person vendors as contacts), currencies and rates, the organization hierarchy,
    # the product master's breadth.
    "contact": "contacts", "msdyn_vendor": "msdyn_vendors", "msdyn_vendorgroup": "msdyn_vendorgroups",
    "transactioncurrency": "transactioncurrencies", "msdyn_exchangeratetype": "msdyn_exchangeratetypes",
    "msdyn_currencyexchangerate": "msdyn_currencyexchangerates",
    "msdyn_internalorganization": "msdyn_internalorganizations",
    "msdyn_internalorganizationhierarchy": "msdyn_internalorganizationhierarchies",
    "msdyn_internalorganizationhierarchytype": "msdyn_internalorganizationhierarchytypes",
    "msdyn_internalorganizationhierarchypurpose": "msdyn_internalorganizationhierarchypurposes",
    "msdyn_productcategoryhierarchy": "msdyn_productcategoryhierarchies",
    "msdyn_productcategoryhierarchyrole": "msdyn_productcategoryhierarchyroles",
    "msdyn_productcategory": "msdyn_productcategories", "msdyn_productcategoryassignment": "msdyn_productcategoryassignments",
    "msdyn_productdimensiongroup": "msdyn_productdimensiongroups",
    "msdyn_productstoragedimensiongroup": "msdyn_productstoragedimensiongroups",
    "msdyn_producttrackingdimensiongroup": "msdyn_producttrackingdimensiongroups",
    "msdyn_productdefaultordersetting": "msdyn_productdefaultordersettings",
    "msdyn_unitofmeasureconversion": "msdyn_unitofmeasureconversions",
    "msdyn_productspecificunitofmeasureconversion": "msdyn_productspecificunitofmeasureconversions",
    "msdyn_productbarcode": "msdyn_productbarcodes",
    # DOMAIN.md §5: the available F&O entities (no virtual table is enabled in these tests)
    "mserp_financeandoperationsentity": "mserp_financeandoperationsentities",
}  # fmt: skip
SALES_CLERK_TABLES = {"account", "salesorder", "salesorderdetail"}  # roles.yaml: SalesClerk's dataverse: grants


def _get(sides: Sides, path: str, headers: dict[str, str]) -> dict:  # type: ignore[type-arg]
    response = sides.client.get(f"{API}/{path}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _error(sides: Sides, path: str, headers: dict[str, str], status: int) -> dict:  # type: ignore[type-arg]
    response = sides.client.get(f"{API}/{path}", headers=headers)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    return body["error"]  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------------ WhoAmI
def test_who_am_i_derives_documented_ids(sides: Sides) -> None:
    body = _get(sides, "WhoAmI()", ALICE)
    assert body["@odata.context"].endswith("/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse")
    organization = uuid.uuid5(uuid.NAMESPACE_URL, "fno-gateway:organization:"
                              + make_url(sides.dv_url).render_as_string(hide_password=True))
    assert body == {
        "@odata.context": body["@odata.context"],
        "UserId": str(uuid.uuid5(uuid.NAMESPACE_URL, "fno-gateway:systemuser:alice@contoso.com")),
        "OrganizationId": str(organization),
        "BusinessUnitId": str(uuid.uuid5(organization, "businessunit:usmf")),  # alice's default company
    }
    assert _get(sides, "WhoAmI", ALICE) == body  # without the parentheses too, and stable


def test_who_am_i_tells_callers_apart_in_one_organization(sides: Sides) -> None:
    alice, admin = _get(sides, "WhoAmI()", ALICE), _get(sides, "WhoAmI()", ADMIN)
    assert alice["UserId"] != admin["UserId"]
    assert alice["OrganizationId"] == admin["OrganizationId"]
    for value in (*alice.values(), *admin.values()):
        if not value.startswith("http"):
            uuid.UUID(value)


def test_functions_take_get_only_and_need_credentials(sides: Sides) -> None:
    response = sides.client.post(f"{API}/WhoAmI()", headers=ADMIN)
    assert response.status_code == 405 and response.json()["error"]["innererror"]["type"] == "MethodNotAllowed"
    anonymous = sides.client.get(f"{API}/WhoAmI()", headers={"Authorization": ""})
    assert anonymous.status_code == 401 and "error" in anonymous.json()


@pytest.mark.parametrize(("path", "status"), [
    ("WhoAreYou()", 400), ("WhoAmIx", 404), ("WhoAmI()/UserId", 404), ("EntityDefinitions(LogicalName='account')/Keys", 404),
    ("RetrieveTotalRecordCount()", 400), ("RetrieveTotalRecordCount(EntityNames=@p2)?@p1=[\"account\"]", 400),
    ("RetrieveTotalRecordCount(EntityNames=@p1)?@p1=[\"acount\"]", 400), ("EntityDefinitions?$top=1", 501),
    ("EntityDefinitions?$select=LogicalNam", 400), ("EntityDefinitions?$filter=contains(LogicalName,'a')", 501),
    ("EntityDefinitions(LogicalName='nosuch')", 404), ("EntityDefinitions(1)", 400),
])  # fmt: skip
def test_unknown_functions_and_bad_calls_are_odata_errors(sides: Sides, path: str, status: int) -> None:
    _error(sides, path, ADMIN, status)


# ------------------------------------------------------------------------------------------------ EntityDefinitions
def test_entity_definitions_list_every_table_for_an_administrator(sides: Sides) -> None:
    body = _get(sides, "EntityDefinitions?$select=LogicalName,EntitySetName", ADMIN)
    assert body["@odata.context"].endswith("$metadata#EntityDefinitions(LogicalName,EntitySetName)")
    assert {row["LogicalName"]: row["EntitySetName"] for row in body["value"]} == TABLES
    assert all(set(row) == {"LogicalName", "EntitySetName", "MetadataId"} for row in body["value"])
    assert len({row["MetadataId"] for row in body["value"]}) == len(TABLES)


def test_entity_definitions_show_only_tables_the_caller_may_read(sides: Sides) -> None:
    body = _get(sides, "EntityDefinitions?$select=LogicalName", ALICE)
    assert {row["LogicalName"] for row in body["value"]} == SALES_CLERK_TABLES
    forbidden = _error(sides, "EntityDefinitions(LogicalName='product')", ALICE, 403)
    assert forbidden["innererror"]["type"] == "Forbidden"
    assert _error(sides, "EntityDefinitions(LogicalName='product')/Attributes", ALICE, 403)["innererror"]["type"] == "Forbidden"


def test_entity_definitions_filter_and_key_agree(sides: Sides) -> None:
    filtered = _get(sides, "EntityDefinitions?$select=LogicalName,EntitySetName&$filter=LogicalName eq 'account'", ALICE)
    assert [(row["LogicalName"], row["EntitySetName"]) for row in filtered["value"]] == [("account", "accounts")]
    by_set = _get(sides, "EntityDefinitions?$select=LogicalName&$filter=EntitySetName eq 'salesorders' or "
                         "EntitySetName eq 'uoms'", ADMIN)
    assert sorted(row["LogicalName"] for row in by_set["value"]) == ["salesorder", "uom"]
    one = _get(sides, "EntityDefinitions(LogicalName='account')", ALICE)
    assert one["@odata.context"].endswith("$metadata#EntityDefinitions/$entity")
    assert (one["LogicalName"], one["EntitySetName"], one["PrimaryIdAttribute"], one["PrimaryNameAttribute"]) == \
        ("account", "accounts", "accountid", "name")
    assert one["MetadataId"] == filtered["value"][0]["MetadataId"]
    by_id = _get(sides, f"EntityDefinitions({one['MetadataId']})?$select=LogicalName", ALICE)
    assert by_id["LogicalName"] == "account"


def test_attributes_are_the_columns_of_the_table(sides: Sides) -> None:
    columns = {column["name"]: column for column in inspect(sides.dv).get_columns("account")}
    columns.pop("versionnumber")  # the row version: not a property the API serves
    body = _get(sides, "EntityDefinitions(LogicalName='account')/Attributes", ALICE)
    attributes = {row["LogicalName"]: row for row in body["value"]}
    assert set(attributes) == set(columns)
    assert [name for name, row in attributes.items() if row["IsPrimaryId"]] == ["accountid"]
    assert [name for name, row in attributes.items() if row["IsPrimaryName"]] == ["name"]
    for name, column in columns.items():
        if isinstance(column["type"], String) and attributes[name]["AttributeType"] in ("String", "Memo"):
            assert attributes[name]["MaxLength"] == column["type"].length, name
    company = attributes["msdyn_company"]
    assert company["AttributeType"] == "Lookup"
    assert company["@odata.type"] == "#Microsoft.Dynamics.CRM.LookupAttributeMetadata"
    # Lookups to tables alice may not read (roles.yaml: no cdm_companies, no customer groups) are still
    # columns, but name no target she cannot see; an administrator sees the targets.
    assert company["Targets"] == [] and attributes["msdyn_customergroupid"]["Targets"] == []
    admin = {row["LogicalName"]: row for row in
             _get(sides, "EntityDefinitions(LogicalName='account')/Attributes", ADMIN)["value"]}
    assert admin["msdyn_company"]["Targets"] == ["cdm_company"]
    assert admin["msdyn_customergroupid"]["Targets"] == ["msdyn_customergroup"]
    assert attributes["accountid"]["AttributeType"] == "Uniqueidentifier"
    assert attributes["creditonhold"]["AttributeType"] == "Boolean"
    assert attributes["statecode"]["AttributeType"] == "State"


def test_attributes_select_filter_and_key(sides: Sides) -> None:
    picklists = _get(sides, "EntityDefinitions(LogicalName='account')/Attributes?$select=LogicalName,AttributeType"
                            "&$filter=AttributeType eq Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'", ALICE)
    assert [row["LogicalName"] for row in picklists["value"]] == ["customertypecode"]
    assert set(picklists["value"][0]) == {"@odata.type", "LogicalName", "AttributeType", "MetadataId"}
    name = _get(sides, "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='name')", ALICE)
    assert (name["LogicalName"], name["MaxLength"], name["IsPrimaryName"]) == ("name", 160, True)
    expanded = _get(sides, "EntityDefinitions(LogicalName='uom')?$select=LogicalName"
                           "&$expand=Attributes($select=LogicalName)", ADMIN)
    uom_columns = {column["name"] for column in inspect(sides.dv).get_columns("uom")} - {"versionnumber"}
    assert {row["LogicalName"] for row in expanded["Attributes"]} == uom_columns


def test_no_annotations_when_metadata_none(sides: Sides) -> None:
    response = sides.client.get(f"{API}/EntityDefinitions(LogicalName='account')/Attributes?$select=LogicalName",
                                headers={**ALICE, "Accept": "application/json;odata.metadata=none"})
    assert response.status_code == 200
    assert "@odata" not in response.text


# ------------------------------------------------------------------------------------------------ RetrieveTotalRecordCount
def test_record_counts_of_an_administrator(sides: Sides) -> None:
    body = _get(sides, 'RetrieveTotalRecordCount(EntityNames=@p1)?@p1=["account","salesorder"]', ADMIN)
    assert body["@odata.context"].endswith("$metadata#Microsoft.Dynamics.CRM.RetrieveTotalRecordCountResponse")
    accounts = sides.dv_sql("SELECT count(*) FROM account")[0][0]
    orders = sides.dv_sql("SELECT count(*) FROM salesorder")[0][0]
    assert body["EntityRecordCountCollection"] == {"Count": 2, "IsReadOnly": False, "Keys": ["account", "salesorder"],
                                                   "Values": [accounts, orders]}


def test_record_counts_follow_company_scope_and_privileges(sides: Sides) -> None:
    body = _get(sides, "RetrieveTotalRecordCount(EntityNames=@p1)?@p1=['salesorder','account']", ALICE)
    in_usmf = "JOIN cdm_company c ON c.cdm_companyid = t.msdyn_company WHERE c.cdm_companycode = 'usmf'"
    orders = sides.dv_sql(f"SELECT count(*) FROM salesorder t {in_usmf}")[0][0]
    accounts = sides.dv_sql(f"SELECT count(*) FROM account t {in_usmf}")[0][0]
    every = sides.dv_sql("SELECT count(*) FROM account")[0][0]
    assert 0 < accounts < every
    assert body["EntityRecordCountCollection"]["Values"] == [orders, accounts]
    forbidden = _error(sides, 'RetrieveTotalRecordCount(EntityNames=@p1)?@p1=["account","product"]', ALICE, 403)
    assert forbidden["innererror"]["type"] == "Forbidden"
