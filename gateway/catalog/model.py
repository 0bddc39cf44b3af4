"""The entity catalog: what a service exposes and how each entity maps onto physical tables.

The catalog is data (YAML under entities/); these pydantic models validate it and are then used,
frozen, by every stage of the pipeline. Cross-references (navigation targets, enum types, source
aliases) are checked by `load.py`, which knows the file and line of every value.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# The primitive types the catalog may use, with the Python value each one carries.
PRIMITIVE_TYPES = (
    "Edm.String",
    "Edm.Int32",
    "Edm.Int64",
    "Edm.Decimal",
    "Edm.Double",
    "Edm.Boolean",
    "Edm.Date",
    "Edm.DateTimeOffset",
    "Edm.TimeOfDay",
    "Edm.Guid",
    # Stored as SMALLINT (any integer column); a write outside the type's range is refused.
    "Edm.Int16",
    "Edm.Byte",
    "Edm.SByte",
    "Edm.Single",  # binary32: values are rounded to it (gateway/edm.py)
    "Edm.Duration",  # seconds in an integer or decimal column, written as P1DT2H (gateway/edm.py)
    "Edm.Binary",  # bytes (BLOB, bytea, LONGBLOB), written base64url
    # Bytes too, but never inside an entity's JSON: read and written at the property's own URL
    # (gateway/stream.py), with the media type of `media_type` or of the `media_type_property`.
    "Edm.Stream",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Frozen):
    """One physical table of an entity; every source after the first joins an earlier one."""

    alias: str
    table: str
    join: Literal["inner", "left"] | None = None
    # {column of this table: "alias.COLUMN" of an earlier source}
    link: dict[str, str] = Field(default_factory=dict)
    # Constant restrictions on this table, e.g. {PRODUCTSUBTYPE: 3}.
    where: dict[str, int | str] = Field(default_factory=dict)
    # Writes: values for columns a new row needs but no property gives ("$now": the UTC time).
    defaults: dict[str, int | str] = Field(default_factory=dict)
    # Writes: columns set on every update of this table's row (e.g. {MODIFIEDDATETIME: $now}).
    on_update: dict[str, int | str] = Field(default_factory=dict)
    # Writes: columns numbered from the sequence table when a create does not give them,
    # {column: {name: SEQUENCE, width: 6}}.
    sequences: dict[str, SequenceSpec] = Field(default_factory=dict)


class SequenceSpec(_Frozen):
    name: str
    width: int = 0  # zero-padded to this many digits; 0 keeps the bare number
    prefix: str = ""  # text before the number (Dataverse autonumber: ACC-000042)


class Property(_Frozen):
    name: str = ""  # filled from the mapping key by the loader
    column: str  # "alias.COLUMN"
    type: str  # an Edm primitive or the name of an enum of the service
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    nullable: bool = False
    # Writes: a value the client may not set (computed, generated or owned by another table).
    read_only: bool = False
    # Writes: a create must give it (keys always must); otherwise a missing value gets `default`
    # or the type's empty value (F&O's '', 0, 1900-01-01).
    required: bool = False
    default: bool | int | str | None = None
    # Option-set labels of an integer (or boolean) column: the FormattedValue annotation's text.
    labels: dict[int, str] = Field(default_factory=dict)
    # The service's type definition this property was declared with (`type: Sku`); the loader sets it,
    # and `type` to the definition's underlying type, which is all the rest of the gateway sees.
    type_definition: str | None = None
    # A Guid made from this entity number (first 4 bytes) and the row id in `column` (last 8 bytes):
    # a virtual table's primary key (gateway/virtual/rowguid.py). Compares and sorts as the row id.
    row_guid: int | None = None
    # Text of several "alias.COLUMN"s joined with '|' (a virtual table's mserp_primaryfield);
    # `column` names the first of them.
    joined: list[str] = Field(default_factory=list)
    # The row id of another table's row, found by equal columns (a virtual table's lookup value,
    # `_mserp_fk_x_id_value`): read as a correlated subquery, as the Guid of `row_guid`'s entity.
    lookup: LookupSpec | None = None
    # Edm.Stream: the media type of its bytes, fixed, or held by another (Edm.String) property that a
    # PUT of the stream sets from its Content-Type. Neither: application/octet-stream.
    media_type: str | None = None
    media_type_property: str | None = None
    # A property of a derived type (filled by the loader from the entity's `derived_types`): only its
    # entities have it, and expressions reach it through a type cast (NS.Derived/Property).
    derived: str | None = None

    @property
    def alias(self) -> str:
        return self.column.split(".", 1)[0]

    @property
    def column_name(self) -> str:
        return self.column.split(".", 1)[1]


class LookupSpec(_Frozen):
    table: str  # the other table
    row_id: str  # its row id column (RECID)
    # {column of the other table: "alias.COLUMN" of this entity}
    match: dict[str, str]


class Through(_Frozen):
    """The join table of a many-to-many navigation: one row per related pair (related products)."""

    table: str
    # {property of this entity: column of the join table}
    link: dict[str, str] = Field(min_length=1)
    # {property of the target: column of the join table}
    target_link: dict[str, str] = Field(min_length=1)
    # Constant restrictions on the join table's rows, also written into the rows a new link adds
    # (one join table holding several kinds of relation, e.g. {kind: accessory}).
    where: dict[str, int | str] = Field(default_factory=dict)


class Navigation(_Frozen):
    name: str = ""
    target: str  # entity set name
    collection: bool = False
    # {property of this entity: property of the target}; empty with `through`
    link: dict[str, str] = Field(default_factory=dict)
    # Many-to-many: the rows of the target that rows of the join table pair with this row.
    through: Through | None = None

    @property
    def link_properties(self) -> tuple[str, ...]:
        """This entity's properties the navigation starts from (what a parent row must read)."""
        return tuple(self.through.link if self.through is not None else self.link)


class Entity(_Frozen):
    entity_set: str
    entity_type: str
    company_specific: bool = False
    sources: list[Source] = Field(min_length=1)
    key: list[str] = Field(min_length=1)
    properties: dict[str, Property]
    navigation: dict[str, Navigation] = Field(default_factory=dict)
    searchable: list[str] = Field(default_factory=list)
    # Writes: POST, PATCH, PUT and DELETE are allowed (and the properties that are not read_only).
    writable: bool = False
    # Writes: PATCH to a key that does not exist creates the entity.
    upsert: bool = False
    # Other property sets that identify one row (Dataverse alternate keys), usable as key predicates.
    alternate_keys: list[list[str]] = Field(default_factory=list)
    # The property that names a row (Dataverse's primary name): a lookup to this entity is labelled
    # with it (the lookup's FormattedValue annotation).
    primary_name: str | None = None
    # The properties that order rows when $orderby does not (and make keyset paging's order total):
    # unique and never null. Default: the key. A virtual table sorts by its F&O key, whose index a
    # company-scoped query uses, rather than by its Guid (the RECID), whose order would need a sort.
    sort_key: list[str] = Field(default_factory=list)
    # $skip is accepted (Dataverse refuses it on virtual tables: page with nextLinks instead).
    skip: bool = True
    # F&O: the entity's physical (AOT) name, e.g. CustCustomerV3Entity, and its label: what the
    # Dataverse virtual table is named after (gateway/virtual/). Default: the entity type + "Entity".
    physical_name: str | None = None
    label: str | None = None
    # Its creates, updates and deletes can be activated as data events (gateway/events/); False for the
    # events' own configuration (catalog, endpoints, activations).
    data_events: bool = True
    # A media entity (HasStream): this Edm.Stream property is its media resource, read and written at
    # /Set(key)/$value and created by POSTing the bytes themselves; it is not a property in $metadata.
    media: str | None = None
    # Entity types derived from this one (DerivedType); their properties are merged into `properties`
    # by the loader, each marked with `derived`.
    derived_types: dict[str, DerivedType] = Field(default_factory=dict)
    # Set on the entity of a type cast (gateway/plan/derived.py): the type it derives from.
    base_type: str | None = None
    # A singleton (OData §11.2.3): `entity_set` names one entity, read and updated at /Name without a
    # key; its row is the one row its sources (and their `where`) select.
    singleton: bool = False
    # Complex and collection-valued properties (gateway/catalog/structured.py): declared under
    # `properties:` like the others, moved here by the loader, which also fills `members`.
    structured: dict[str, StructuredProperty] = Field(default_factory=dict)
    # Every primitive member of the complex properties, by path (Address/City): one column each.
    members: dict[str, Property] = Field(default_factory=dict)

    @cached_property
    def source_by_alias(self) -> dict[str, Source]:
        return {source.alias: source for source in self.sources}

    def leaf(self, name: str) -> Property | None:
        """A primitive property, or a complex property's member by its path (Address/City); None else."""
        return self.properties.get(name) or self.members.get(name)


class StructuredProperty(_Frozen):
    """A property of a complex type stored as a group of columns (`columns`), or a collection-valued
    property (of a primitive, enum or complex type) stored as a JSON array in one column (`column`)."""

    name: str = ""  # filled from the mapping key by the loader
    type: str  # a complex type of the service, or (with collection) the items' type
    collection: bool = False
    column: str | None = None  # a collection's JSON column, "alias.COLUMN"
    # A complex property's columns: {member: "alias.COLUMN", or for a nested complex member a mapping}.
    columns: dict[str, str | dict[str, Any]] = Field(default_factory=dict)
    # A complex property: its value may be null (read as null when every column is null).
    # A collection: its items may be null (CSDL: Nullable of a collection is its items').
    nullable: bool = False
    read_only: bool = False
    # Facets of a collection's primitive items.
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None


class DerivedType(_Frozen):
    """An entity type derived from an entity set's type, stored in the same tables (one table per
    hierarchy): its entities are the rows whose `where` properties hold the given values, and it adds
    `properties` of its own (served at /Set/NS.Derived, with @odata.type in /Set)."""

    where: dict[str, int | str]  # {property of the base type (the discriminator): stored value}
    properties: dict[str, Property] = Field(default_factory=dict)


class OperationParameter(_Frozen):
    name: str = ""  # filled from the mapping key by the loader
    type: str  # an Edm primitive or an enum of the service
    nullable: bool = False
    collection: bool = False  # Collection(type): a JSON array in an action's body


class OperationReturn(_Frozen):
    """What an operation returns: entities of an entity set (composable: the caller's query options
    apply to them) or values of a primitive or enum type."""

    entity_set: str | None = None
    type: str | None = None
    collection: bool = False
    nullable: bool = True


class OperationBinding(_Frozen):
    entity_set: str
    collection: bool = False  # bound to the whole set, e.g. Products/NS.MostExpensive()


class Operation(_Frozen):
    """A function (no side effects, GET) or an action (POST), bound to an entity or unbound (then
    served as a function or action import at the service root)."""

    name: str
    kind: Literal["function", "action"]
    binding: OperationBinding | None = None
    parameters: dict[str, OperationParameter] = Field(default_factory=dict)
    returns: OperationReturn | None = None  # actions may return nothing (204)
    # The implementation, one of the two. `sql`: a SELECT whose named parameters (:name) are the
    # operation's parameters and, when bound to an entity, its key properties; it returns the
    # returned entities' key columns (in key order) or the returned values. `python`: "module:function",
    # called with a gateway.operations.call.OperationCall; actions write through it, so every change
    # is authorized, audited, evented and dual-written like a request's.
    sql: str | None = None
    python: str | None = None
    description: str = ""


class CompanyTable(_Frozen):
    table: str
    column: str


class Service(_Frozen):
    namespace: str
    container: str
    company_property: str = "dataAreaId"
    # Where rows name their company by a lookup instead (Dataverse: the navigation `company_property`
    # to cdm_companies), the property of the company table that holds the company's code ("usmf"):
    # a role granted in some companies then sees and writes only rows whose lookup names one of them.
    company_code: str | None = None
    companies: CompanyTable | None = None
    # {enum name: {stored integer: member name}}
    enums: dict[str, dict[int, str]] = Field(default_factory=dict)
    # The enums whose values combine members bitwise (CSDL IsFlags): `has` tests bits, values like
    # "InStock,OnSale" read and write as one integer.
    flags_enums: list[str] = Field(default_factory=list)
    # {name: a primitive type with facets}, usable as a property's type (CSDL TypeDefinition).
    type_definitions: dict[str, TypeDefinition] = Field(default_factory=dict)
    # {name: its members}, the types of complex properties (CSDL ComplexType; gateway/catalog/structured.py).
    complex_types: dict[str, ComplexType] = Field(default_factory=dict)
    # Writes: where RECIDs and other numbers come from (like F&O's SYSTEMSEQUENCES).
    sequences: SequenceTable | None = None
    # Every physical table's row id and row version columns (F&O: RECID, RECVERSION).
    row_id: str = "RECID"
    row_version: str = "RECVERSION"
    # "sequence": row ids come from the sequence table (F&O). "guid": the key identifies the first
    # table's row (Dataverse: accountid): a single Guid key is made by the writer unless given; a
    # composite key (ProductID + LanguageCode) is given in full by the client.
    row_ids: Literal["sequence", "guid"] = "sequence"


class TypeDefinition(_Frozen):
    underlying: str  # an Edm primitive type
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None


class ComplexMember(_Frozen):
    """A member of a complex type: a primitive, an enum, a type definition or another complex type."""

    name: str = ""  # filled from the mapping key by the loader
    type: str
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    nullable: bool = False


class ComplexType(_Frozen):
    properties: dict[str, ComplexMember] = Field(min_length=1)


class SequenceTable(_Frozen):
    table: str
    name_column: str = "NAME"
    value_column: str = "NEXTVAL"


class Catalog(_Frozen):
    service: Service
    entities: dict[str, Entity]  # by entity set name (and singleton name)
    folder: str = ""
    operations: dict[str, Operation] = Field(default_factory=dict)  # functions and actions, by name

    @cached_property
    def entity_types(self) -> dict[str, Entity]:
        return {entity.entity_type: entity for entity in self.entities.values()}

    def qualified(self, name: str) -> str:
        return f"{self.service.namespace}.{name}"

    def is_enum(self, type_name: str) -> bool:
        return type_name in self.service.enums

    def is_flags(self, type_name: str) -> bool:
        return type_name in self.service.flags_enums

    def row_id(self, entity: Entity, source: Source) -> str:
        """The row id column of one of an entity's tables (a Guid key is its first table's row id);
        the first of them where a composite key identifies the first table's row (row_id_columns)."""
        return self.row_id_columns(entity, source)[0]

    def row_id_columns(self, entity: Entity, source: Source) -> tuple[str, ...]:
        """The columns that identify the row of one of an entity's tables: RECID; with row_ids: guid,
        the first table's key columns (one Guid, or every part of a composite key)."""
        if self.service.row_ids == "guid" and source is entity.sources[0]:
            return tuple(entity.properties[name].column_name for name in entity.key)
        return (self.service.row_id,)
