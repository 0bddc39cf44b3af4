"""Deterministic demo data for the physical F&O tables of `schema.py` (DOMAIN.md §1).

`build_demo_database` drops and re-creates every table of `schema.metadata` and fills it from a single
`random.Random(seed)`: the same seed and scale give the same rows on every database, so tests and
benchmarks can name concrete keys (`US-001`, `SO-000001`, `LOT-0000001`). Nothing here reads the clock,
the global random generator or `hash()`, whose values change from run to run.

Volumes grow linearly with `scale`: about 1,000 customers, 100 vendors, 300 products and 10,000
ordinary sales order lines per unit, plus, at every scale, two orders of 1,001-1,500 lines per company
(the documents that dual-write must hand to an asynchronous job). Rows are streamed to the database in
batches, so memory stays flat even at scale 100 (about a million SALESLINE rows).
"""

from __future__ import annotations

import bisect
import itertools
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, create_engine

from gateway.demo import schema
from gateway.demo.currencies import write_currencies
from gateway.demo.organizations import write_organizations
from gateway.demo.product_breadth import write_product_breadth
from gateway.events import store as events_store
from gateway.progress import progress_bar

__all__ = ["DemoSummary", "build_demo_database"]

Row = dict[str, object]
Address = tuple[str, str, str, str]  # street, city, state, ZIP code


@dataclass(frozen=True)
class DemoSummary:
    """What a build produced: rows inserted per table (every table of the schema) and wall time."""

    rows: dict[str, int]
    seconds: float


# --------------------------------------------------------------------------------------------------
# Volumes and conventions
# --------------------------------------------------------------------------------------------------

FIRST_RECID = 5637144576  # F&O's first RecId; one counter for all tables keeps RECIDs globally unique
BATCH_SIZE = 5000  # rows per executemany: big enough to amortize round trips, small enough for memory

CUSTOMERS_PER_SCALE = 1000
VENDORS_PER_SCALE = 100
PRODUCTS_PER_SCALE = 300
LINES_PER_SCALE = 10_000  # ordinary order lines; the big orders come on top
MIN_CUSTOMERS_PER_COMPANY = 10
MIN_VENDORS_PER_COMPANY = 5
PERSON_VENDOR_SHARE = 10  # one person vendor per this many organization vendors (at least one per company)
MIN_PRODUCTS = 30
BIG_ORDERS_PER_COMPANY = 2
BIG_ORDER_LINES = (1001, 1500)
MAX_ORDINARY_LINES = 40

EPOCH = datetime(2018, 1, 1)
LAST_SECOND = int((datetime(2025, 12, 31, 23, 59, 59) - EPOCH).total_seconds())
# Customers are created before mid-2025 so that each one has time left to place orders afterwards.
CUSTOMER_CREATION_SECONDS = int((datetime(2025, 7, 1) - EPOCH).total_seconds())
MAX_SHIPPING_DELAY_DAYS = 90  # created <= 2025-12-31, so requested shipping dates stay within 2026

RECVERSION_LIMIT = 2**31 - 1  # F&O RecVersion is a random positive int32


@dataclass(frozen=True)
class _Company:
    id: str
    name: str
    currency: str
    country: str  # COUNTRYREGIONID of its customers' and vendors' addresses
    language: str
    customer_prefix: str
    share: float  # part of the customers, vendors and order lines
    price_percent: int  # demf sells in EUR, usrt at retail prices: same products, other price levels
    release_share: float  # each company releases most, never all, of the shared products


COMPANIES = (
    _Company("usmf", "Contoso USA", "USD", "USA", "en-us", "US", 0.4, 100, 0.90),
    _Company("usrt", "Contoso Retail USA", "USD", "USA", "en-us", "USR", 0.3, 115, 0.85),
    _Company("demf", "Contoso Germany", "EUR", "DEU", "de", "DE", 0.3, 92, 0.80),
)

# --------------------------------------------------------------------------------------------------
# Reference data (global and per company)
# --------------------------------------------------------------------------------------------------

# symbol, UnitOfMeasureClass (1 Quantity, 2 Mass, 3 Length, 4 Volume, 5 Time), DECIMALPRECISION
UNITS: tuple[tuple[str, int, int], ...] = (
    ("ea", 1, 0),
    ("pcs", 1, 0),
    ("kg", 2, 3),
    ("lb", 2, 2),
    ("m", 3, 2),
    ("cm", 3, 1),
    ("l", 4, 2),
    ("h", 5, 2),
    ("box", 1, 0),
    ("dz", 1, 0),
)
FRACTIONAL_UNITS = frozenset(symbol for symbol, _, precision in UNITS if precision > 0)

COLORS: tuple[tuple[str, str], ...] = (
    ("Black", "Black"),
    ("White", "White"),
    ("Red", "Red"),
    ("Blue", "Blue"),
    ("Green", "Green"),
    ("Silver", "Metallic silver"),
    ("Gray", "Gray"),
    ("Gold", "Gold"),
    ("Navy", "Navy blue"),
    ("Yellow", "Yellow"),
    ("Orange", "Orange"),
    ("Pink", "Pink"),
    ("Purple", "Purple"),
    ("Brown", "Brown"),
    ("Oak", "Natural oak finish"),
    ("Walnut", "Dark walnut finish"),
)
LETTER_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
NUMERIC_SIZES = tuple(str(n) for n in range(28, 48, 2))
SIZES: tuple[tuple[str, str], ...] = (
    ("XS", "Extra small"),
    ("S", "Small"),
    ("M", "Medium"),
    ("L", "Large"),
    ("XL", "Extra large"),
    ("XXL", "Double extra large"),
    *((size, f"Size {size}") for size in NUMERIC_SIZES),
)
STYLES: tuple[tuple[str, str], ...] = (
    ("Classic", "Classic fit"),
    ("Slim", "Slim fit"),
    ("Sport", "Sport"),
    ("Vintage", "Vintage look"),
    ("Outdoor", "Outdoor, weather resistant"),
)
CONFIGS: tuple[tuple[str, str], ...] = (
    ("Standard", "Standard configuration"),
    ("Basic", "Basic configuration"),
    ("Premium", "Premium configuration"),
    ("Pro", "Professional configuration"),
)

# CUSTGROUP, NAME, PAYMTERMID, weight of customers drawn into the group
CUSTOMER_GROUPS: tuple[tuple[str, str, str, int], ...] = (
    ("10", "Wholesale customers", "Net30", 25),
    ("20", "Major customers", "Net45", 15),
    ("30", "Retail customers", "Net10", 45),
    ("40", "Intercompany", "Net30", 5),
    ("80", "Other", "COD", 10),
)
VENDOR_GROUPS: tuple[tuple[str, str], ...] = (
    ("10", "Parts and components"),
    ("20", "Services"),
    ("30", "Raw materials"),
    ("40", "Intercompany"),
    ("50", "Freight and logistics"),
)
# SalesStatus 0 None, 1 Backorder, 2 Delivered, 3 Invoiced, 4 Canceled
ORDER_STATUS_WEIGHTS: tuple[tuple[int, int], ...] = ((0, 3), (1, 40), (2, 10), (3, 42), (4, 5))
# CustVendorBlocked 0 No, 1 Invoice, 2 All, 3 Payment, 4 Requisition, 5 Never
BLOCKED_WEIGHTS: tuple[tuple[int, int], ...] = ((0, 88), (1, 3), (2, 3), (3, 2), (4, 2), (5, 2))

# --------------------------------------------------------------------------------------------------
# Names: organizations, people, addresses, products
# --------------------------------------------------------------------------------------------------

BRANDS = (
    "Contoso", "Fabrikam", "Litware", "Proseware", "Northwind", "Adatum",
    "Tailspin", "Wingtip", "Woodgrove", "Lucerne", "Coho", "Alpine",
)  # fmt: skip
US_PLACE_WORDS = (
    "Adventure", "Blue Yonder", "Lakeshore", "Summit", "Pinnacle", "Redwood", "Silver Creek",
    "Harbor", "Evergreen", "Granite", "Prairie", "Coastal", "Cascade", "Liberty", "Metro",
    "Pioneer", "Sunrise", "Trailhead", "Golden Gate", "Great Lakes", "Bayside", "Ironwood",
    "Oak Ridge", "Riverside", "Horizon", "Keystone", "Fourth", "Desert Sun", "Twin Peaks",
)  # fmt: skip
US_TRADE_WORDS = (
    "Works", "Traders", "Supplies", "Outfitters", "Electronics", "Distribution", "Retail",
    "Logistics", "Industries", "Wholesale", "Markets", "Audio", "Systems", "Solutions",
    "Equipment", "Trading", "Imports", "Stores", "Sound", "Hardware", "Manufacturing",
)  # fmt: skip
US_LEGAL_FORMS = ("", "", " Inc.", " LLC", " Corp.", " Co.")
US_FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Ashley", "Anthony",
    "Emily", "Mark", "Michelle", "Kevin", "Laura", "Brian", "Rachel",
)  # fmt: skip
US_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen",
    "King", "Wright", "Scott", "Nguyen", "Hill", "Green", "Adams", "Baker", "Campbell", "Mitchell",
    "Carter", "Roberts", "Murphy", "Cooper", "Reed", "Bailey", "Kelly", "Howard",
)  # fmt: skip
DE_FIRST_NAMES = (
    "Anna", "Lukas", "Sophie", "Maximilian", "Marie", "Leon", "Emma", "Paul", "Mia", "Jonas",
    "Hannah", "Felix", "Lena", "Elias", "Lea", "Jürgen", "Jörg", "Björn", "Käthe", "Günter",
    "Sabine", "Stefan", "Ursula", "Wolfgang",
)  # fmt: skip
DE_LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
    "Schwarz", "Zimmermann", "Braun", "Krüger", "Hartmann", "Lange", "Werner", "Krause", "Lehmann",
    "Köhler", "Jäger", "Möller", "Weiß", "Günther",
)  # fmt: skip
DE_PLACE_WORDS = (
    "Rhein", "Nord", "Süd", "Alpen", "Elbe", "Main", "Spree", "Ostsee", "Donau", "Harz",
    "Schwarzwald", "Isar",
)  # fmt: skip
DE_TRADE_WORDS = (
    "Elektronik", "Handel", "Maschinenbau", "Logistik", "Vertrieb", "Technik", "Audio",
    "Bürobedarf", "Großhandel", "Industriebedarf", "Metallbau", "Systemhaus",
)  # fmt: skip
DE_LEGAL_FORMS = ("GmbH", "GmbH", "AG", "KG", "GmbH & Co. KG", "e.K.")

# city, state, ZIP prefix (the rest of the ZIP code is random digits)
US_CITIES: tuple[tuple[str, str, str], ...] = (
    ("Seattle", "WA", "981"), ("Redmond", "WA", "980"), ("Bellevue", "WA", "980"),
    ("Portland", "OR", "972"), ("San Francisco", "CA", "941"), ("Los Angeles", "CA", "900"),
    ("San Diego", "CA", "921"), ("Sacramento", "CA", "958"), ("Phoenix", "AZ", "850"),
    ("Denver", "CO", "802"), ("Dallas", "TX", "752"), ("Houston", "TX", "770"),
    ("Austin", "TX", "787"), ("Chicago", "IL", "606"), ("Detroit", "MI", "482"),
    ("Minneapolis", "MN", "554"), ("St. Louis", "MO", "631"), ("Atlanta", "GA", "303"),
    ("Miami", "FL", "331"), ("Orlando", "FL", "328"), ("Charlotte", "NC", "282"),
    ("Nashville", "TN", "372"), ("New York", "NY", "100"), ("Boston", "MA", "021"),
    ("Philadelphia", "PA", "191"), ("Pittsburgh", "PA", "152"), ("Baltimore", "MD", "212"),
    ("Columbus", "OH", "432"), ("Cleveland", "OH", "441"), ("Indianapolis", "IN", "462"),
    ("Milwaukee", "WI", "532"), ("Kansas City", "MO", "641"), ("Salt Lake City", "UT", "841"),
    ("Las Vegas", "NV", "891"), ("Albuquerque", "NM", "871"), ("Boise", "ID", "837"),
    ("Omaha", "NE", "681"), ("New Orleans", "LA", "701"), ("Raleigh", "NC", "276"),
    ("Richmond", "VA", "232"),
)  # fmt: skip
US_STREET_NAMES = (
    "Main", "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park",
    "Sunset", "Lincoln", "Jefferson", "Madison", "Franklin", "Highland", "Ridge", "River",
    "Spring", "Church", "Market", "Mill", "Forest", "Meadow", "Willow", "Commerce",
    "Industrial", "1st", "2nd", "3rd", "5th", "NE 148th",
)  # fmt: skip
US_STREET_SUFFIXES = ("Street", "Avenue", "Road", "Drive", "Boulevard", "Lane", "Way", "Court", "Parkway")
DE_CITIES: tuple[tuple[str, str, str], ...] = (
    ("Berlin", "BE", "10"), ("Hamburg", "HH", "20"), ("München", "BY", "80"), ("Köln", "NW", "50"),
    ("Frankfurt am Main", "HE", "60"), ("Stuttgart", "BW", "70"), ("Düsseldorf", "NW", "40"),
    ("Dortmund", "NW", "44"), ("Essen", "NW", "45"), ("Leipzig", "SN", "04"),
    ("Bremen", "HB", "28"), ("Dresden", "SN", "01"), ("Hannover", "NI", "30"),
    ("Nürnberg", "BY", "90"), ("Duisburg", "NW", "47"), ("Bielefeld", "NW", "33"),
    ("Bonn", "NW", "53"), ("Münster", "NW", "48"), ("Karlsruhe", "BW", "76"),
    ("Mannheim", "BW", "68"), ("Augsburg", "BY", "86"), ("Wiesbaden", "HE", "65"),
    ("Mainz", "RP", "55"), ("Kiel", "SH", "24"), ("Erfurt", "TH", "99"), ("Rostock", "MV", "18"),
    ("Potsdam", "BB", "14"), ("Magdeburg", "ST", "39"), ("Saarbrücken", "SL", "66"),
    ("Regensburg", "BY", "93"), ("Freiburg im Breisgau", "BW", "79"),
)  # fmt: skip
DE_STREETS = (
    "Hauptstraße", "Bahnhofstraße", "Gartenstraße", "Schulstraße", "Dorfstraße", "Bergstraße",
    "Lindenstraße", "Kirchstraße", "Goethestraße", "Schillerstraße", "Friedrichstraße",
    "Industriestraße", "Am Markt", "Mühlenweg", "Waldweg", "Rosenstraße", "Königsallee",
    "Uhlandstraße", "Marktplatz", "Kaiserstraße",
)  # fmt: skip

# Fixed customers, so that tests and examples can rely on them at every scale. The odd names exercise
# escaping in $filter literals, LIKE patterns (% _ [) and non-ASCII text.
SPECIAL_CUSTOMER_NAMES: dict[tuple[str, int], str] = {
    ("usmf", 0): "Contoso Retail San Diego",
    ("usmf", 1): "50% Off Outlet",
    ("usmf", 2): "O'Brien & Sons",
    ("usmf", 3): "Under_score Supplies",
    ("usmf", 4): "Fabrikam [West]",
    ("demf", 0): "Müller GmbH",
}
US001_ADDRESS: Address = ("1 Harbor Drive, Suite 300", "San Diego", "CA", "92101")


@dataclass(frozen=True)
class _ItemTemplate:
    """A family of products: name pattern ("{brand}" is replaced), unit, price and weight ranges."""

    pattern: str
    specs: tuple[str, ...]  # appended to the name ("" allowed)
    unit: str
    price: tuple[int, int]  # whole currency units
    weight: tuple[float, float]  # kg
    # dimension value pools of product masters; empty = dimension not used
    colors: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    configs: tuple[str, ...] = ()


_APPAREL_COLORS = ("Black", "White", "Red", "Blue", "Green", "Gray", "Navy", "Yellow", "Pink", "Purple")
_GEAR_COLORS = ("Black", "White", "Silver", "Gray", "Blue", "Red", "Gold")
_FURNITURE_COLORS = ("Black", "White", "Gray", "Oak", "Walnut")
_CONFIG_NAMES = tuple(name for name, _ in CONFIGS)
_STYLE_NAMES = tuple(name for name, _ in STYLES)

DISTINCT_TEMPLATES: tuple[_ItemTemplate, ...] = (
    _ItemTemplate("Surface Pro", ("128GB", "256GB", "512GB", "1TB"), "ea", (899, 2499), (0.7, 1.1)),
    _ItemTemplate("Surface Laptop", ("13.5in", "15in"), "ea", (999, 2699), (1.2, 1.6)),
    _ItemTemplate("{brand} Speaker Cable", ("1m", "3m", "5m", "10m"), "ea", (5, 40), (0.1, 0.9)),
    _ItemTemplate("{brand} HDMI Cable", ("1m", "2m", "5m"), "ea", (8, 35), (0.1, 0.4)),
    _ItemTemplate("{brand} USB-C Charger", ("30W", "65W", "100W"), "ea", (19, 79), (0.1, 0.4)),
    _ItemTemplate("{brand} Wireless Mouse", ("", "Pro", "Compact"), "ea", (15, 99), (0.1, 0.2)),
    _ItemTemplate("{brand} Keyboard", ("Mechanical", "Wireless", "Ergonomic"), "ea", (29, 199), (0.5, 1.3)),
    _ItemTemplate("{brand} Monitor", ("24in", "27in", "32in", "34in Curved"), "ea", (149, 899), (3.5, 9.0)),
    _ItemTemplate("{brand} Projector", ("HD", "Full HD", "4K"), "ea", (299, 2499), (2.5, 6.0)),
    _ItemTemplate("{brand} Home Theater System", ("5.1", "7.1", "Soundbar"), "ea", (249, 1999), (5, 25)),
    _ItemTemplate("{brand} Car Audio Amplifier", ("400W", "800W", "1200W"), "ea", (129, 899), (1.5, 5)),
    _ItemTemplate("{brand} Subwoofer", ("8in", "10in", "12in"), "ea", (99, 699), (6, 20)),
    _ItemTemplate("{brand} Bookshelf Speakers", ("Pair", "Studio"), "ea", (79, 599), (4, 12)),
    _ItemTemplate("{brand} Microphone", ("USB", "XLR", "Wireless"), "ea", (49, 399), (0.3, 0.9)),
    _ItemTemplate("{brand} Speaker Wire", ("14AWG", "16AWG", "18AWG"), "m", (1, 4), (0.03, 0.08)),
    _ItemTemplate("{brand} Copper Wire", ("1.5mm", "2.5mm", "4mm"), "m", (1, 6), (0.02, 0.05)),
    _ItemTemplate("{brand} Coffee Beans", ("Espresso", "House Blend", "Decaf"), "kg", (12, 45), (1, 1)),
    _ItemTemplate("{brand} Steel Rod", ("8mm", "12mm", "16mm"), "kg", (2, 9), (1, 1)),
    _ItemTemplate("{brand} Grass Seed", ("Sun", "Shade", "Sport"), "lb", (3, 12), (0.45, 0.45)),
    _ItemTemplate("{brand} Wood Screws", ("4x30", "5x50", "6x80"), "box", (6, 25), (0.5, 2)),
    _ItemTemplate("{brand} Printer Paper", ("A4", "Letter"), "box", (19, 49), (10, 12.5)),
    _ItemTemplate("{brand} Machine Oil", ("5W-30", "Hydraulic", "Gear"), "l", (6, 30), (0.9, 0.9)),
    _ItemTemplate("{brand} Wall Paint", ("White", "Eggshell", "Matte"), "l", (9, 35), (1.3, 1.4)),
    _ItemTemplate("{brand} AA Batteries", ("4-pack", "24-pack"), "ea", (4, 24), (0.1, 0.6)),
    _ItemTemplate("{brand} Glass Bottles", ("330ml", "500ml"), "dz", (8, 20), (2.5, 5)),
    _ItemTemplate("{brand} Packing Tape", ("48mm", "72mm"), "pcs", (2, 8), (0.2, 0.4)),
    _ItemTemplate("{brand} Shelf Bracket", ("20cm", "30cm"), "pcs", (3, 15), (0.1, 0.4)),
)
MASTER_TEMPLATES: tuple[_ItemTemplate, ...] = (
    _ItemTemplate("{brand} T-Shirt", ("",), "pcs", (9, 39), (0.15, 0.25),
                  colors=_APPAREL_COLORS, sizes=LETTER_SIZES),
    _ItemTemplate("{brand} Hoodie", ("",), "pcs", (29, 89), (0.5, 0.8),
                  colors=_APPAREL_COLORS, sizes=LETTER_SIZES),
    _ItemTemplate("{brand} Running Shoes", ("",), "pcs", (59, 179), (0.6, 0.9),
                  colors=_APPAREL_COLORS, sizes=NUMERIC_SIZES[5:]),
    _ItemTemplate("{brand} Jeans", ("",), "pcs", (39, 129), (0.6, 0.9),
                  colors=("Blue", "Black", "Gray", "Navy"), sizes=NUMERIC_SIZES[:5], styles=_STYLE_NAMES[:2]),
    _ItemTemplate("{brand} Jacket", ("",), "pcs", (79, 299), (0.8, 1.6),
                  colors=_APPAREL_COLORS, sizes=LETTER_SIZES, styles=_STYLE_NAMES),
    _ItemTemplate("{brand} Backpack", ("", "Travel"), "ea", (39, 149), (0.7, 1.4),
                  colors=_GEAR_COLORS, sizes=("S", "M", "L")),
    _ItemTemplate("{brand} Headphones", ("", "Wireless"), "ea", (49, 399), (0.2, 0.4), colors=_GEAR_COLORS),
    _ItemTemplate("{brand} Phone Case", ("",), "ea", (9, 49), (0.03, 0.08),
                  colors=_GEAR_COLORS, styles=_STYLE_NAMES),
    _ItemTemplate("{brand} Bluetooth Speaker", ("", "Mini"), "ea", (29, 249), (0.3, 1.5),
                  colors=_GEAR_COLORS, configs=_CONFIG_NAMES),
    _ItemTemplate("{brand} Office Chair", ("", "Ergonomic"), "ea", (129, 899), (12, 22),
                  colors=_FURNITURE_COLORS[:3], configs=_CONFIG_NAMES),
    _ItemTemplate("{brand} Standing Desk", ("",), "ea", (299, 1299), (25, 45),
                  colors=_FURNITURE_COLORS, configs=_CONFIG_NAMES[:3]),
    _ItemTemplate("{brand} Smart Watch", ("",), "ea", (149, 699), (0.04, 0.08),
                  colors=_GEAR_COLORS, sizes=("S", "M", "L"), configs=_CONFIG_NAMES),
    _ItemTemplate("{brand} Laptop", ("14in", "16in"), "ea", (699, 2999), (1.3, 2.4), configs=_CONFIG_NAMES),
)  # fmt: skip
SERVICE_TEMPLATES: tuple[_ItemTemplate, ...] = (
    _ItemTemplate("Installation Service", ("", "Home Theater", "Car Audio"), "h", (60, 150), (0, 0)),
    _ItemTemplate("{brand} Extended Warranty", ("1 Year", "2 Years", "3 Years"), "ea", (29, 299), (0, 0)),
    _ItemTemplate("On-site Support", ("", "Priority"), "h", (80, 220), (0, 0)),
    _ItemTemplate("Training Session", ("Basic", "Advanced"), "h", (90, 250), (0, 0)),
    _ItemTemplate("Consulting", ("", "Senior"), "h", (120, 300), (0, 0)),
    _ItemTemplate("Delivery Service", ("Standard", "Express"), "ea", (15, 120), (0, 0)),
    _ItemTemplate("Calibration Service", ("",), "ea", (49, 199), (0, 0)),
    _ItemTemplate("Repair Service", ("", "Express"), "h", (70, 180), (0, 0)),
)
PRICE_ENDINGS = (0, 0, 49, 95, 99, 99)  # cents: prices look like 19.99, 24.95, 120.00

# --------------------------------------------------------------------------------------------------
# Small value helpers
# --------------------------------------------------------------------------------------------------

_CENT_EXPONENT = -2


def _money(cents: int) -> Decimal:
    """An exact 2-place Decimal from integer cents (integer arithmetic keeps amounts exact)."""
    return Decimal(cents).scaleb(_CENT_EXPONENT)


def _timestamp(seconds: int) -> datetime:
    """A naive UTC datetime in whole seconds (MariaDB DATETIME would drop microseconds anyway)."""
    return EPOCH + timedelta(seconds=seconds)


def _cumulative(weights: Sequence[tuple[int, int]]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Values and cumulative weights, for `_pick_weighted` (bisect beats rng.choices in hot loops)."""
    values = tuple(value for value, _ in weights)
    totals = tuple(itertools.accumulate(weight for _, weight in weights))
    return values, totals


def _pick_weighted(rng: random.Random, table: tuple[tuple[int, ...], tuple[int, ...]]) -> int:
    values, totals = table
    return values[bisect.bisect_right(totals, rng.random() * totals[-1])]


def _split(total: int, minimum: int) -> list[int]:
    """Per-company counts: the company shares of `total`, each at least `minimum`."""
    return [max(minimum, round(total * company.share)) for company in COMPANIES]


def _width(count: int, minimum: int) -> int:
    """Zero-padding width of a number sequence: consistent for all its numbers, `minimum` at least."""
    return max(minimum, len(str(count)))


def _account(prefix: str, number: int) -> str:
    # At least 3 digits and wider only past 999, so that `US-001` exists at every scale
    # (DOMAIN.md uses it as the canonical key).
    return f"{prefix}-{number:03d}"


_ORDER_STATUS = _cumulative(ORDER_STATUS_WEIGHTS)
_BLOCKED = _cumulative(BLOCKED_WEIGHTS)
_CUSTOMER_GROUP = _cumulative(tuple((index, group[3]) for index, group in enumerate(CUSTOMER_GROUPS)))

# --------------------------------------------------------------------------------------------------
# References kept in memory between phases (rows themselves are streamed out and dropped)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Customer:
    account: str
    currency: str
    created: int  # seconds since EPOCH


@dataclass(frozen=True, slots=True)
class _Product:
    recid: int
    number: str
    alias: str  # NAMEALIAS when released
    is_service: bool
    unit: str
    price_cents: int
    weight_cents: int  # NETWEIGHT in hundredths of a kg
    variants: tuple[tuple[str, str], ...]  # (color, size) of each variant; empty unless a master


@dataclass(frozen=True, slots=True)
class _Item:
    item_id: str
    unit: str
    fractional: bool  # unit allows quantities like 2.75
    price: Decimal
    price_cents: int
    variants: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class _OrderPlan:
    created: int  # seconds since EPOCH
    customer: _Customer
    lines: int


# --------------------------------------------------------------------------------------------------
# Writing: batched executemany with one progress bar
# --------------------------------------------------------------------------------------------------


class _BatchWriter:
    """Buffers rows per table and inserts them with executemany, BATCH_SIZE rows at a time.

    Buffers are per table so that interleaved streams (an order header, then its lines) still go out
    in full batches. Each batch is committed, which keeps server-side transactions small.
    """

    def __init__(self, conn: Connection, bar: Any) -> None:
        self._conn = conn
        self._bar = bar
        self._buffers: dict[str, list[Row]] = {}
        self.rows: dict[str, int] = {name: 0 for name in schema.metadata.tables}

    def add(self, table: Table, row: Row) -> None:
        buffer = self._buffers.setdefault(table.name, [])
        buffer.append(row)
        if len(buffer) >= BATCH_SIZE:
            self._flush(table.name)

    def flush_all(self) -> None:
        for name in list(self._buffers):
            self._flush(name)

    @property
    def pending(self) -> int:
        """Rows generated so far, inserted or still buffered."""
        return sum(self.rows.values()) + sum(len(buffer) for buffer in self._buffers.values())

    def expect(self, total: int) -> None:
        """Correct the progress bar's total once the exact remaining volume is known."""
        self._bar.total = total
        self._bar.refresh()

    def _flush(self, name: str) -> None:
        rows = self._buffers.pop(name, [])
        if not rows:
            return
        self._bar.set_description(name, refresh=False)
        self._conn.execute(schema.metadata.tables[name].insert(), rows)
        self._conn.commit()
        self.rows[name] += len(rows)
        self._bar.update(len(rows))


class _Context:
    """The generator's state: one seeded Random, the global RECID counter and party numbers."""

    def __init__(self, rng: random.Random, writer: _BatchWriter, party_width: int) -> None:
        self.rng = rng
        self.writer = writer
        self._recids = itertools.count(FIRST_RECID)
        self._party_numbers = itertools.count(1)
        self._party_width = party_width

    def insert(self, table: Table, **columns: object) -> int:
        """Queue a row with a fresh RECID and a random RECVERSION; returns the RECID for references."""
        recid = next(self._recids)
        columns["RECID"] = recid
        columns["RECVERSION"] = self.rng.randint(1, RECVERSION_LIMIT)
        self.writer.add(table, columns)
        return recid

    def sequences(self) -> None:
        """Queue SYSTEMSEQUENCES: where the gateway's writers continue the RECID and party numbers."""
        for name, counter in (("RECID", self._recids), ("PARTYNUMBER", self._party_numbers)):
            self.writer.add(schema.SYSTEMSEQUENCES, {"NAME": name, "NEXTVAL": next(counter)})
        self.writer.add(schema.SYSTEMSEQUENCES, {"NAME": events_store.ACTIVATION_SEQUENCE, "NEXTVAL": 1})

    def party_number(self) -> str:
        return f"{next(self._party_numbers):0{self._party_width}d}"

    def timestamp(self, low: int = 0, high: int = LAST_SECOND) -> int:
        """Seconds since EPOCH, uniform in [low, high]."""
        return self.rng.randint(low, high)


# --------------------------------------------------------------------------------------------------
# Reference tables
# --------------------------------------------------------------------------------------------------


def _write_companies(ctx: _Context) -> None:
    for company in COMPANIES:
        ctx.insert(schema.DATAAREA, ID=company.id, NAME=company.name)


def _write_units(ctx: _Context) -> dict[str, int]:
    """UNITOFMEASURE rows; returns their RECIDs by symbol (unit conversions refer to them)."""
    return {
        symbol: ctx.insert(
            schema.UNITOFMEASURE, SYMBOL=symbol, UNITOFMEASURECLASS=unit_class, DECIMALPRECISION=precision
        )
        for symbol, unit_class, precision in UNITS
    }


def _write_dimensions(ctx: _Context) -> None:
    for table, values in (
        (schema.ECORESCOLOR, COLORS),
        (schema.ECORESSIZE, SIZES),
        (schema.ECORESSTYLE, STYLES),
        (schema.ECORESCONFIGURATION, CONFIGS),
    ):
        for name, description in values:
            ctx.insert(table, NAME=name, DESCRIPTION=description)


def _write_groups(ctx: _Context) -> None:
    for company in COMPANIES:
        for group, name, terms, _ in CUSTOMER_GROUPS:
            ctx.insert(schema.CUSTGROUP, DATAAREAID=company.id, CUSTGROUP=group, NAME=name, PAYMTERMID=terms)
        for group, name in VENDOR_GROUPS:
            ctx.insert(schema.VENDGROUP, DATAAREAID=company.id, VENDGROUP=group, NAME=name)


# --------------------------------------------------------------------------------------------------
# Parties and addresses
# --------------------------------------------------------------------------------------------------


def _organization_name(rng: random.Random, company: _Company) -> str:
    roll = rng.random()
    if company.country == "DEU":
        if roll < 0.5:
            return f"{rng.choice(DE_LAST_NAMES)} {rng.choice(DE_TRADE_WORDS)} {rng.choice(DE_LEGAL_FORMS)}"
        if roll < 0.8:
            return f"{rng.choice(DE_PLACE_WORDS)} {rng.choice(DE_TRADE_WORDS)} {rng.choice(DE_LEGAL_FORMS)}"
        return f"{rng.choice(DE_LAST_NAMES)} & {rng.choice(DE_LAST_NAMES)} {rng.choice(DE_LEGAL_FORMS)}"
    if roll < 0.45:
        base = f"{rng.choice(US_PLACE_WORDS)} {rng.choice(US_TRADE_WORDS)}"
    elif roll < 0.75:
        base = f"{rng.choice(US_LAST_NAMES)} {rng.choice(US_TRADE_WORDS)}"
    elif roll < 0.9:
        base = f"{rng.choice(US_LAST_NAMES)} & {rng.choice(US_LAST_NAMES)}"
    else:
        base = f"{rng.choice(BRANDS)} {rng.choice(US_TRADE_WORDS)}"
    return base + rng.choice(US_LEGAL_FORMS)


def _person_name(rng: random.Random, company: _Company) -> str:
    if company.country == "DEU":
        return f"{rng.choice(DE_FIRST_NAMES)} {rng.choice(DE_LAST_NAMES)}"
    return f"{rng.choice(US_FIRST_NAMES)} {rng.choice(US_LAST_NAMES)}"


def _address_values(rng: random.Random, company: _Company) -> Address:
    """Street, city, state and ZIP code that look like the company's country."""
    if company.country == "DEU":
        city, state, zip_prefix = rng.choice(DE_CITIES)
        street = f"{rng.choice(DE_STREETS)} {rng.randint(1, 180)}"
        return street, city, state, f"{zip_prefix}{rng.randint(0, 999):03d}"
    city, state, zip_prefix = rng.choice(US_CITIES)
    street = f"{rng.randint(1, 9999)} {rng.choice(US_STREET_NAMES)} {rng.choice(US_STREET_SUFFIXES)}"
    if rng.random() < 0.15:
        street += f", Suite {rng.randint(1, 9) * 100}"
    return street, city, state, f"{zip_prefix}{rng.randint(0, 99):02d}"


def _write_address(ctx: _Context, company: _Company, values: Address) -> int:
    street, city, state, zipcode = values
    return ctx.insert(
        schema.LOGISTICSPOSTALADDRESS,
        STREET=street, CITY=city, STATE=state, ZIPCODE=zipcode, COUNTRYREGIONID=company.country,
    )  # fmt: skip


def _write_party(
    ctx: _Context, company: _Company, name: str, party_type: int, address: Address | None
) -> int:
    """A DIRPARTYTABLE row (with its primary address, if any); returns the party's RECID."""
    address_recid = None if address is None else _write_address(ctx, company, address)
    return ctx.insert(
        schema.DIRPARTYTABLE,
        PARTYNUMBER=ctx.party_number(), NAME=name, PARTYTYPE=party_type, LANGUAGEID=company.language,
        PRIMARYADDRESS=address_recid,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Customers and vendors
# --------------------------------------------------------------------------------------------------

PERSON, ORGANIZATION = 1, 2


def _credit_limit(rng: random.Random) -> Decimal:
    """0 to 500,000 with 2 places; many round figures and a good share of exactly 2,000."""
    roll = rng.random()
    if roll < 0.12:
        return _money(0)
    if roll < 0.27:
        return _money(200_000)
    if roll < 0.85:
        return _money(rng.randint(1, 200) * 50_000)
    return _money(rng.randint(0, 50_000_000))


def _customer_party(ctx: _Context, company: _Company, index: int) -> int:
    """The customer's own party: fixed for the special customers, else ~90 % organizations."""
    rng = ctx.rng
    special = SPECIAL_CUSTOMER_NAMES.get((company.id, index))
    address: Address | None
    if special is not None:
        # Special customers are organizations with an address, so every map and join sees them.
        address = US001_ADDRESS if index == 0 and company.id == "usmf" else _address_values(rng, company)
        return _write_party(ctx, company, special, ORGANIZATION, address)
    party_type = PERSON if rng.random() < 0.10 else ORGANIZATION
    name = _person_name(rng, company) if party_type == PERSON else _organization_name(rng, company)
    address = _address_values(rng, company) if rng.random() < 0.93 else None
    return _write_party(ctx, company, name, party_type, address)


def _write_customers(ctx: _Context, company: _Company, count: int) -> list[_Customer]:
    rng = ctx.rng
    # Sorted creation times: account numbers grow with time, as a number sequence would make them.
    created = sorted(rng.randint(0, CUSTOMER_CREATION_SECONDS) for _ in range(count))
    customers: list[_Customer] = []
    for index in range(count):
        account = _account(company.customer_prefix, index + 1)
        party = _customer_party(ctx, company, index)
        currency = "USD" if company.id == "demf" and rng.random() < 0.05 else company.currency
        group = CUSTOMER_GROUPS[_pick_weighted(rng, _CUSTOMER_GROUP)][0]
        credit, blocked = _credit_limit(rng), _pick_weighted(rng, _BLOCKED)
        if index == 0 and company.id == "usmf":
            credit, blocked = _money(200_000), 0  # US-001: the "raise the credit limit" scenario
        modified = created[index] if rng.random() < 0.3 else ctx.timestamp(created[index])
        ctx.insert(
            schema.CUSTTABLE,
            DATAAREAID=company.id, ACCOUNTNUM=account, PARTY=party, CUSTGROUP=group, CURRENCY=currency,
            CREDITMAX=credit, BLOCKED=blocked, CREATEDDATETIME=_timestamp(created[index]),
            MODIFIEDDATETIME=_timestamp(modified),
        )  # fmt: skip
        customers.append(_Customer(account, currency, created[index]))
    return customers


def _write_vendors(ctx: _Context, company: _Company, count: int) -> list[str]:
    rng = ctx.rng
    accounts: list[str] = []
    for index in range(count):
        account = _account("V", index + 1)
        address = _address_values(rng, company) if rng.random() < 0.85 else None
        party = _write_party(ctx, company, _organization_name(rng, company), ORGANIZATION, address)
        foreign = "EUR" if company.currency == "USD" else "USD"
        currency = foreign if rng.random() < 0.1 else company.currency
        group = rng.choice(VENDOR_GROUPS)[0]
        ctx.insert(
            schema.VENDTABLE,
            DATAAREAID=company.id, ACCOUNTNUM=account, PARTY=party, VENDGROUP=group, CURRENCY=currency,
            BLOCKED=_pick_weighted(rng, _BLOCKED),
        )  # fmt: skip
        accounts.append(account)
    return accounts


def _write_person_vendors(ctx: _Context, company: _Company, organizations: int) -> None:
    """Sole proprietors: vendors whose party is a person (the Vendor persons map makes them contacts).

    Written after everything else, numbered after the company's organizations, so that the rows
    written before them stay as they were before person vendors existed (README examples show them).
    """
    rng = ctx.rng
    for index in range(max(1, organizations // PERSON_VENDOR_SHARE)):
        address = _address_values(rng, company) if rng.random() < 0.85 else None
        party = _write_party(ctx, company, _person_name(rng, company), PERSON, address)
        ctx.insert(
            schema.VENDTABLE,
            DATAAREAID=company.id, ACCOUNTNUM=_account("V", organizations + index + 1), PARTY=party,
            VENDGROUP=rng.choice(VENDOR_GROUPS)[0], CURRENCY=company.currency, BLOCKED=_pick_weighted(rng, _BLOCKED),
        )  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Products
# --------------------------------------------------------------------------------------------------

ITEM, SERVICE = 1, 2  # EcoResProductType
DISTINCT, MASTER, VARIANT = 1, 2, 3  # EcoResProductSubtype


def _product_counts(scale: float) -> tuple[int, int, int]:
    """Distinct items, masters and services: about 65 / 25 / 10 % of the products."""
    total = max(MIN_PRODUCTS, round(PRODUCTS_PER_SCALE * scale))
    masters = max(3, round(total * 0.25))
    services = max(2, round(total * 0.10))
    return total - masters - services, masters, services


def _product_name(rng: random.Random, template: _ItemTemplate) -> tuple[str, str]:
    """SEARCHNAME (≤ 60 chars) and a short NAMEALIAS (≤ 20 chars, the name without its brand)."""
    spec = rng.choice(template.specs)
    brand = rng.choice(BRANDS)
    name = " ".join(part for part in (template.pattern.format(brand=brand), spec) if part)[:60]
    alias = " ".join(part for part in (template.pattern.replace("{brand}", "").strip(), spec) if part)
    return name, _shorten(alias, 20)


def _shorten(text: str, limit: int) -> str:
    """Cut at a word boundary when possible ("Repair Service", not "Repair Service Expre")."""
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rfind(" ")
    return (text[:cut] if cut > 0 else text[:limit]).rstrip()


def _price_cents(rng: random.Random, template: _ItemTemplate) -> int:
    low, high = template.price
    return rng.randint(low, high) * 100 + rng.choice(PRICE_ENDINGS)


def _weight_cents(rng: random.Random, template: _ItemTemplate) -> int:
    low, high = template.weight
    return rng.randint(round(low * 100), round(high * 100))


def _write_product_row(
    ctx: _Context, number: str, name: str, kind: tuple[int, int], master: int | None, dims: Sequence[str]
) -> int:
    product_type, subtype = kind
    color, size, style, config = dims
    return ctx.insert(
        schema.ECORESPRODUCT,
        DISPLAYPRODUCTNUMBER=number, SEARCHNAME=name, PRODUCTTYPE=product_type, PRODUCTSUBTYPE=subtype,
        PRODUCTMASTER=master, COLOR=color, SIZE_=size, STYLE=style, CONFIG=config,
    )  # fmt: skip


def _write_simple_products(
    ctx: _Context, prefix: str, count: int, templates: Sequence[_ItemTemplate], kind: tuple[int, int]
) -> list[_Product]:
    """Distinct products or services (no variants): `D0001`…, `S0001`…"""
    rng, width = ctx.rng, _width(count, 4)
    products: list[_Product] = []
    for index in range(count):
        template = rng.choice(templates)
        number = f"{prefix}{index + 1:0{width}d}"
        name, alias = _product_name(rng, template)
        recid = _write_product_row(ctx, number, name, kind, None, ("", "", "", ""))
        product = _Product(recid, number, alias, kind[0] == SERVICE, template.unit,
                           _price_cents(rng, template), _weight_cents(rng, template), ())  # fmt: skip
        products.append(product)
    return products


def _dimension_choices(rng: random.Random, template: _ItemTemplate) -> list[tuple[str, ...]]:
    """The values a master uses per dimension (color, size, style, config); () = dimension unused.

    The first used dimension gets at least two values so every master can have two variants.
    """
    choices: list[tuple[str, ...]] = []
    pools = (template.colors, template.sizes, template.styles, template.configs)
    for dimension, pool in enumerate(pools):
        if not pool:
            choices.append(())
            continue
        low = 1 if any(choices) else 2
        if dimension == 1:  # sizes come as a contiguous run, like a real size range
            length = rng.randint(low, len(pool))
            start = rng.randint(0, len(pool) - length)
            choices.append(tuple(pool[start : start + length]))
        else:
            picked = sorted(rng.sample(range(len(pool)), rng.randint(low, min(len(pool), 5))))
            choices.append(tuple(pool[i] for i in picked))
    return choices


def _variant_combinations(rng: random.Random, template: _ItemTemplate) -> list[tuple[str, ...]]:
    """2-12 distinct (color, size, style, config) combinations, '' for unused dimensions."""
    choices = _dimension_choices(rng, template)
    combos = list(itertools.product(*(values or ("",) for values in choices)))
    count = min(len(combos), rng.randint(2, 12))
    picked = sorted(rng.sample(range(len(combos)), count))  # keep the natural color/size order
    return [combos[i] for i in picked]


def _write_masters(ctx: _Context, count: int) -> list[_Product]:
    """Product masters `M0001`… each followed by its variants `M0001-Black-L`…"""
    rng, width = ctx.rng, _width(count, 4)
    masters: list[_Product] = []
    for index in range(count):
        template = rng.choice(MASTER_TEMPLATES)
        number = f"M{index + 1:0{width}d}"
        name, alias = _product_name(rng, template)
        recid = _write_product_row(ctx, number, name, (ITEM, MASTER), None, ("", "", "", ""))
        variants: list[tuple[str, str]] = []
        for dims in _variant_combinations(rng, template):
            values = [value for value in dims if value]
            variant_name = " ".join((name, *values))[:60]
            variant_number = "-".join((number, *values))
            _write_product_row(ctx, variant_number, variant_name, (ITEM, VARIANT), recid, dims)
            variants.append((dims[0], dims[1]))
        master = _Product(recid, number, alias, False, template.unit, _price_cents(rng, template),
                          _weight_cents(rng, template), tuple(variants))  # fmt: skip
        masters.append(master)
    return masters


def _write_products(ctx: _Context, scale: float) -> list[_Product]:
    """Every ECORESPRODUCT row; returns the releasable ones (distinct, services and masters)."""
    distinct, masters, services = _product_counts(scale)
    products = _write_simple_products(ctx, "D", distinct, DISTINCT_TEMPLATES, (ITEM, DISTINCT))
    products += _write_masters(ctx, masters)
    products += _write_simple_products(ctx, "S", services, SERVICE_TEMPLATES, (SERVICE, DISTINCT))
    return products


def _released_flags(rng: random.Random, company: _Company, products: Sequence[_Product]) -> list[bool]:
    """Which products the company releases: most, never all, and at least one master."""
    flags = [rng.random() < company.release_share for _ in products]
    if all(flags):
        flags[rng.randrange(len(flags))] = False
    if not any(flag and product.variants for flag, product in zip(flags, products, strict=True)):
        flags[next(i for i, product in enumerate(products) if product.variants)] = True
    return flags


def _write_released_products(
    ctx: _Context, company: _Company, products: Sequence[_Product], vendors: Sequence[str]
) -> list[_Item]:
    rng = ctx.rng
    items: list[_Item] = []
    for product, released in zip(products, _released_flags(rng, company, products), strict=True):
        if not released:
            continue
        jitter = rng.randint(95, 105)  # companies price the same product a little differently
        dollars = product.price_cents * company.price_percent * jitter // 1_000_000
        price_cents = max(1, dollars * 100 + rng.choice(PRICE_ENDINGS))
        vendor = "" if product.is_service or rng.random() < 0.2 else rng.choice(vendors)
        ctx.insert(
            schema.INVENTTABLE,
            DATAAREAID=company.id, ITEMID=product.number, PRODUCT=product.recid, NAMEALIAS=product.alias,
            PRIMARYVENDORID=vendor, NETWEIGHT=_money(product.weight_cents), SALESPRICE=_money(price_cents),
            SALESUNIT=product.unit, CREATEDDATETIME=_timestamp(ctx.timestamp()),
        )  # fmt: skip
        fractional = product.unit in FRACTIONAL_UNITS
        items.append(_Item(product.number, product.unit, fractional, _money(price_cents), price_cents,
                           product.variants))  # fmt: skip
    return items


# --------------------------------------------------------------------------------------------------
# Sales orders
# --------------------------------------------------------------------------------------------------


def _ordinary_line_count(rng: random.Random) -> int:
    """1-40 lines, most orders short (mean about 14), like real order books."""
    return 1 + int(MAX_ORDINARY_LINES * rng.random() ** 2)


def _plan_orders(
    rng: random.Random, company: _Company, customers: Sequence[_Customer], scale: float
) -> list[_OrderPlan]:
    """Orders of one company, oldest first: ordinary ones up to the line target, plus the big ones.

    Customers are drawn with a skew towards the oldest accounts (US-001 has many orders, recent
    customers often none), and an order is always created after its customer.
    """
    target = LINES_PER_SCALE * scale * company.share
    sizes: list[int] = []
    planned = 0
    while planned < target or not sizes:
        sizes.append(_ordinary_line_count(rng))
        planned += sizes[-1]
    sizes += [rng.randint(*BIG_ORDER_LINES) for _ in range(BIG_ORDERS_PER_COMPANY)]
    plans: list[_OrderPlan] = []
    for lines in sizes:
        customer = customers[int(len(customers) * rng.random() ** 1.5)]
        plans.append(_OrderPlan(_order_created(rng, customer), customer, lines))
    plans.sort(key=lambda plan: (plan.created, plan.customer.account, plan.lines))
    return plans


def _order_created(rng: random.Random, customer: _Customer) -> int:
    """An order's creation time: after its customer's, before the end of 2025."""
    return rng.randint(customer.created, LAST_SECOND)


def _customer_ref(rng: random.Random) -> str:
    return "" if rng.random() < 0.4 else f"PO-{rng.randint(10000, 99999)}"


def _line_status(rng: random.Random, header: int) -> int:
    # Partly invoiced or delivered orders: a few lines are one step behind (never ahead of) the header.
    if header in (2, 3) and rng.random() < 0.1:
        return header - 1
    return header


class _LineFactory:
    """Builds SALESLINE rows of one company; the hot loop of the generator, so it caches Decimals."""

    def __init__(self, ctx: _Context, company: _Company, items: Sequence[_Item], lot_width: int) -> None:
        self._ctx = ctx
        self._company = company.id
        self._items = items
        self._lot_width = lot_width
        self._next_lot = 1
        self._line_numbers = [Decimal(n) for n in range(BIG_ORDER_LINES[1] + 1)]
        self._whole_quantities = [_money(n * 100) for n in range(101)]

    def write(self, sales_id: str, line_number: int, status: int) -> None:
        ctx, rng = self._ctx, self._ctx.rng
        item = self._items[int(rng.random() * len(self._items))]
        if item.fractional and rng.random() < 0.4:
            quantity_cents = rng.randint(100, 10_000)
            quantity = _money(quantity_cents)
        else:
            whole = 1 + int(rng.random() * 100)
            quantity_cents, quantity = whole * 100, self._whole_quantities[whole]
        price_cents, price = item.price_cents, item.price
        if rng.random() < 0.15:  # a line discount of 5-25 %
            price_cents = price_cents * (100 - 5 * rng.randint(1, 5)) // 100
            price = _money(price_cents)
        amount_cents = (quantity_cents * price_cents + 50) // 100  # round(qty * price, 2), half up
        color, size = item.variants[int(rng.random() * len(item.variants))] if item.variants else ("", "")
        lot = f"LOT-{self._next_lot:0{self._lot_width}d}"
        self._next_lot += 1
        ctx.insert(
            schema.SALESLINE,
            DATAAREAID=self._company, SALESID=sales_id, LINENUM=self._line_numbers[line_number],
            INVENTTRANSID=lot, ITEMID=item.item_id, SALESQTY=quantity, SALESPRICE=price,
            LINEAMOUNT=_money(amount_cents), SALESUNIT=item.unit, SALESSTATUS=_line_status(rng, status),
            INVENTCOLORID=color, INVENTSIZEID=size,
        )  # fmt: skip


def _write_orders(
    ctx: _Context, company: _Company, plans: Sequence[_OrderPlan], items: Sequence[_Item]
) -> None:
    rng = ctx.rng
    id_width = _width(len(plans), 6)
    lines = _LineFactory(ctx, company, items, _width(sum(plan.lines for plan in plans), 7))
    for number, plan in enumerate(plans, start=1):
        sales_id = f"SO-{number:0{id_width}d}"
        status = _pick_weighted(rng, _ORDER_STATUS)
        created = _timestamp(plan.created)
        shipping: date = created.date() + timedelta(days=rng.randint(0, MAX_SHIPPING_DELAY_DAYS))
        ctx.insert(
            schema.SALESTABLE,
            DATAAREAID=company.id, SALESID=sales_id, CUSTACCOUNT=plan.customer.account, SALESSTATUS=status,
            CURRENCYCODE=plan.customer.currency, SHIPPINGDATEREQUESTED=shipping,
            CUSTOMERREF=_customer_ref(rng), CREATEDDATETIME=created,
        )  # fmt: skip
        for line_number in range(1, plan.lines + 1):
            lines.write(sales_id, line_number, status)


# --------------------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------------------


def _estimated_rows(scale: float) -> int:
    """A first total for the progress bar; corrected once the order plans are known."""
    customers = sum(_split(round(CUSTOMERS_PER_SCALE * scale), MIN_CUSTOMERS_PER_COMPANY))
    vendors = sum(_split(round(VENDORS_PER_SCALE * scale), MIN_VENDORS_PER_COMPANY))
    distinct, masters, services = _product_counts(scale)
    products = distinct + services + masters * 7
    released = round((distinct + masters + services) * 0.85 * len(COMPANIES))
    lines = LINES_PER_SCALE * scale + 1250 * BIG_ORDERS_PER_COMPANY * len(COMPANIES)
    return round(customers * 2.93 + vendors * 2.85 + products + released + lines * 1.07)


def _generate(ctx: _Context, scale: float) -> None:
    """All rows, in an order where every reference is known before it is used."""
    _write_companies(ctx)
    units = _write_units(ctx)
    _write_dimensions(ctx)
    _write_groups(ctx)
    customer_counts = _split(round(CUSTOMERS_PER_SCALE * scale), MIN_CUSTOMERS_PER_COMPANY)
    customers = [_write_customers(ctx, c, n) for c, n in zip(COMPANIES, customer_counts, strict=True)]
    vendor_counts = _split(round(VENDORS_PER_SCALE * scale), MIN_VENDORS_PER_COMPANY)
    vendors = [_write_vendors(ctx, c, n) for c, n in zip(COMPANIES, vendor_counts, strict=True)]
    products = _write_products(ctx, scale)
    items = [_write_released_products(ctx, c, products, v) for c, v in zip(COMPANIES, vendors, strict=True)]
    plans = [_plan_orders(ctx.rng, c, cs, scale) for c, cs in zip(COMPANIES, customers, strict=True)]
    ctx.writer.expect(ctx.writer.pending + sum(len(p) + sum(o.lines for o in p) for p in plans))
    for company, company_plans, company_items in zip(COMPANIES, plans, items, strict=True):
        _write_orders(ctx, company, company_plans, company_items)
    for company, count in zip(COMPANIES, vendor_counts, strict=True):
        _write_person_vendors(ctx, company, count)
    write_organizations(ctx.insert, ctx.rng, scale)  # the organization hierarchy (gateway/demo/organizations.py)
    # categories, dimension groups, conversions, order settings, barcodes (gateway/demo/product_breadth.py)
    write_product_breadth(ctx, units, products, {c.id: i for c, i in zip(COMPANIES, items, strict=True)})
    write_currencies(ctx.insert, ctx.rng)  # currencies and exchange rates (gateway/demo/currencies.py)
    ctx.sequences()


def _party_width(scale: float) -> int:
    customers = sum(_split(round(CUSTOMERS_PER_SCALE * scale), MIN_CUSTOMERS_PER_COMPANY))
    vendors = sum(_split(round(VENDORS_PER_SCALE * scale), MIN_VENDORS_PER_COMPANY))
    persons = vendors // PERSON_VENDOR_SHARE + len(COMPANIES)  # at most this many person vendors
    return _width(customers + vendors + persons, 6)


def _prepare_connection(conn: Connection) -> None:
    """On SQLite, trade durability for speed: a half-built demo database is rebuilt, not recovered."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA journal_mode=OFF")
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        conn.exec_driver_sql("PRAGMA temp_store=MEMORY")


def _recreate_tables(conn: Connection) -> None:
    """Drop and create only the tables of schema.metadata and the events' tables (the databases may be
    shared): a new demo has no event endpoints, activations or events."""
    events_store.metadata.drop_all(conn)
    schema.metadata.drop_all(conn)
    schema.metadata.create_all(conn)
    events_store.metadata.create_all(conn)
    conn.commit()


def build_demo_database(url: str, scale: float = 1.0, seed: int = 42, progress: bool = True) -> DemoSummary:
    """Drop, re-create and fill every table of `schema.metadata` on the SQLAlchemy `url`.

    The same `seed` and `scale` always produce the same rows. `scale` may be fractional (tests use
    0.05); scale 100 gives about 100,000 customers and 1,000,000 SALESLINE rows.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    started = time.perf_counter()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _prepare_connection(conn)
            _recreate_tables(conn)
            # A bar on a terminal, plain lines in a log (gateway/progress.py).
            bar = progress_bar(total=_estimated_rows(scale), unit="rows", enabled=progress, unit_scale=True)
            with bar:
                writer = _BatchWriter(conn, bar)
                _generate(_Context(random.Random(seed), writer, _party_width(scale)), scale)
                writer.flush_all()
                bar.set_description("done", refresh=True)
    finally:
        engine.dispose()
    return DemoSummary(rows=dict(writer.rows), seconds=time.perf_counter() - started)
