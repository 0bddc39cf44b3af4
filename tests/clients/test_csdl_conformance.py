"""$metadata of both endpoints (/data and /api/data/v9.2), as served, against the OASIS CSDL schemas.

XML against edmx.xsd (which imports edm.xsd) with `xmlschema`; JSON against csdl.schema.json with
`jsonschema`. The JSON schema's names use ECMAScript's `\\p{L}`-style classes, which Python's `re` does not
know: they are rewritten into explicit character classes built from `unicodedata`, the same sets.
Each validator is first shown to reject a broken document, so a pass means something.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx2
import jsonschema
import pytest
import xmlschema

from tests.clients.conftest import Served
from tests.conftest import repository_root

CSDL_DIR = Path(
    os.environ.get("CSDL_SCHEMA_DIR", repository_root().parent / "shared" / "conformance" / "csdl")
)
pytestmark = pytest.mark.skipif(
    not (CSDL_DIR / "edmx.xsd").is_file(),
    reason=f"OASIS CSDL schemas not found in {CSDL_DIR} (set CSDL_SCHEMA_DIR)",
)
ENDPOINTS = ["data/", "api/data/v9.2/"]
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@functools.cache
def _xml_schema() -> Any:
    return xmlschema.XMLSchema(str(CSDL_DIR / "edmx.xsd"))


@functools.cache
def _categories() -> list[str]:
    """The general category of every code point, computed once."""
    return [unicodedata.category(chr(code)) for code in range(0x110000)]


@functools.cache
def _category_class(category: str) -> str:
    """The code points of a Unicode general category (or major class, e.g. 'L') as a `re` character class body."""
    ranges: list[tuple[int, int]] = []
    for code, name in enumerate(_categories()):
        if name.startswith(category):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges
    )


def _python_pattern(pattern: str) -> str:
    return re.sub(r"\\p\{(\w+)\}", lambda m: f"[{_category_class(m.group(1))}]", pattern)


def _translated(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            (_python_pattern(key) if "\\p{" in key else key): (
                _python_pattern(value) if key == "pattern" and isinstance(value, str) else _translated(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_translated(item) for item in node]
    return node


@functools.cache
def _json_validator() -> Any:
    schema = _translated(json.loads((CSDL_DIR / "csdl.schema.json").read_text(encoding="utf-8")))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _metadata(served: Served, endpoint: str, format_: str) -> httpx2.Response:
    response = httpx2.get(
        served.root + endpoint + "$metadata", params={"$format": format_},
        headers={"Authorization": f"Bearer {served.token}"}, timeout=30,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return response


def _xml_errors(document: bytes) -> list[str]:
    return [
        str(error).splitlines()[0] + " at " + str(error.path)
        for error in _xml_schema().iter_errors(document.decode())
    ]


def _json_errors(document: Any) -> list[str]:
    return [f"{error.message[:200]} at /{'/'.join(map(str, error.absolute_path))}"
            for error in _json_validator().iter_errors(document)]  # fmt: skip


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_xml_metadata_is_valid_csdl(served: Served, endpoint: str) -> None:
    response = _metadata(served, endpoint, "xml")
    assert response.headers["content-type"].startswith("application/xml")
    assert _xml_errors(response.content) == []
    # ... and is not trivially small: every entity set of the service document is in it
    names = {entry["name"] for entry in httpx2.get(
        served.root + endpoint, headers={"Authorization": f"Bearer {served.token}"}, timeout=30).json()["value"]}  # fmt: skip
    root = ET.fromstring(response.content)
    assert names and {e.get("Name") for e in root.iter(f"{EDM}EntitySet")} == names


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_json_metadata_is_valid_csdl(served: Served, endpoint: str) -> None:
    response = _metadata(served, endpoint, "json")
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert _json_errors(document) == []
    container_namespace, _, container_name = document["$EntityContainer"].rpartition(".")
    assert document[container_namespace][container_name]["$Kind"] == "EntityContainer"


def test_the_validators_reject_broken_documents(served: Served) -> None:
    xml = _metadata(served, "data/", "xml").content
    broken_xml = xml.replace(
        b'<Property Name="CreditLimit" Type="Edm.Decimal"', b'<Property Name="CreditLimit"', 1
    )
    assert broken_xml != xml and _xml_errors(broken_xml)
    assert _xml_errors(xml.replace(b"<Key>", b"<Keys>", 1).replace(b"</Key>", b"</Keys>", 1))

    document = _metadata(served, "data/", "json").json()
    namespace = document["$EntityContainer"].rpartition(".")[0]
    broken = copy.deepcopy(document)
    broken[namespace]["CustomerV3"]["$Kind"] = "Entity"
    assert _json_errors(broken)
    broken = copy.deepcopy(document)
    broken[namespace]["CustomerV3"]["CreditLimit"]["$Precision"] = "32"
    assert _json_errors(broken)
