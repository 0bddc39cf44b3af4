"""A virtual table's primary key: a Guid from the entity number and the root table's RECID.

Bytes 0-3 are the entity number, 4-7 zero, 8-15 the RECID (big-endian), so the Guid is
deterministic and reversible: a GET by Guid is `WHERE RECID = :n`, one index seek, no lookup table.
The column is the RECID itself, typed with `RowGuid`: values leave the database as Guid text and
Guids given by a client are bound as their RECID, so comparisons, sorting ($orderby, keyset paging)
and key lookups all run on the RECID index. A Guid of another entity, or not of this shape, binds
as -1, which no RECID is: such a key finds nothing rather than failing.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

NO_ROW = -1  # what a foreign Guid binds as: no RECID is negative
_RECID_MAX = 2**63 - 1


def row_guid(entity_number: int, recid: int) -> str:
    """The Guid text of one row, lower-case as Dataverse writes Guids."""
    return guid_prefix(entity_number) + _tail(recid)


def guid_prefix(entity_number: int) -> str:
    """The first 18 characters, the same for every row of an entity: 'xxxxxxxx-0000-0000-'."""
    return f"{entity_number:08x}-0000-0000-"


def _tail(recid: int) -> str:
    digits = f"{recid:016x}"
    return digits[:4] + "-" + digits[4:]


def row_id(entity_number: int, guid: object) -> int | None:
    """The RECID inside a Guid of this entity, or None when the Guid is not one of its rows'."""
    try:
        raw = (guid if isinstance(guid, uuid.UUID) else uuid.UUID(str(guid))).bytes
    except ValueError:
        return None
    if int.from_bytes(raw[:4], "big") != entity_number or raw[4:8] != bytes(4):
        return None
    recid = int.from_bytes(raw[8:], "big")
    return recid if recid <= _RECID_MAX else None


class RowGuid(TypeDecorator[str]):
    """The RECID column as the Guid of its row (see the module's docstring)."""

    impl = BigInteger
    cache_ok = True

    def __init__(self, entity_number: int) -> None:
        super().__init__()
        self.entity_number = entity_number
        self._prefix = guid_prefix(entity_number)  # (a page formats thousands of these)

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value  # already a RECID (the gateway's own lookups)
        recid = row_id(self.entity_number, value)
        return NO_ROW if recid is None else recid

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self._prefix + _tail(int(value))

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        return str(self.process_bind_param(value, dialect))
