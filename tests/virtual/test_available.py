"""The available F&O entities table: listing, enabling and disabling at once, refresh of a changed catalog."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.catalog.load import DEFAULT_CATALOG
from gateway.cli import main
from gateway.virtual.available import REFRESH_SECONDS
from tests.conftest import TEST_DEV_KEY, Backend, bearer
from tests.virtual.conftest import API, AVAILABLE, Virtual, close_virtual, dataverse_store, open_virtual

CUSTOMERS = f"{API}/mserp_custcustomerv3entities"


@pytest.fixture()
def catalog_folder(tmp_path: Path) -> Path:
    """A copy of the F&O catalog that a test may change (as a user's catalog changes)."""
    folder = tmp_path / "fno"
    shutil.copytree(DEFAULT_CATALOG, folder)
    return folder


@pytest.fixture()
def gateway(sqlite_backend: Backend, tmp_path: Path, catalog_folder: Path) -> Iterator[tuple[Virtual, str]]:
    """A gateway with nothing enabled yet (open_virtual enables all; this one starts hidden)."""
    virtual = open_virtual(sqlite_backend, tmp_path, "dv", entities=str(catalog_folder))
    for name in _physical_names():
        virtual.set_visible(name, False)
    yield virtual, dataverse_store(sqlite_backend, tmp_path, "dv")
    close_virtual(virtual)


def _physical_names() -> list[str]:
    return sorted(yaml.safe_load(path.read_text())["physical_name"]
                  for path in (Path(DEFAULT_CATALOG) / "entities").glob("*.yaml"))


def _cli(*arguments: str, db: str, dataverse: str, entities: Path) -> int:
    return main(["virtual", *arguments, "--db", db, "--dataverse-db", dataverse, "--entities", str(entities),
                 "--dev-key", str(TEST_DEV_KEY)])


def _names(virtual: Virtual) -> set[str]:
    return {item["name"] for item in virtual.get(f"{API}/")["value"]}


def test_one_row_per_f_and_o_entity(gateway: tuple[Virtual, str]) -> None:
    virtual, _ = gateway
    rows = virtual.get(AVAILABLE)["value"]
    assert sorted(row["mserp_physicalname"] for row in rows) == _physical_names()
    files = {yaml.safe_load(p.read_text())["physical_name"]: yaml.safe_load(p.read_text())
             for p in (Path(DEFAULT_CATALOG) / "entities").glob("*.yaml")}
    for row in rows:
        source = files[row["mserp_physicalname"]]
        assert row["mserp_entityname"] == source["entity_set"]
        assert row["mserp_label"] == source["label"]
        assert row["mserp_iscompanyspecific"] == source.get("company_specific", False)
        assert row["mserp_tablename"] == "mserp_" + source["physical_name"].lower()
        assert row["mserp_isvisible"] is False and row["mserp_refreshedon"]
    # Also by the physical name as an alternate key, and by its Guid (stable: made from the name).
    one = virtual.get(f"{AVAILABLE}(mserp_physicalname='CustCustomerV3Entity')")
    assert virtual.get(f"{AVAILABLE}({one['mserp_financeandoperationsentityid']})")["mserp_entityname"] == "CustomersV3"


def test_enabling_serves_the_table_at_once_and_disabling_hides_it(gateway: tuple[Virtual, str]) -> None:
    virtual, _ = gateway
    hidden = virtual.client.get(CUSTOMERS)
    assert hidden.status_code == 404
    error = hidden.json()["error"]
    assert error["code"] == "0x80040217"
    assert "fno-gateway virtual enable CustCustomerV3Entity" in error["message"]
    assert "mserp_physicalname='CustCustomerV3Entity'" in error["message"]
    assert "mserp_custcustomerv3entities" not in _names(virtual)
    assert "mserp_custcustomerv3entity" not in virtual.client.get(f"{API}/$metadata").text

    virtual.set_visible("CustCustomerV3Entity", True)  # no restart, no sleep: this worker serves it now
    assert "mserp_custcustomerv3entities" in _names(virtual)
    assert 'EntityType Name="mserp_custcustomerv3entity"' in virtual.client.get(f"{API}/$metadata").text
    total = virtual.fo_sql("SELECT count(*) FROM CUSTTABLE")[0][0]
    assert len(virtual.all_pages(CUSTOMERS, **{"$select": "mserp_customeraccount"})) == total

    virtual.set_visible("CustCustomerV3Entity", False)
    assert virtual.client.get(CUSTOMERS).status_code == 404
    assert "mserp_custcustomerv3entities" not in _names(virtual)


def test_navigation_appears_when_both_ends_are_visible(gateway: tuple[Virtual, str]) -> None:
    virtual, _ = gateway
    virtual.set_visible("CustCustomerV3Entity", True)
    expand = {"$expand": "mserp_fk_custcustomergroupentity_id", "$top": "1"}
    assert virtual.client.get(CUSTOMERS, params=expand).status_code == 400  # the group table is hidden
    virtual.set_visible("CustCustomerGroupEntity", True)
    row = virtual.get(CUSTOMERS, **expand)["value"][0]
    assert row["mserp_fk_custcustomergroupentity_id"]["mserp_customergroupid"] == row["mserp_customergroupid"]


def test_the_command_line_enables_lists_and_disables(gateway: tuple[Virtual, str], sqlite_backend: Backend,
                                                      catalog_folder: Path, capsys: Any) -> None:
    virtual, store = gateway
    assert _cli("enable", "VendorsV2", "mserp_omlegalentity", db=sqlite_backend.url, dataverse=store,
                entities=catalog_folder) == 0
    assert "enabled: VendVendorV2Entity, OMLegalEntity" in capsys.readouterr().out
    time.sleep(REFRESH_SECONDS + 0.1)  # another process changed the table: seen within a second
    assert {"mserp_vendvendorv2entities", "mserp_omlegalentities"} <= _names(virtual)
    assert _cli("list", db=sqlite_backend.url, dataverse=store, entities=catalog_folder) == 0
    listed = {line.split()[0]: line.split()[-1] for line in capsys.readouterr().out.splitlines()[1:]}
    assert listed["VendVendorV2Entity"] == "yes" and listed["CustCustomerV3Entity"] == "no"
    assert _cli("disable", "VendVendorV2Entity", db=sqlite_backend.url, dataverse=store, entities=catalog_folder) == 0
    time.sleep(REFRESH_SECONDS + 0.1)
    assert "mserp_vendvendorv2entities" not in _names(virtual)
    with pytest.raises(SystemExit) as stopped:
        _cli("enable", "NoSuchEntity", db=sqlite_backend.url, dataverse=store, entities=catalog_folder)
    assert stopped.value.code == 2
    assert "VendVendorV2Entity" in capsys.readouterr().err  # the names there are


def test_refresh_picks_up_a_new_property_and_a_new_entity(gateway: tuple[Virtual, str], sqlite_backend: Backend,
                                                          catalog_folder: Path) -> None:
    virtual, store = gateway
    virtual.set_visible("CustCustomerV3Entity", True)
    path = catalog_folder / "entities" / "CustomersV3.yaml"
    text = path.read_text().replace("properties:\n", "properties:\n  PartyRecId: {column: cust.PARTY, type: Edm.Int64}\n", 1)
    path.write_text(text)
    copy = yaml.safe_load((catalog_folder / "entities" / "UnitsOfMeasure.yaml").read_text())
    copy.update(entity_set="UnitsOfMeasureCopy", entity_type="UnitOfMeasureCopy", physical_name="UnitOfMeasureCopyEntity")
    (catalog_folder / "entities" / "UnitsOfMeasureCopy.yaml").write_text(yaml.safe_dump(copy))
    before = virtual.client.get(CUSTOMERS, params={"$select": "mserp_partyrecid"})
    assert before.status_code == 400  # not served before the refresh

    assert _cli("refresh", db=sqlite_backend.url, dataverse=store, entities=catalog_folder) == 0
    assert _cli("enable", "UnitOfMeasureCopyEntity", db=sqlite_backend.url, dataverse=store,
                entities=catalog_folder) == 0
    time.sleep(REFRESH_SECONDS + 0.1)
    rows = virtual.all_pages(CUSTOMERS, **{"$select": "mserp_customeraccount,mserp_partyrecid"})
    expected = dict(virtual.fo_sql("SELECT ACCOUNTNUM, PARTY FROM CUSTTABLE"))
    assert {row["mserp_customeraccount"]: row["mserp_partyrecid"] for row in rows} == expected
    units = virtual.all_pages(f"{API}/mserp_unitofmeasurecopyentities", **{"$select": "mserp_unitsymbol"})
    assert sorted(row["mserp_unitsymbol"] for row in units) == sorted(
        row[0] for row in virtual.fo_sql("SELECT SYMBOL FROM UNITOFMEASURE"))
    listed = virtual.get(AVAILABLE, **{"$filter": "mserp_physicalname eq 'UnitOfMeasureCopyEntity'"})["value"]
    assert listed and listed[0]["mserp_isvisible"] is True


def test_only_a_writer_of_the_table_may_enable(gateway: tuple[Virtual, str]) -> None:
    virtual, _ = gateway
    reader = virtual.client.patch(f"{AVAILABLE}(mserp_physicalname='CustCustomerV3Entity')",
                                  json={"mserp_isvisible": True}, headers=bearer("reader", ("DataReader",)))
    assert reader.status_code == 403 and reader.json()["error"]["code"] == "0x80040220"
    assert virtual.client.get(CUSTOMERS).status_code == 404
    renamed = virtual.client.patch(f"{AVAILABLE}(mserp_physicalname='CustCustomerV3Entity')",
                                   json={"mserp_entityname": "Other"})
    assert renamed.status_code == 400  # only mserp_isvisible may be written


def test_a_refusal_names_both_privileges_a_virtual_table_needs(gateway: tuple[Virtual, str]) -> None:
    virtual, _ = gateway
    virtual.set_visible("CustCustomerV3Entity", True)
    clerk = virtual.client.get(CUSTOMERS, headers=bearer("clerk", ("SalesClerk",)))  # fno:CustomersV3 only
    assert clerk.status_code == 403
    message = clerk.json()["error"]["message"]
    assert "dataverse:mserp_custcustomerv3entities" in message and "fno:CustomersV3" in message
