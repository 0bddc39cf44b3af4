"""The independent side of the authorization tests: security folders written from plain dicts, the
expected answer computed from those dicts in plain Python (never by gateway.identity), the catalog
read straight from its YAML files, and sample keys read with hand-written SQL over the physical tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, text

from tests.conftest import repository_root

EVERY = "*"
OPERATIONS = ("read", "create", "update", "delete")
FNO_ENTITIES = repository_root() / "entities" / "fno" / "entities"


# ---------------------------------------------------------------------- the catalog, from its YAML
@dataclass(frozen=True)
class EntityFacts:
    name: str
    entity_type: str
    company_specific: bool
    writable: bool
    upsert: bool  # PATCH to a key that is not there creates it
    key: tuple[str, ...]
    properties: dict[str, dict[str, Any]]
    navigation: dict[str, dict[str, Any]]  # name -> {target, collection, link}


def fno_catalog() -> dict[str, EntityFacts]:
    facts: dict[str, EntityFacts] = {}
    for path in sorted(FNO_ENTITIES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        facts[data["entity_set"]] = EntityFacts(
            data["entity_set"], data["entity_type"], bool(data.get("company_specific")), bool(data.get("writable")),
            bool(data.get("upsert")), tuple(data["key"]), data["properties"], data.get("navigation") or {})
    return facts


CATALOG = fno_catalog()


# ---------------------------------------------------------------------- security folders
def write_security(folder: Path, roles: dict[str, Any], users: list[dict[str, Any]],
                   anonymous_role: str | None = None, api_keys: list[dict[str, Any]] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "roles.yaml").write_text(yaml.safe_dump({"roles": roles, "anonymous_role": anonymous_role}),
                                       encoding="utf-8")
    (folder / "users.yaml").write_text(yaml.safe_dump({"users": users, "api_keys": api_keys or []}), encoding="utf-8")
    return folder


# ---------------------------------------------------------------------- the expected answer
@dataclass(frozen=True)
class Policy:
    """What a principal may do, evaluated over the dicts the security folder was written from."""

    roles: dict[str, Any]
    every_company: tuple[str, ...]
    default_company: str = "usmf"

    def assignments(self, user: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
        """(role, effective companies) of each assignment: its own, else the user's, else the role's."""
        result = []
        for item in user.get("roles", []):
            role, own = (item, None) if isinstance(item, str) else (item["role"], item.get("companies"))
            chosen = own if own is not None else user.get("companies")
            if chosen is None:
                chosen = self.roles[role].get("companies", EVERY)
            result.append((role, self.every_company if chosen == EVERY else tuple(c.lower() for c in chosen)))
        return result

    def companies(self, user: dict[str, Any]) -> tuple[str, ...]:
        chosen = {company for _, companies in self.assignments(user) for company in companies}
        return tuple(company for company in self.every_company if company in chosen)

    def current(self, user: dict[str, Any]) -> str:
        mine = self.companies(user)
        default = (user.get("default_company") or self.default_company).lower()
        return mine[0] if mine and default not in mine else default

    def privilege(self, user: dict[str, Any], service: str, entity_set: str, operation: str) -> set[str]:
        """Companies in which the user holds `operation` (write implies read)."""
        found: set[str] = set()
        for role, companies in self.assignments(user):
            for target, operations in self.roles[role].get("privileges", {}).items():
                grant_service, _, pattern = target.partition(":")
                if grant_service != service or not fnmatchcase(entity_set, pattern):
                    continue
                if operation in operations or (operation == "read" and operations):
                    found |= set(companies)
        return found

    def requested(self, user: dict[str, Any], company: str | None, cross: bool) -> tuple[str, ...] | None:
        """The companies a request reads, or None when the request's company is not the user's."""
        current = (company or self.current(user)).lower()
        if current not in self.companies(user):
            return None
        return self.companies(user) if cross else (current,)

    def readable(self, user: dict[str, Any], entity_set: str, company: str | None, cross: bool,
                 operation: str = "read") -> tuple[str, ...] | None:
        """The companies a read of `entity_set` covers (every requested one for shared entities), or
        None for 403."""
        requested = self.requested(user, company, cross)
        if requested is None:
            return None
        held = self.privilege(user, "fno", entity_set, operation)
        if not held:
            return None
        if not CATALOG[entity_set].company_specific:
            return requested
        allowed = tuple(c for c in requested if c in held)
        return allowed or None


# ---------------------------------------------------------------------- the database, by hand
def every_company(engine: Engine) -> tuple[str, ...]:
    with engine.connect() as connection:
        return tuple(sorted(row[0] for row in connection.execute(text("SELECT ID FROM DATAAREA"))))


# A key of one row per entity set and company (None for shared entities), by hand-written SQL.
_KEY_SQL: dict[str, str] = {
    "LegalEntities": "SELECT ID FROM DATAAREA WHERE ID = :company",
    "CustomerGroups": "SELECT DATAAREAID, CUSTGROUP FROM CUSTGROUP WHERE DATAAREAID = :company ORDER BY CUSTGROUP",
    "CustomersV3": "SELECT c.DATAAREAID, c.ACCOUNTNUM FROM CUSTTABLE c JOIN DIRPARTYTABLE p ON p.RECID = c.PARTY "
                   "WHERE c.DATAAREAID = :company ORDER BY c.ACCOUNTNUM",
    "VendorsV2": "SELECT v.DATAAREAID, v.ACCOUNTNUM FROM VENDTABLE v JOIN DIRPARTYTABLE p ON p.RECID = v.PARTY "
                 "WHERE v.DATAAREAID = :company ORDER BY v.ACCOUNTNUM",
    "ReleasedProductsV2": "SELECT i.DATAAREAID, i.ITEMID FROM INVENTTABLE i JOIN ECORESPRODUCT p ON p.RECID = i.PRODUCT "
                          "WHERE i.DATAAREAID = :company ORDER BY i.ITEMID",
    "ReleasedProductVariantsV2": (
        "SELECT i.DATAAREAID, i.ITEMID, v.COLOR, v.SIZE_, v.STYLE, v.CONFIG FROM ECORESPRODUCT v "
        "JOIN ECORESPRODUCT m ON m.RECID = v.PRODUCTMASTER JOIN INVENTTABLE i ON i.PRODUCT = m.RECID "
        "WHERE v.PRODUCTSUBTYPE = 3 AND i.DATAAREAID = :company ORDER BY i.ITEMID, v.DISPLAYPRODUCTNUMBER"),
    "ProductColors": "SELECT NAME FROM ECORESCOLOR ORDER BY NAME",
    "ProductSizes": "SELECT NAME FROM ECORESSIZE ORDER BY NAME",
    "ProductStyles": "SELECT NAME FROM ECORESSTYLE ORDER BY NAME",
    "ProductConfigurations": "SELECT NAME FROM ECORESCONFIGURATION ORDER BY NAME",
    "ProductsV2": "SELECT DISPLAYPRODUCTNUMBER FROM ECORESPRODUCT ORDER BY DISPLAYPRODUCTNUMBER",
    "UnitsOfMeasure": "SELECT SYMBOL FROM UNITOFMEASURE ORDER BY SYMBOL",
    "SalesOrderHeadersV2": "SELECT DATAAREAID, SALESID FROM SALESTABLE WHERE DATAAREAID = :company ORDER BY SALESID",
    "SalesOrderLines": "SELECT DATAAREAID, INVENTTRANSID FROM SALESLINE WHERE DATAAREAID = :company "
                       "ORDER BY INVENTTRANSID",
    "BusinessEventsCatalog": "SELECT BUSINESSEVENTID FROM BUSINESSEVENTCATALOG ORDER BY BUSINESSEVENTID",
    "BusinessEventsEndpoints": "SELECT ENDPOINTID FROM BUSINESSEVENTENDPOINT ORDER BY ENDPOINTID",
    "BusinessEventsActivations": "SELECT ACTIVATIONID FROM BUSINESSEVENTACTIVATION ORDER BY ACTIVATIONID",
    "ExchangeRates": "SELECT t.NAME, p.FROMCURRENCYCODE, p.TOCURRENCYCODE, r.VALIDFROM FROM EXCHANGERATE r "
                     "JOIN EXCHANGERATECURRENCYPAIR p ON p.RECID = r.EXCHANGERATECURRENCYPAIR "
                     "JOIN EXCHANGERATETYPE t ON t.RECID = p.EXCHANGERATETYPE ORDER BY 1, 2, 3, 4",
    # The product master's breadth (issue 13): keys from joined tables (EcoResCategoryNamedHierarchyRole 3 is
    # RetailProductHierarchy).
    "ProductCategories": "SELECT h.NAME, c.NAME FROM ECORESCATEGORY c JOIN ECORESCATEGORYHIERARCHY h "
                         "ON h.RECID = c.CATEGORYHIERARCHY ORDER BY 1, 2",
    "ProductCategoryHierarchyRoles": "SELECT h.NAME, 'RetailProductHierarchy' FROM ECORESCATEGORYHIERARCHYROLE r "
                                     "JOIN ECORESCATEGORYHIERARCHY h ON h.RECID = r.CATEGORYHIERARCHY "
                                     "WHERE r.NAMEDCATEGORYHIERARCHYROLE = 3",
    "ProductCategoryAssignments": "SELECT p.DISPLAYPRODUCTNUMBER, h.NAME FROM ECORESPRODUCTCATEGORY a "
                                  "JOIN ECORESPRODUCT p ON p.RECID = a.PRODUCT "
                                  "JOIN ECORESCATEGORYHIERARCHY h ON h.RECID = a.CATEGORYHIERARCHY ORDER BY 1, 2",
    "UnitOfMeasureConversions": "SELECT f.SYMBOL, t.SYMBOL FROM UNITOFMEASURECONVERSION c "
                                "JOIN UNITOFMEASURE f ON f.RECID = c.FROMUNITOFMEASURE "
                                "JOIN UNITOFMEASURE t ON t.RECID = c.TOUNITOFMEASURE WHERE c.PRODUCT = 0 ORDER BY 1, 2",
    "ProductSpecificUnitOfMeasureConversions": (
        "SELECT p.DISPLAYPRODUCTNUMBER, f.SYMBOL, t.SYMBOL FROM UNITOFMEASURECONVERSION c "
        "JOIN ECORESPRODUCT p ON p.RECID = c.PRODUCT JOIN UNITOFMEASURE f ON f.RECID = c.FROMUNITOFMEASURE "
        "JOIN UNITOFMEASURE t ON t.RECID = c.TOUNITOFMEASURE ORDER BY 1, 2, 3"),
    # (HierarchyPurpose 6 is the member Security)
    "OrganizationHierarchyPurposes": "SELECT h.NAME, 'Security' FROM OMHIERARCHYPURPOSE p JOIN OMHIERARCHYTYPE h "
                                     "ON h.RECID = p.HIERARCHYTYPE WHERE p.HIERARCHYPURPOSE = 6 ORDER BY h.NAME",
    "OrganizationHierarchyRelationships": (
        "SELECT h.NAME, c.OPERATINGUNITNUMBER, r.VALIDFROM FROM OMHIERARCHYRELATIONSHIP r "
        "JOIN OMHIERARCHYTYPE h ON h.RECID = r.HIERARCHYTYPE JOIN OMOPERATINGUNIT c ON c.RECID = r.CHILDORGANIZATION "
        "WHERE r.PARENTORGANIZATION IS NOT NULL ORDER BY 1, 2, 3"),  # one below a root: it has a parent
}


def _first_table_key_sql(entity_set: str) -> str:
    """For an entity whose key columns are all in its first table (read from its YAML): that table's key
    columns, in the company when it is company-specific, in key order."""
    data = yaml.safe_load((FNO_ENTITIES / f"{entity_set}.yaml").read_text(encoding="utf-8"))
    first = data["sources"][0]
    columns = [data["properties"][name]["column"].split(".", 1) for name in data["key"]]
    assert all(alias == first["alias"] for alias, _ in columns), f"{entity_set}: write its key query in _KEY_SQL"
    names = ", ".join(column for _, column in columns)
    where = " WHERE DATAAREAID = :company" if data.get("company_specific") else ""
    return f"SELECT {names} FROM {first['table']}{where} ORDER BY {names}"


def sample_key(engine: Engine, entity_set: str, company: str) -> str:
    """The key predicate of the first row of `entity_set` in `company`, e.g. (dataAreaId='usmf',...)."""
    facts = CATALOG[entity_set]
    sql = _KEY_SQL.get(entity_set) or _first_table_key_sql(entity_set)
    with engine.connect() as connection:
        row = connection.execute(text(sql), {"company": company}).first()
    assert row is not None, f"no {entity_set} row in {company}"
    bare = ("Edm.Date", "Edm.Int32", "Edm.Int64")  # key literals written without quotes
    values = [str(value)[:10] if facts.properties[name]["type"] == "Edm.Date" else
              str(value)[:19].replace(" ", "T") + "Z" if facts.properties[name]["type"] == "Edm.DateTimeOffset" else
              str(value) if facts.properties[name]["type"] in bare else "'" + str(value).replace("'", "''") + "'"
              for name, value in zip(facts.key, row)]
    if len(facts.key) == 1:
        return f"({values[0]})"
    return "(" + ",".join(f"{name}={value}" for name, value in zip(facts.key, values)) + ")"


def physical_count(engine: Engine, sql: str, companies: tuple[str, ...]) -> int:
    """count(*) of a hand-written query whose WHERE says `DATAAREAID IN :companies`."""
    from sqlalchemy import bindparam

    statement = text(sql).bindparams(bindparam("companies", expanding=True))
    with engine.connect() as connection:
        return int(connection.execute(statement, {"companies": list(companies)}).scalar_one())


def seed_event_configuration(backend: Any) -> None:
    """An endpoint and an activation to read, update and delete (written as rows: activating through the
    gateway would install capture triggers in the session's shared database)."""
    with backend.engine.begin() as connection:
        if connection.execute(text("SELECT count(*) FROM BUSINESSEVENTENDPOINT")).scalar_one():
            return
        connection.execute(text(
            "INSERT INTO BUSINESSEVENTENDPOINT (RECID, RECVERSION, ENDPOINTID, NAME, ENDPOINTTYPE, URL, "
            "TIMEOUTSECONDS, ENABLED, NEXTCONTROLNUMBER, CREATEDDATETIME) VALUES (9000000001, 1, 'matrix', 'Matrix', "
            "0, 'http://127.0.0.1:9/events', 10, 1, 1, '2026-01-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO BUSINESSEVENTACTIVATION (RECID, RECVERSION, ACTIVATIONID, BUSINESSEVENTID, ENDPOINTID, "
            "LEGALENTITY, CREATEDDATETIME) VALUES (9000000002, 1, 'ACT-MATRIX', 'CustomersV3_Updated', 'matrix', '', "
            "'2026-01-01 00:00:00')"))
