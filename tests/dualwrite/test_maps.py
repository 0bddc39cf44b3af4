"""Table maps are data: loading checks them against both catalogs and names each mistake's file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.catalog.load import CatalogError, load_catalog
from gateway.dualwrite.maps import load_maps
from gateway.settings import DEFAULT_DATAVERSE_CATALOG, DEFAULT_MAPS
from tests.conftest import repository_root

FO = load_catalog(repository_root() / "entities" / "fno")
DV = load_catalog(DEFAULT_DATAVERSE_CATALOG)

GOOD = """name: Customers
fo: CustomersV3
dv: accounts
company: {fo: dataAreaId, dv: msdyn_company.cdm_companycode}
key: [CustomerAccount]
fields:
  - {fo: CustomerAccount, dv: accountnumber}
  - {fo: OrganizationName, dv: name}
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "map.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as raised:
        load_maps(tmp_path, FO, DV)
    return [str(problem) for problem in raised.value.problems]


def test_shipped_maps_load_in_prerequisite_order() -> None:
    maps = load_maps(DEFAULT_MAPS, FO, DV)
    order = [table_map.name for table_map in maps.ordered()]
    assert len(order) == len(list(Path(DEFAULT_MAPS).glob("*.yaml"))) >= 17  # one map per file
    for table_map in maps.maps.values():
        for required in table_map.requires:
            assert order.index(required) < order.index(table_map.name)
    assert order.index("Sales order headers") < order.index("Sales order lines")


def test_a_good_map_loads(tmp_path: Path) -> None:
    (tmp_path / "map.yaml").write_text(GOOD, encoding="utf-8")
    assert list(load_maps(tmp_path, FO, DV).maps) == ["Customers"]


@pytest.mark.parametrize(("change", "message", "line"), [
    (("dv: accounts", "dv: account"), "Dataverse has no table account", 3),
    (("{fo: OrganizationName, dv: name}", "{fo: OrganisationName, dv: name}"), "has no property OrganisationName", 8),
    (("{fo: OrganizationName, dv: name}", "{fo: OrganizationName, dv: nam}"), "accounts has no column nam", 8),
    (("msdyn_company.cdm_companycode", "msdyn_company.code"), "cdm_companies has no column code", 4),
    (("msdyn_company.cdm_companycode", "name.cdm_companycode"), "name is not a lookup of accounts", 4),
    (("key: [CustomerAccount]", "key: [CreditLimit]"), "key CreditLimit is not a mapped field", 5),
    (("company: {fo: dataAreaId, dv: msdyn_company.cdm_companycode}\n", ""), "needs 'company'", 2),
    (("fields:", "filter: {fo: CreditLimit gt 'x'}\nfields:"), "filter", 6),
    (("fields:", "requires: [Nothing]\nfields:"), "no map named 'Nothing'", 6),
    (("  - {fo: OrganizationName, dv: name}", "  - {dv: name}"), "needs a default or a template", 8),
])
def test_mistakes_are_reported_with_file_and_line(tmp_path: Path, change: tuple[str, str], message: str,
                                                  line: int) -> None:
    found = problems(tmp_path, GOOD.replace(*change))
    assert any(message in problem and f"map.yaml:{line}:" in problem for problem in found), found


def test_value_maps_are_checked(tmp_path: Path) -> None:
    text = GOOD + '  - {fo: OnHoldStatus, dv: creditonhold, to_dv: {"Maybe": true}}\n'
    found = problems(tmp_path, text)
    assert any("Maybe" in problem and "map.yaml:9:" in problem for problem in found), found


def test_prerequisite_cycles_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD.replace("name: Customers", "name: A\nrequires: [B]"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(GOOD.replace("name: Customers", "name: B\nrequires: [A]"), encoding="utf-8")
    with pytest.raises(CatalogError, match="cycle"):
        load_maps(tmp_path, FO, DV)
