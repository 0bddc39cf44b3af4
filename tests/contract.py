"""The F&O service's entity sets, written out by hand: the contract every listing ($metadata, the
service document, `fno-gateway check`, the clients) is compared with. One list, imported by each test
that needs it, so a new entity is added here once (and a missing or extra one fails everywhere)."""

from __future__ import annotations

FNO_ENTITY_SETS = frozenset({
    # DOMAIN.md §2
    "LegalEntities", "CustomerGroups", "CustomersV3", "VendorsV2", "ReleasedProductsV2", "ReleasedProductVariantsV2",
    "ProductColors", "ProductSizes", "ProductStyles", "ProductConfigurations", "UnitsOfMeasure",
    "SalesOrderHeadersV2", "SalesOrderLines",
    "ProductsV2",  # every shared product: the source of dual-write's "All products" map
    # Business events (DOMAIN.md §6, issue 11): what can be raised, where it goes, which goes where.
    "BusinessEventsCatalog", "BusinessEventsEndpoints", "BusinessEventsActivations",
    # The integrated masters (issue 13): vendor groups, currencies and exchange rates ...
    "VendorGroups", "Currencies", "ExchangeRateTypes", "ExchangeRates",
    # ... the organization hierarchy ...
    "OperatingUnits", "OrganizationHierarchies", "OrganizationHierarchyPurposes", "OrganizationHierarchyRelationships",
    # ... and the product master's breadth.
    "ProductCategoryHierarchies", "ProductCategoryHierarchyRoles", "ProductCategories", "ProductCategoryAssignments",
    "ProductDimensionGroups", "StorageDimensionGroups", "TrackingDimensionGroups", "ProductDefaultOrderSettings",
    "UnitOfMeasureConversions", "ProductSpecificUnitOfMeasureConversions", "ProductNumberIdentifiedBarcodes",
})  # fmt: skip
