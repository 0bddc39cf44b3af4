"""The virtual tables' shape (DOMAIN.md §5), checked against the F&O catalog files themselves."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gateway.catalog.load import DEFAULT_CATALOG, load_catalog
from gateway.virtual.generate import virtual_catalog
from gateway.virtual.naming import plural

FNO_FILES = sorted((Path(DEFAULT_CATALOG) / "entities").glob("*.yaml"))
ENUMS = yaml.safe_load((Path(DEFAULT_CATALOG) / "service.yaml").read_text())["enums"]


@pytest.fixture(scope="module")
def generated():  # type: ignore[no-untyped-def]
    return virtual_catalog(load_catalog())


@pytest.mark.parametrize("path", FNO_FILES, ids=[path.stem for path in FNO_FILES])
def test_every_entity_is_a_virtual_table_named_as_f_and_o_names_it(generated, path: Path) -> None:  # type: ignore[no-untyped-def]
    source = yaml.safe_load(path.read_text())
    table = "mserp_" + source["physical_name"].lower()
    entity = generated.catalog.entities[plural(table)]
    assert entity.entity_type == table
    assert generated.source_sets[entity.entity_set] == source["entity_set"]
    assert entity.key == [table + "id"]
    key = entity.properties[table + "id"]
    assert key.type == "Edm.Guid" and key.read_only and key.row_guid is not None
    assert key.column.endswith(".RECID") and key.column.split(".")[0] == source["sources"][0]["alias"]
    primary = entity.properties["mserp_primaryfield"]
    assert primary.joined == [source["properties"][name]["column"] for name in source["key"]]
    assert entity.company_specific == source.get("company_specific", False)
    for name, spec in source["properties"].items():
        column = entity.properties["mserp_" + name.lower()]
        assert column.column == spec["column"]
        if spec["type"] in ENUMS:  # an option set: the stored integer, labelled with the member name
            assert column.type == "Edm.Int32" and column.labels == ENUMS[spec["type"]]
        else:
            assert column.type == spec["type"]
    for name, spec in source.get("navigation", {}).items():
        target = yaml.safe_load((path.parent / f"{spec['target']}.yaml").read_text())
        if spec.get("collection"):
            nav = entity.navigation[f"mserp_FK_{source['physical_name']}_{name}"]
        else:  # two lookups to one table (a conversion's from and to unit): the relation's name tells them apart
            twins = [other for other in source["navigation"].values()
                     if not other.get("collection") and other["target"] == spec["target"]]
            suffix = f"_{name.lower()}" if len(twins) > 1 else ""
            nav = entity.navigation[f"mserp_fk_{target['physical_name'].lower()}{suffix}_id"]
        assert nav.target == plural("mserp_" + target["physical_name"].lower())
        assert nav.link == {"mserp_" + mine.lower(): "mserp_" + theirs.lower() for mine, theirs in spec["link"].items()}


@pytest.mark.parametrize(("name", "expected"), [
    ("mserp_custcustomerv3entity", "mserp_custcustomerv3entities"), ("mserp_omlegalentity", "mserp_omlegalentities"),
    ("mserp_box", "mserp_boxes"), ("mserp_day", "mserp_days"), ("mserp_class", "mserp_classes"),
])  # fmt: skip
def test_entity_sets_are_pluralized_as_dataverse_does(name: str, expected: str) -> None:
    assert plural(name) == expected


def test_only_keeps_navigation_between_visible_tables(generated) -> None:  # type: ignore[no-untyped-def]
    shown = generated.only(frozenset({"mserp_custcustomerv3entities", "mserp_salesorderheaderv2entities"}))
    assert set(shown.entities) == {"mserp_custcustomerv3entities", "mserp_salesorderheaderv2entities"}
    customers = shown.entities["mserp_custcustomerv3entities"]
    assert set(customers.navigation) == {"mserp_FK_CustCustomerV3Entity_SalesOrders"}  # not the hidden group


def test_metadata_says_virtual_tables_refuse_skip(generated) -> None:  # type: ignore[no-untyped-def]
    from gateway.serialize.csdl import metadata_json

    document = metadata_json(generated.catalog)
    container = document["Microsoft.Dynamics.CRM"]["System"]
    customers = container["mserp_custcustomerv3entities"]
    assert customers["@Org.OData.Capabilities.V1.SkipSupported"] is False
    assert customers["@Org.OData.Capabilities.V1.TopSupported"] is True
