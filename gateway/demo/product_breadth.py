"""Demo rows for the product master's breadth (issue 13): category hierarchies and their roles,
categories and product assignments, the three dimension groups, unit conversions (general and
product-specific), and per company the released items' default order settings and barcodes.

Called once, at the end of `generate._generate`, with the products and released items it made: the
rows before are untouched, and the same seed gives the same rows. Reference data (hierarchies,
groups, general conversions) is fixed; assignments, product-specific conversions, order settings and
barcodes grow with the products, so every table has rows at every scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from gateway.demo import schema

if TYPE_CHECKING:  # generate imports this module; the types are only for the checker
    from gateway.demo.generate import _Context, _Item, _Product

# EcoResCategoryNamedHierarchyRole (service.yaml): the roles the demo's hierarchies play.
PROCUREMENT, RETAIL_NAVIGATION, RETAIL_PRODUCT, SALES_REPORTING = 1, 2, 3, 7

# Hierarchy name, description, roles, categories as (name, code, parent name or "" for the root).
# Names are unique across hierarchies: Dataverse finds a parent or an assigned category by name. A
# parent's name also sorts before its children's (initial sync copies a batch in waves anyway, so a
# child listed before its parent waits for it; see gateway/dualwrite/bulk.py).
HIERARCHIES: tuple[tuple[str, str, tuple[int, ...], tuple[tuple[str, str, str], ...]], ...] = (
    ("Contoso retail", "Retail product hierarchy", (RETAIL_PRODUCT, RETAIL_NAVIGATION, SALES_REPORTING), (
        ("Contoso", "10", ""),
        ("Contoso audio", "1010", "Contoso"),
        ("Contoso audio cables", "101010", "Contoso audio"),
        ("Contoso audio speakers", "101020", "Contoso audio"),
        ("Contoso computers", "1020", "Contoso"),
        ("Contoso computers accessories", "102010", "Contoso computers"),
        ("Contoso computers monitors", "102020", "Contoso computers"),
        ("Contoso fashion", "1030", "Contoso"),
        ("Contoso fashion menswear", "103010", "Contoso fashion"),
        ("Contoso fashion womenswear", "103020", "Contoso fashion"),
        ("Contoso home", "1040", "Contoso"),
        ("Contoso services", "1050", "Contoso"),
    )),
    ("Procurement", "Procurement category hierarchy", (PROCUREMENT,), (
        ("Procurement", "20", ""),
        ("Procurement goods", "2010", "Procurement"),
        ("Procurement goods components", "201010", "Procurement goods"),
        ("Procurement goods raw materials", "201020", "Procurement goods"),
        ("Procurement services", "2020", "Procurement"),
    )),
)

# NAME, DESCRIPTION, color, size, style, configuration active
PRODUCT_DIMENSION_GROUPS: tuple[tuple[str, str, int, int, int, int], ...] = (
    ("Color", "Color", 1, 0, 0, 0),
    ("ColSize", "Color and size", 1, 1, 0, 0),
    ("ColSizSty", "Color, size and style", 1, 1, 1, 0),
    ("Config", "Configuration", 0, 0, 0, 1),
    ("Size", "Size", 0, 1, 0, 0),
)
# NAME, DESCRIPTION, warehouse mandatory, location active, warehouse management processes
STORAGE_DIMENSION_GROUPS: tuple[tuple[str, str, int, int, int], ...] = (
    ("SiteWH", "Site and warehouse", 1, 0, 0),
    ("SiteWHLoc", "Site, warehouse and location", 1, 1, 0),
    ("WMS", "Warehouse management processes", 1, 1, 1),
    ("Site", "Site only", 0, 0, 0),
)
# NAME, DESCRIPTION, batch active, serial active
TRACKING_DIMENSION_GROUPS: tuple[tuple[str, str, int, int], ...] = (
    ("None", "No tracking", 0, 0),
    ("Batch", "Batch number", 1, 0),
    ("Serial", "Serial number", 0, 1),
    ("BatchSer", "Batch and serial number", 1, 1),
)
# from, to, factor (general conversions; F&O stores each pair once and reads it both ways)
GENERAL_CONVERSIONS: tuple[tuple[str, str, str], ...] = (
    ("dz", "ea", "12"),
    ("dz", "pcs", "12"),
    ("ea", "pcs", "1"),
    ("kg", "lb", "2.204622621849"),
    ("m", "cm", "100"),
)
BOX_SIZES = (6, 10, 12, 20, 24, 48)
ORDER_KINDS = (schema.INVENTITEMSALESSETUP, schema.INVENTITEMPURCHSETUP, schema.INVENTITEMINVENTSETUP)
SERVICES_CATEGORY = "Contoso services"  # where every service is assigned


def write_product_breadth(ctx: _Context, units: Mapping[str, int], products: Sequence[_Product],
                          items: Mapping[str, Sequence[_Item]]) -> None:
    """Every row of the product master breadth tables (see the module docstring); `units` are the
    UNITOFMEASURE RECIDs by symbol, `items` the released items by company."""
    _write_categories(ctx, products)
    _write_dimension_groups(ctx, products)
    _write_product_conversions(ctx, products, units)
    for source, target, factor in GENERAL_CONVERSIONS:
        ctx.insert(schema.UNITOFMEASURECONVERSION, FROMUNITOFMEASURE=units[source], TOUNITOFMEASURE=units[target],
                   PRODUCT=0, FACTOR=Decimal(factor), NUMERATOR=1, DENOMINATOR=1, ROUNDING=0)
    for company, company_items in items.items():
        _write_order_settings(ctx, company, company_items)
        _write_barcodes(ctx, company, company_items, products)


def _write_categories(ctx: _Context, products: Sequence[_Product]) -> None:
    """Hierarchies, roles, categories; every releasable product is assigned to a leaf of the retail
    hierarchy, and about half of the items to a procurement category too."""
    leaves: dict[str, list[tuple[int, int]]] = {}
    service_category: tuple[int, int] | None = None
    for name, description, roles, categories in HIERARCHIES:
        hierarchy = ctx.insert(schema.ECORESCATEGORYHIERARCHY, NAME=name, DESCRIPTION=description)
        for role in roles:
            ctx.insert(schema.ECORESCATEGORYHIERARCHYROLE, CATEGORYHIERARCHY=hierarchy, NAMEDCATEGORYHIERARCHYROLE=role)
        recids: dict[str, int] = {}
        levels: dict[str, int] = {}
        parents = {parent for _, _, parent in categories}
        for category, code, parent in categories:
            levels[category] = levels[parent] + 1 if parent else 1
            recids[category] = ctx.insert(
                schema.ECORESCATEGORY, CATEGORYHIERARCHY=hierarchy, PARENTCATEGORY=recids[parent] if parent else 0,
                NAME=category, CODE=code, LEVEL_=levels[category], DESCRIPTION=f"{category} ({code})")
            if category == SERVICES_CATEGORY:
                service_category = (hierarchy, recids[category])
            elif category not in parents:
                leaves.setdefault(name, []).append((hierarchy, recids[category]))
    assert service_category is not None
    retail, procurement = (leaves[name] for name, _, _, _ in HIERARCHIES)
    rng = ctx.rng
    for product in products:
        assigned = [service_category if product.is_service else rng.choice(retail)]
        if not product.is_service and rng.random() < 0.5:
            assigned.append(rng.choice(procurement))
        for hierarchy_recid, category_recid in assigned:
            ctx.insert(schema.ECORESPRODUCTCATEGORY, PRODUCT=product.recid, CATEGORYHIERARCHY=hierarchy_recid,
                       CATEGORY=category_recid)


def _write_dimension_groups(ctx: _Context, products: Sequence[_Product]) -> None:
    groups: dict[str, int] = {}
    for name, description, color, size, style, config in PRODUCT_DIMENSION_GROUPS:
        groups[name] = ctx.insert(schema.ECORESPRODUCTDIMENSIONGROUP, NAME=name, DESCRIPTION=description,
                                  ISCOLORACTIVE=color, ISSIZEACTIVE=size, ISSTYLEACTIVE=style,
                                  ISCONFIGURATIONACTIVE=config)
    for name, description, mandatory, location, whs in STORAGE_DIMENSION_GROUPS:
        ctx.insert(schema.ECORESSTORAGEDIMENSIONGROUP, NAME=name, DESCRIPTION=description,
                   ISWAREHOUSEMANDATORY=mandatory, ISLOCATIONACTIVE=location, ISWAREHOUSEWHSENABLED=whs)
    for name, description, batch, serial in TRACKING_DIMENSION_GROUPS:
        ctx.insert(schema.ECORESTRACKINGDIMENSIONGROUP, NAME=name, DESCRIPTION=description, ISBATCHACTIVE=batch,
                   ISSERIALACTIVE=serial)
    for product in products:  # masters: the group that activates the dimensions their variants use
        if not product.variants:
            continue
        sizes = any(size for _, size in product.variants)
        colors = any(color for color, _ in product.variants)
        group = "ColSize" if colors and sizes else "Size" if sizes else "Color"
        ctx.insert(schema.ECORESPRODUCTDIMENSIONGROUPPRODUCT, PRODUCT=product.recid, PRODUCTDIMENSIONGROUP=groups[group])


def _write_product_conversions(ctx: _Context, products: Sequence[_Product], units: Mapping[str, int]) -> None:
    """Boxes of a counted product hold a product-specific number of pieces; a box of kg goods weighs
    its own amount: about a third of the items have one."""
    rng = ctx.rng
    for product in products:
        if product.is_service or rng.random() >= 0.35:
            continue
        if product.unit in ("ea", "pcs"):
            source, target, factor = "box", product.unit, Decimal(rng.choice(BOX_SIZES))
        elif product.unit == "box":
            source, target, factor = "box", "ea", Decimal(rng.choice(BOX_SIZES))
        else:  # a piece of goods sold by weight, length or volume
            source, target, factor = "ea", product.unit, Decimal(rng.randint(50, 2500)) / 100
        ctx.insert(schema.UNITOFMEASURECONVERSION, FROMUNITOFMEASURE=units[source], TOUNITOFMEASURE=units[target],
                   PRODUCT=product.recid, FACTOR=factor, NUMERATOR=1, DENOMINATOR=1, ROUNDING=rng.choice((0, 0, 1, 2)))


def _write_order_settings(ctx: _Context, company: str, items: Sequence[_Item]) -> None:
    """Sales, purchase and inventory default order settings of every released item (the 'AllBlank'
    row: the item's default)."""
    rng = ctx.rng
    for item in items:
        for table in ORDER_KINDS:
            multiple = rng.choice((1, 1, 1, 5, 10, 12))
            lowest = multiple * rng.choice((0, 1, 1, 2))
            ctx.insert(table, DATAAREAID=company, ITEMID=item.item_id, INVENTDIMID="AllBlank",
                       LOWESTQTY=Decimal(lowest), HIGHESTQTY=Decimal(multiple * rng.choice((0, 100, 500, 1000))),
                       STANDARDQTY=Decimal(max(lowest, multiple)), MULTIPLEQTY=Decimal(multiple),
                       LEADTIME=rng.choice((0, 1, 2, 3, 5, 7, 14)), STOPPED=1 if rng.random() < 0.03 else 0)


def _write_barcodes(ctx: _Context, company: str, items: Sequence[_Item], products: Sequence[_Product]) -> None:
    """An EAN-13 for each released item (not services), and a second one for the box of some."""
    services = {product.number for product in products if product.is_service}
    company_digit = {"usmf": 1, "usrt": 2, "demf": 4}.get(company, 9)
    for index, item in enumerate(items):
        if item.item_id in services:
            continue
        barcode = _ean13(f"{company_digit}{520000 + index:06d}{index % 100000:05d}")
        ctx.insert(schema.INVENTITEMBARCODE, DATAAREAID=company, ITEMBARCODE=barcode, ITEMID=item.item_id,
                   BARCODESETUPID="EAN13", QTY=Decimal(1), UNITID=item.unit, DESCRIPTION=item.item_id,
                   USEFORINPUT=1, USEFORPRINTING=1)
        if ctx.rng.random() < 0.2:
            box = _ean13(f"{company_digit}{530000 + index:06d}{index % 100000:05d}")
            ctx.insert(schema.INVENTITEMBARCODE, DATAAREAID=company, ITEMBARCODE=box, ITEMID=item.item_id,
                       BARCODESETUPID="EAN13", QTY=Decimal(ctx.rng.choice(BOX_SIZES)), UNITID=item.unit,
                       DESCRIPTION=f"{item.item_id} box", USEFORINPUT=1, USEFORPRINTING=0)


def _ean13(twelve: str) -> str:
    """Twelve digits and the EAN-13 check digit."""
    digits = [int(char) for char in twelve[-12:].rjust(12, "0")]
    total = sum(digit * (3 if position % 2 else 1) for position, digit in enumerate(digits))
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)
