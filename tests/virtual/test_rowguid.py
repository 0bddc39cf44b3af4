"""The virtual Guid key (DOMAIN.md §5): deterministic, reversible, stable across processes."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.virtual.rowguid import NO_ROW, RowGuid, row_guid, row_id
from tests.virtual.conftest import expected_guid

RECIDS = st.integers(min_value=0, max_value=2**63 - 1)
NUMBERS = st.integers(min_value=1, max_value=2**32 - 1)


@given(NUMBERS, RECIDS)
def test_guid_and_recid_round_trip(number: int, recid: int) -> None:
    guid = row_guid(number, recid)
    parsed = uuid.UUID(guid)
    assert parsed.bytes[:4] == number.to_bytes(4, "big") and parsed.bytes[8:] == recid.to_bytes(8, "big")
    assert row_id(number, guid) == recid
    assert row_id(number, guid.upper()) == recid  # Guids compare case-insensitively
    assert row_id(number, "{" + guid + "}") == recid


@given(NUMBERS, NUMBERS, RECIDS)
def test_a_guid_of_another_entity_is_no_row(number: int, other: int, recid: int) -> None:
    if number == other:
        return
    assert row_id(other, row_guid(number, recid)) is None
    assert RowGuid(other).process_bind_param(row_guid(number, recid), None) == NO_ROW  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "nope", "00000000-0000-0000-0000-000000000000", "1" * 40,
                                  "ea6d30d3-0001-0000-0000-000000000001"])  # fmt: skip
def test_malformed_or_foreign_guids_find_nothing(text: str) -> None:
    number = 0xEA6D30D3
    assert row_id(number, text) is None
    assert RowGuid(number).process_bind_param(text, None) == NO_ROW  # type: ignore[arg-type]


def test_the_guid_is_the_contract_of_domain_md() -> None:
    """Computed here from the contract alone (sha256 of the physical name, RECID big-endian)."""
    from gateway.catalog.load import load_catalog
    from gateway.virtual.naming import entity_number

    catalog = load_catalog()
    for entity in catalog.entities.values():
        assert entity.physical_name
        assert row_guid(entity_number(entity), 5637144576) == expected_guid(entity.physical_name, 5637144576)


def test_guids_are_the_same_in_another_process() -> None:
    """Stable across restarts: a fresh interpreter (another hash seed) makes the same Guids."""
    script = ("from gateway.catalog.load import load_catalog; from gateway.virtual.naming import entity_number;"
              "from gateway.virtual.rowguid import row_guid;"
              "print(*(row_guid(entity_number(e), 42) for e in load_catalog().entities.values()))")
    here = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          env={"PYTHONHASHSEED": "12345", "PATH": ""}).stdout.split()
    from gateway.catalog.load import load_catalog
    from gateway.virtual.naming import entity_number

    assert here == [row_guid(entity_number(e), 42) for e in load_catalog().entities.values()]
    # Pinned: a changed hash would silently change every Guid a client has stored.
    assert expected_guid("CustCustomerV3Entity", 0x150000059) == "ea6d30d3-0000-0000-0000-000150000059"
