"""$metadata (CSDL XML and JSON) and the service document, against hand-written expectations from DOMAIN.md §2.

Nothing here reads the catalog: every name, key, type and navigation below is written out by hand,
so a catalog or serializer mistake shows up as a difference.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.contract import FNO_ENTITY_SETS

NS = "Microsoft.Dynamics.DataEntities"
EDMX = "{http://docs.oasis-open.org/odata/ns/edmx}"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
CAPABILITIES = "Org.OData.Capabilities.V1"
STRING = "Edm.String"
DECIMAL = "Edm.Decimal"
DATETIMEOFFSET = "Edm.DateTimeOffset"
# DOMAIN.md: a date-only value may be modelled as Edm.Date or as F&O's Edm.DateTimeOffset at T12:00:00Z.
DATE_ONLY = {"Edm.Date", DATETIMEOFFSET}


def enum(name: str) -> str:
    return f"{NS}.{name}"


@dataclass(frozen=True)
class Nav:
    target_type: str  # unqualified entity type name
    target_set: str  # entity set the NavigationPropertyBinding must point at
    collection: bool


@dataclass(frozen=True)
class ExpectedSet:
    entity_type: str
    key: tuple[str, ...]
    # property -> expected type (a string, or a set of acceptable types)
    properties: dict[str, str | set[str]]
    navigation: dict[str, Nav] = field(default_factory=dict)


# DOMAIN.md §2, written out by hand.
EXPECTED: dict[str, ExpectedSet] = {
    "LegalEntities": ExpectedSet(
        "LegalEntity", ("LegalEntityId",), {"LegalEntityId": STRING, "Name": STRING}
    ),
    "CustomerGroups": ExpectedSet(
        "CustomerGroup",
        ("dataAreaId", "CustomerGroupId"),
        {"dataAreaId": STRING, "CustomerGroupId": STRING, "Description": STRING, "PaymentTermId": STRING},
        {"Customers": Nav("CustomerV3", "CustomersV3", True)},
    ),
    "CustomersV3": ExpectedSet(
        "CustomerV3",
        ("dataAreaId", "CustomerAccount"),
        {
            "CustomerAccount": STRING,
            "PartyNumber": STRING,
            "OrganizationName": STRING,
            "PartyType": enum("DirPartyType"),
            "CustomerGroupId": STRING,
            "SalesCurrencyCode": STRING,
            "CreditLimit": DECIMAL,
            "OnHoldStatus": enum("CustVendorBlocked"),
            "LanguageId": STRING,
            "AddressStreet": STRING,
            "AddressCity": STRING,
            "AddressState": STRING,
            "AddressZipCode": STRING,
            "AddressCountryRegionId": STRING,
            "CreatedDateTime": DATETIMEOFFSET,
        },
        {
            "CustomerGroup": Nav("CustomerGroup", "CustomerGroups", False),
            "SalesOrders": Nav("SalesOrderHeaderV2", "SalesOrderHeadersV2", True),
            "SalesCurrency": Nav("Currency", "Currencies", False),
        },
    ),
    "VendorsV2": ExpectedSet(
        "VendorV2",
        ("dataAreaId", "VendorAccountNumber"),
        {
            "VendorAccountNumber": STRING,
            "PartyNumber": STRING,
            "VendorOrganizationName": STRING,
            "VendorPartyType": enum("DirPartyType"),
            "VendorGroupId": STRING,
            "CurrencyCode": STRING,
            "OnHoldStatus": enum("CustVendorBlocked"),
            "LanguageId": STRING,
            "AddressStreet": STRING,
            "AddressCity": STRING,
            "AddressState": STRING,
            "AddressZipCode": STRING,
            "AddressCountryRegionId": STRING,
        },
        {
            "VendorGroup": Nav("VendorGroup", "VendorGroups", False),
            "Currency": Nav("Currency", "Currencies", False),
        },
    ),
    "ReleasedProductsV2": ExpectedSet(
        "ReleasedProductV2",
        ("dataAreaId", "ItemNumber"),
        {
            "ItemNumber": STRING,
            "ProductNumber": STRING,
            "ProductName": STRING,
            "SearchName": STRING,
            "ProductType": enum("EcoResProductType"),
            "ProductSubtype": enum("EcoResProductSubtype"),
            "SalesPrice": DECIMAL,
            "SalesUnitSymbol": STRING,
            "PrimaryVendorAccountNumber": STRING,
        },
        {
            "Variants": Nav("ReleasedProductVariantV2", "ReleasedProductVariantsV2", True),
            "SalesOrderLines": Nav("SalesOrderLine", "SalesOrderLines", True),
        },
    ),
    "ReleasedProductVariantsV2": ExpectedSet(
        "ReleasedProductVariantV2",
        (
            "dataAreaId",
            "ItemNumber",
            "ProductColorId",
            "ProductSizeId",
            "ProductStyleId",
            "ProductConfigurationId",
        ),
        {"ProductMasterNumber": STRING, "ProductVariantNumber": STRING, "ProductColorId": STRING},
        {"ReleasedProduct": Nav("ReleasedProductV2", "ReleasedProductsV2", False)},
    ),
    "ProductColors": ExpectedSet(
        "ProductColor", ("ProductColorId",), {"ProductColorId": STRING, "Description": STRING}
    ),
    "ProductSizes": ExpectedSet(
        "ProductSize", ("ProductSizeId",), {"ProductSizeId": STRING, "Description": STRING}
    ),
    "ProductStyles": ExpectedSet(
        "ProductStyle", ("ProductStyleId",), {"ProductStyleId": STRING, "Description": STRING}
    ),
    "ProductConfigurations": ExpectedSet(
        "ProductConfiguration",
        ("ProductConfigurationId",),
        {"ProductConfigurationId": STRING, "Description": STRING},
    ),
    "UnitsOfMeasure": ExpectedSet(
        "UnitOfMeasure",
        ("UnitSymbol",),
        {"UnitSymbol": STRING, "UnitClass": enum("UnitOfMeasureClass"), "DecimalPrecision": "Edm.Int32"},
    ),
    # Every shared product (not in DOMAIN.md §2; F&O's own ProductsV2 entity): the source of the
    # "All products" dual-write map.
    "ProductsV2": ExpectedSet(
        "ProductV2",
        ("ProductNumber",),
        {"ProductNumber": STRING, "ProductName": STRING, "ProductType": enum("EcoResProductType"),
         "ProductSubtype": enum("EcoResProductSubtype")},
    ),
    "SalesOrderHeadersV2": ExpectedSet(
        "SalesOrderHeaderV2",
        ("dataAreaId", "SalesOrderNumber"),
        {
            "SalesOrderNumber": STRING,
            "OrderingCustomerAccountNumber": STRING,
            "SalesOrderStatus": enum("SalesStatus"),
            "CurrencyCode": STRING,
            "RequestedShippingDate": DATE_ONLY,
            "CustomerRequisitionNumber": STRING,
            "OrderCreationDateTime": DATETIMEOFFSET,
        },
        {
            "Customer": Nav("CustomerV3", "CustomersV3", False),
            "SalesOrderLines": Nav("SalesOrderLine", "SalesOrderLines", True),
            "Currency": Nav("Currency", "Currencies", False),
        },
    ),
    "SalesOrderLines": ExpectedSet(
        "SalesOrderLine",
        ("dataAreaId", "InventoryLotId"),
        {
            "InventoryLotId": STRING,
            "SalesOrderNumber": STRING,
            "LineNumber": DECIMAL,
            "ItemNumber": STRING,
            "SalesPrice": DECIMAL,
            "LineAmount": DECIMAL,
            "SalesUnitSymbol": STRING,
            "SalesOrderLineStatus": enum("SalesStatus"),
            "ProductColorId": STRING,
            "ProductSizeId": STRING,
        },
        {
            "SalesOrderHeader": Nav("SalesOrderHeaderV2", "SalesOrderHeadersV2", False),
            "ReleasedProduct": Nav("ReleasedProductV2", "ReleasedProductsV2", False),
        },
    ),
    # DOMAIN.md §6 and issue 11: business events' catalog, endpoints and activations, as F&O serves them.
    "BusinessEventsCatalog": ExpectedSet(
        "BusinessEventsCatalogEntry",
        ("BusinessEventId",),
        {"BusinessEventId": STRING, "Name": STRING, "Kind": STRING, "Category": STRING, "Description": STRING,
         "EntitySet": STRING, "EntityName": STRING, "Operations": STRING, "ChangedFields": STRING,
         "Condition": STRING, "BeforeCondition": STRING, "MajorVersion": "Edm.Int32", "MinorVersion": "Edm.Int32",
         "Contract": STRING},
        {"Activations": Nav("BusinessEventsActivation", "BusinessEventsActivations", True)},
    ),
    "BusinessEventsEndpoints": ExpectedSet(
        "BusinessEventsEndpoint",
        ("EndpointId",),
        {"EndpointId": STRING, "Name": STRING, "EndpointType": enum("BusinessEventsEndpointType"), "Url": STRING,
         "SecretName": STRING, "TimeoutSeconds": "Edm.Int32", "Headers": STRING, "Exchange": STRING,
         "RoutingKey": STRING, "QueueName": STRING, "Enabled": "Edm.Boolean", "NextControlNumber": "Edm.Int64",
         "CreatedDateTime": DATETIMEOFFSET},
        {"Activations": Nav("BusinessEventsActivation", "BusinessEventsActivations", True)},
    ),
    "BusinessEventsActivations": ExpectedSet(
        "BusinessEventsActivation",
        ("ActivationId",),
        {"ActivationId": STRING, "BusinessEventId": STRING, "EndpointId": STRING, "LegalEntity": STRING,
         "CreatedDateTime": DATETIMEOFFSET},
        {"BusinessEvent": Nav("BusinessEventsCatalogEntry", "BusinessEventsCatalog", False),
         "Endpoint": Nav("BusinessEventsEndpoint", "BusinessEventsEndpoints", False)},
    ),
}

# DOMAIN.md §1, "Enums (stored value = member)".
EXPECTED_ENUMS: dict[str, dict[str, int]] = {
    "DirPartyType": {"Person": 1, "Organization": 2},
    "CustVendorBlocked": {"No": 0, "Invoice": 1, "All": 2, "Payment": 3, "Requisition": 4, "Never": 5},
    "NoYes": {"No": 0, "Yes": 1},
    "EcoResProductType": {"Item": 1, "Service": 2},
    "EcoResProductSubtype": {"Product": 1, "ProductMaster": 2, "ProductVariant": 3},
    "SalesStatus": {"None": 0, "Backorder": 1, "Delivered": 2, "Invoiced": 3, "Canceled": 4},
    "UnitOfMeasureClass": {"None": 0, "Quantity": 1, "Mass": 2, "Length": 3, "Volume": 4, "Time": 5},
    "BusinessEventsEndpointType": {"Webhook": 0, "RabbitMQ": 1, "PowerAutomate": 2},  # issue 11
    # issue 13
    "ExchangeRateDisplayFactor": {"One": 0, "Ten": 1, "Hundred": 2, "Thousand": 3, "TenThousand": 4},
    "OMOperatingUnitType": {"None": 0, "OMDepartment": 1, "OMCostCenter": 2, "OMValueStream": 3, "OMBusinessUnit": 4,
                            "OMAnyOU": 5, "OMRetailChannel": 6},
    "HierarchyPurpose": {"None": 0, "OrganizationChart": 1, "ProcurementInternalControl": 2,
                         "ExpenditureInternalControl": 3, "SigningLimitsInternalControl": 4, "CentralizedPayments": 5,
                         "Security": 6, "BudgetPlanning": 7, "RetailAssortment": 8, "RetailReporting": 9},
    "EcoResCategoryNamedHierarchyRole": {"None": 0, "Procurement": 1, "RetailChannelNavigation": 2,
                                         "RetailProductHierarchy": 3, "CommodityCode": 4, "ProjectCategory": 5,
                                         "SupplementalHierarchy": 6, "SalesReporting": 7},
    "UnitOfMeasureConversionRounding": {"Nearest": 0, "Up": 1, "Down": 2},
}

ENTITY_SETS = sorted(FNO_ENTITY_SETS)  # every entity set the service declares
DETAILED = sorted(EXPECTED)  # those whose types are written out above; the others have their own read tests
# DOMAIN.md §1: the tables with DATAAREAID behind each entity.
COMPANY_SPECIFIC = {
    "CustomerGroups", "CustomersV3", "VendorsV2", "ReleasedProductsV2", "ReleasedProductVariantsV2",
    "SalesOrderHeadersV2", "SalesOrderLines",
}  # fmt: skip


def _accepts(expected: str | set[str], actual: str | None) -> bool:
    return actual in expected if isinstance(expected, set) else actual == expected


# ---------------------------------------------------------------------------------------------- XML
@dataclass
class Csdl:
    root: ET.Element
    schema: ET.Element
    container: ET.Element

    def entity_type(self, name: str) -> ET.Element:
        found = [e for e in self.schema.findall(f"{EDM}EntityType") if e.get("Name") == name]
        assert len(found) == 1, f"EntityType {name}: found {len(found)}"
        return found[0]

    def entity_set(self, name: str) -> ET.Element:
        found = [e for e in self.container.findall(f"{EDM}EntitySet") if e.get("Name") == name]
        assert len(found) == 1, f"EntitySet {name}: found {len(found)}"
        return found[0]


@pytest.fixture(scope="module")
def csdl(sqlite_client: TestClient) -> Csdl:
    response = sqlite_client.get("/data/$metadata")
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)
    schemas = root.findall(f"{EDMX}DataServices/{EDM}Schema")
    assert len(schemas) == 1
    containers = schemas[0].findall(f"{EDM}EntityContainer")
    assert len(containers) == 1
    return Csdl(root, schemas[0], containers[0])


@pytest.fixture(scope="module")
def csdl_json(sqlite_client: TestClient) -> dict[str, Any]:
    response = sqlite_client.get("/data/$metadata", params={"$format": "json"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


def _one_odata_version(response: Any) -> None:
    assert response.headers.get_list("odata-version") == ["4.0"]


def test_metadata_is_xml_edmx_4(sqlite_client: TestClient) -> None:
    response = sqlite_client.get("/data/$metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0].strip() == "application/xml"
    _one_odata_version(response)
    root = ET.fromstring(response.content)
    assert root.tag == f"{EDMX}Edmx"
    assert root.get("Version") == "4.0"


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"$format": "xml"}, {}),
        ({}, {"Accept": "application/xml"}),
        ({}, {"Accept": "*/*"}),
        # JSON is not explicitly preferred: a list with a wildcard or another type at its quality
        # (axios's and Angular's default), or JSON below XML. Generators need XML here.
        ({}, {"Accept": "application/json, text/plain, */*"}),
        ({}, {"Accept": "application/json, application/xml"}),
        ({}, {"Accept": "application/json, text/plain"}),
        ({}, {"Accept": "application/json;q=0.5, application/xml"}),
        ({}, {"Accept": "text/plain, application/json;q=0.9"}),
        ({}, {"Accept": "application/json;q=0, */*"}),
        ({}, {"Accept": "text/*"}),
        ({"$format": "xml"}, {"Accept": "application/json"}),  # $format wins over Accept
    ],
    ids=["format-xml", "accept-xml", "accept-any", "axios-default", "json-and-xml", "json-and-text",
         "json-below-xml", "json-below-text", "json-refused", "text-any", "format-over-accept"],
)
def test_metadata_xml_variants(
    sqlite_client: TestClient, params: dict[str, str], headers: dict[str, str]
) -> None:
    response = sqlite_client.get("/data/$metadata", params=params, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0].strip() == "application/xml"
    assert ET.fromstring(response.content).tag == f"{EDMX}Edmx"


def test_schema_namespace_and_container(csdl: Csdl) -> None:
    assert csdl.schema.get("Namespace") == NS
    assert csdl.container.get("Name") == "Resources"


def test_every_entity_set_is_declared_and_nothing_else(csdl: Csdl) -> None:
    declared = sorted(e.get("Name") or "" for e in csdl.container.findall(f"{EDM}EntitySet"))
    assert declared == ENTITY_SETS


@pytest.mark.parametrize("entity_set", DETAILED, ids=DETAILED)
def test_entity_type_key_properties_and_navigation(csdl: Csdl, entity_set: str) -> None:
    expected = EXPECTED[entity_set]
    assert csdl.entity_set(entity_set).get("EntityType") == f"{NS}.{expected.entity_type}"
    entity_type = csdl.entity_type(expected.entity_type)

    key = tuple(ref.get("Name") for ref in entity_type.findall(f"{EDM}Key/{EDM}PropertyRef"))
    assert key == expected.key

    properties = {p.get("Name"): p for p in entity_type.findall(f"{EDM}Property")}
    for name in expected.key:
        assert name in properties, f"key property {name} is not declared"
        # CSDL: key properties must not be nullable (absent Nullable means nullable in XML).
        assert properties[name].get("Nullable") == "false", f"key property {name} is nullable"
    if entity_set in COMPANY_SPECIFIC:
        assert key[0] == "dataAreaId", "a company-specific entity's first key property is dataAreaId"
        assert properties["dataAreaId"].get("Type") == STRING
    else:
        assert "dataAreaId" not in properties
    for name, expected_type in expected.properties.items():
        assert name in properties, f"{expected.entity_type}.{name} is missing"
        actual = properties[name].get("Type")
        assert _accepts(expected_type, actual), (
            f"{expected.entity_type}.{name}: {actual}, expected {expected_type}"
        )

    navigation = {n.get("Name"): n for n in entity_type.findall(f"{EDM}NavigationProperty")}
    assert sorted(navigation) == sorted(expected.navigation)
    for name, nav in expected.navigation.items():
        qualified = f"{NS}.{nav.target_type}"
        wanted = f"Collection({qualified})" if nav.collection else qualified
        assert navigation[name].get("Type") == wanted


@pytest.mark.parametrize("entity_set", DETAILED, ids=DETAILED)
def test_navigation_property_bindings(csdl: Csdl, entity_set: str) -> None:
    bindings = {
        b.get("Path"): b.get("Target")
        for b in csdl.entity_set(entity_set).findall(f"{EDM}NavigationPropertyBinding")
    }
    assert bindings == {name: nav.target_set for name, nav in EXPECTED[entity_set].navigation.items()}


def _navigation(entity_type: ET.Element, name: str) -> ET.Element:
    return next(n for n in entity_type.findall(f"{EDM}NavigationProperty") if n.get("Name") == name)


def test_single_valued_navigation_has_referential_constraints(csdl: Csdl) -> None:
    """CustomersV3.CustomerGroup joins on (dataAreaId, CustomerGroupId); SalesOrderHeadersV2.Customer on the account."""
    group = _navigation(csdl.entity_type("CustomerV3"), "CustomerGroup")
    constraints = {
        c.get("Property"): c.get("ReferencedProperty") for c in group.findall(f"{EDM}ReferentialConstraint")
    }
    assert constraints == {"dataAreaId": "dataAreaId", "CustomerGroupId": "CustomerGroupId"}
    customer = _navigation(csdl.entity_type("SalesOrderHeaderV2"), "Customer")
    constraints = {
        c.get("Property"): c.get("ReferencedProperty")
        for c in customer.findall(f"{EDM}ReferentialConstraint")
    }
    assert constraints == {"dataAreaId": "dataAreaId", "OrderingCustomerAccountNumber": "CustomerAccount"}


def test_enum_types_exactly_as_domain(csdl: Csdl) -> None:
    enums: dict[str, dict[str, int]] = {}
    for element in csdl.schema.findall(f"{EDM}EnumType"):
        members = {
            m.get("Name") or "": int(m.get("Value") or "-999") for m in element.findall(f"{EDM}Member")
        }
        enums[element.get("Name") or ""] = members
    assert enums == EXPECTED_ENUMS


def test_enum_property_types_resolve_to_declared_enums(csdl: Csdl) -> None:
    declared = {f"{NS}.{e.get('Name')}" for e in csdl.schema.findall(f"{EDM}EnumType")}
    for entity_type in csdl.schema.findall(f"{EDM}EntityType"):
        for prop in entity_type.findall(f"{EDM}Property"):
            type_name = prop.get("Type") or ""
            if type_name.startswith(NS + "."):
                assert type_name in declared, f"{entity_type.get('Name')}.{prop.get('Name')}: {type_name}"
            else:
                assert type_name.startswith("Edm."), type_name


# The entity sets the write issue made writable (issue 4); every other set stays read-only.
WRITABLE_SETS = {"CustomersV3", "CustomerGroups", "SalesOrderHeadersV2", "SalesOrderLines",
                 "BusinessEventsEndpoints", "BusinessEventsActivations",
                 "VendorsV2", "VendorGroups", "Currencies", "ExchangeRateTypes"}  # issue 13


@pytest.mark.parametrize("entity_set", ENTITY_SETS, ids=ENTITY_SETS)
def test_capabilities_say_what_is_writable(csdl: Csdl, entity_set: str) -> None:
    """Insertable/Updatable/Deletable are true exactly for the writable entity sets."""
    annotations = {a.get("Term"): a for a in csdl.entity_set(entity_set).findall(f"{EDM}Annotation")}
    for term, flag in (
        ("InsertRestrictions", "Insertable"),
        ("UpdateRestrictions", "Updatable"),
        ("DeleteRestrictions", "Deletable"),
    ):
        annotation = annotations.get(f"{CAPABILITIES}.{term}")
        assert annotation is not None, f"{entity_set}: no {term}"
        values = {
            p.get("Property"): p.get("Bool") for p in annotation.findall(f"{EDM}Record/{EDM}PropertyValue")
        }
        expected_flag = "true" if entity_set in WRITABLE_SETS else "false"
        assert values.get(flag) == expected_flag, f"{entity_set}: {term} {values}"
    countable = annotations.get(f"{CAPABILITIES}.CountRestrictions")
    assert countable is not None


def test_annotation_vocabularies_are_referenced(csdl: Csdl) -> None:
    included: set[str] = set()
    for include in csdl.root.findall(f"{EDMX}Reference/{EDMX}Include"):
        included.add(include.get("Namespace") or "")
        if include.get("Alias"):
            included.add(include.get("Alias") or "")
    terms = [a.get("Term") or "" for a in csdl.root.iter(f"{EDM}Annotation")]
    assert terms, "no annotations at all"
    assert any(term.startswith(CAPABILITIES + ".") for term in terms)
    for term in terms:
        namespace = term.rsplit(".", 1)[0]
        assert namespace in included, f"annotation {term} uses an unreferenced vocabulary"


# ---------------------------------------------------------------------------------------------- JSON
@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"$format": "json"}, {}),
        ({}, {"Accept": "application/json"}),
        ({"$format": "application/json"}, {}),
        # JSON alone at the best quality, whatever comes below it
        ({}, {"Accept": "application/json;q=1, application/xml;q=0.5"}),
        ({}, {"Accept": "application/xml;q=0.9, application/json"}),
        ({}, {"Accept": "application/json;odata.metadata=minimal, */*;q=0.1"}),
        ({"$format": "json"}, {"Accept": "application/xml"}),  # $format wins over Accept
    ],
    ids=["format-json", "accept-json", "format-media-type", "json-over-xml", "json-first-by-quality",
         "json-over-wildcard", "format-over-accept"],
)
def test_metadata_json_negotiation(
    sqlite_client: TestClient, csdl_json: dict[str, Any], params: dict[str, str], headers: dict[str, str]
) -> None:
    response = sqlite_client.get("/data/$metadata", params=params, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0].strip() == "application/json"
    _one_odata_version(response)
    assert response.json() == csdl_json


def test_metadata_json_container(csdl_json: dict[str, Any]) -> None:
    assert csdl_json["$EntityContainer"] == f"{NS}.Resources"
    container = csdl_json[NS]["Resources"]
    assert container["$Kind"] == "EntityContainer"
    assert sorted(name for name in container if not name.startswith(("$", "@"))) == ENTITY_SETS


def _json_type(member: dict[str, Any]) -> str:
    return member.get("$Type", STRING)  # CSDL JSON: an absent $Type means Edm.String


@pytest.mark.parametrize("entity_set", DETAILED, ids=DETAILED)
def test_metadata_json_entity(csdl_json: dict[str, Any], entity_set: str) -> None:
    expected = EXPECTED[entity_set]
    schema = csdl_json[NS]
    entity_set_json = schema["Resources"][entity_set]
    assert entity_set_json["$Collection"] is True
    assert entity_set_json["$Type"] == f"{NS}.{expected.entity_type}"
    assert entity_set_json.get("$NavigationPropertyBinding", {}) == {
        name: nav.target_set for name, nav in expected.navigation.items()
    }
    assert entity_set_json[f"@{CAPABILITIES}.InsertRestrictions"] == {"Insertable": entity_set in WRITABLE_SETS}

    entity_type = schema[expected.entity_type]
    assert entity_type["$Kind"] == "EntityType"
    assert tuple(entity_type["$Key"]) == expected.key
    for name in expected.key:
        assert entity_type[name].get("$Nullable", False) is False
    for name, expected_type in expected.properties.items():
        assert _accepts(expected_type, _json_type(entity_type[name])), f"{name}: {entity_type[name]}"
        assert entity_type[name].get("$Kind", "Property") == "Property"
    navigation = {
        k: v for k, v in entity_type.items() if isinstance(v, dict) and v.get("$Kind") == "NavigationProperty"
    }
    assert sorted(navigation) == sorted(expected.navigation)
    for name, nav in expected.navigation.items():
        assert navigation[name]["$Type"] == f"{NS}.{nav.target_type}"
        assert navigation[name].get("$Collection", False) is nav.collection


def test_metadata_json_enums(csdl_json: dict[str, Any]) -> None:
    schema = csdl_json[NS]
    enums = {
        name: {k: v for k, v in value.items() if not k.startswith(("$", "@"))}
        for name, value in schema.items()
        if isinstance(value, dict) and value.get("$Kind") == "EnumType"
    }
    assert enums == EXPECTED_ENUMS


@pytest.mark.parametrize(
    ("params", "headers"),
    [({}, {"Accept": "text/csv"}), ({}, {"Accept": "text/plain, image/png;q=0.5, */*;q=0"}),
     ({"$format": "csv"}, {}), ({"$format": "atom"}, {})],
    ids=["accept-csv", "accept-neither", "format-csv", "format-atom"],
)
def test_metadata_not_acceptable(
    sqlite_client: TestClient, params: dict[str, str], headers: dict[str, str]
) -> None:
    response = sqlite_client.get("/data/$metadata", params=params, headers=headers)
    assert response.status_code == 406
    _one_odata_version(response)
    error = response.json()["error"]
    assert error["code"] == "NotAcceptable"
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)


# ---------------------------------------------------------------------------------------------- service document
def test_service_document_lists_every_entity_set(sqlite_client: TestClient) -> None:
    response = sqlite_client.get("/data/")
    assert response.status_code == 200
    _one_odata_version(response)
    body = response.json()
    assert body["@odata.context"].endswith("/data/$metadata")
    entries = body["value"]
    assert sorted(entry["name"] for entry in entries) == ENTITY_SETS
    for entry in entries:
        assert entry["kind"] == "EntitySet"
        assert entry["url"] == entry["name"]


def test_service_document_without_trailing_slash(sqlite_client: TestClient) -> None:
    response = sqlite_client.get("/data")
    assert response.status_code == 200
    assert sorted(entry["name"] for entry in response.json()["value"]) == ENTITY_SETS


def test_service_document_urls_resolve(sqlite_client: TestClient) -> None:
    """Every url of the service document answers a collection (relative to the service root)."""
    for entry in sqlite_client.get("/data/").json()["value"]:
        response = sqlite_client.get(f"/data/{entry['url']}", params={"$top": "1"})
        assert response.status_code == 200, (entry, response.text)
        assert isinstance(response.json()["value"], list)
