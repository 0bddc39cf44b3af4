"""The example catalog's $metadata (singleton, functions, actions, imports) validates against the OASIS
CSDL schemas, in XML and JSON, and says what the catalog declares."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from starlette.testclient import TestClient

from tests.clients.test_csdl_conformance import _json_errors, _xml_errors

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def test_xml_metadata_is_valid_and_complete(catalog_client: TestClient) -> None:
    document = catalog_client.get("/data/$metadata").content
    assert _xml_errors(document) == []
    schema = ET.fromstring(document).find(f".//{EDM}Schema")
    assert schema is not None
    functions = {element.get("Name"): element for element in schema.findall(f"{EDM}Function")}
    assert set(functions) == {"GetTopProducts", "CategoryNames", "PriceWithTax", "MostExpensive"}
    assert functions["GetTopProducts"].get("IsComposable") == "true"
    top_return = functions["GetTopProducts"].find(f"{EDM}ReturnType")
    assert top_return is not None and top_return.get("Type") == "Collection(Example.Catalog.Product)"
    bound = [(p.get("Name"), p.get("Type")) for p in functions["PriceWithTax"].findall(f"{EDM}Parameter")]
    assert bound == [("_this", "Example.Catalog.Product"), ("rate", "Edm.Decimal")]
    actions = {element.get("Name") for element in schema.findall(f"{EDM}Action")}
    assert actions == {"Discount"}
    container = schema.find(f"{EDM}EntityContainer")
    assert container is not None
    singleton = container.find(f"{EDM}Singleton")
    assert singleton is not None and singleton.get("Name") == "Company"
    types = {element.get("Name"): element for element in schema.findall(f"{EDM}EntityType")}
    assert types["MediaItem"].get("HasStream") == "true"
    assert "Content" not in {p.get("Name") for p in types["MediaItem"].findall(f"{EDM}Property")}
    assert types["DigitalProduct"].get("BaseType") == "Example.Catalog.Product"
    assert {p.get("Name") for p in types["DigitalProduct"].findall(f"{EDM}Property")} == {"DownloadUrl", "FileSizeMB"}
    assert "DownloadUrl" not in {p.get("Name") for p in types["Product"].findall(f"{EDM}Property")}
    photo = [p for p in types["Product"].findall(f"{EDM}Property") if p.get("Name") == "Photo"]
    assert photo and photo[0].get("Type") == "Edm.Stream"
    imports = {element.get("Name"): element.get("EntitySet") for element in container.findall(f"{EDM}FunctionImport")}
    assert imports == {"GetTopProducts": "Products", "CategoryNames": None}


def test_json_metadata_is_valid(catalog_client: TestClient) -> None:
    document = catalog_client.get("/data/$metadata", headers={"Accept": "application/json"}).json()
    assert _json_errors(document) == []
    schema = document["Example.Catalog"]
    assert schema["Discount"][0]["$Kind"] == "Action" and schema["Discount"][0]["$IsBound"] is True
    assert schema["Catalog"]["Company"] == {"$Type": "Example.Catalog.CompanyProfile"}
    assert schema["Catalog"]["GetTopProducts"] == {"$Function": "Example.Catalog.GetTopProducts", "$EntitySet": "Products"}
