"""The README does not lie: every example request of its query-language table answers 200 here."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

import pytest
from starlette.testclient import TestClient

from gateway.settings import HELP, setting_names
from tests.conftest import repository_root

README = (repository_root() / "README.md").read_text(encoding="utf-8")
_SECTION = README.split("## Query language", 1)[1].split("\n## ", 1)[0]
EXAMPLES = [
    example
    for line in _SECTION.splitlines()
    if line.startswith("| ") and "`" in line
    for example in re.findall(r"`([A-Z][A-Za-z0-9]+(?:\?|\().*?)`", line.split(" | ", 1)[1])
]


def test_the_table_has_examples() -> None:
    assert len(EXAMPLES) >= 25


@pytest.mark.parametrize("example", EXAMPLES)
def test_readme_example_answers(sqlite_client: TestClient, example: str) -> None:
    path, _, query = example.partition("?")
    # Encode the way a client does; keep the pairs exactly as the README writes them.
    response = sqlite_client.get(f"/data/{path}?{urlencode(parse_qsl(query, keep_blank_values=True))}")
    assert response.status_code == 200, f"{example}\n{response.text}"
    assert "value" in response.json()


def test_every_setting_is_documented() -> None:
    for name in setting_names():
        assert f"`--{name.replace('_', '-')}`" in README, name
        assert HELP[name]


def _error_classes(base: type) -> list[type]:
    return [cls for sub in base.__subclasses__() for cls in (sub, *_error_classes(sub))]


def test_every_error_code_is_in_the_errors_table() -> None:
    import gateway.app  # noqa: F401 - every error class is imported by now
    from gateway.errors import ODataError

    table = README.split("## Errors", 1)[1].split("\n## ", 1)[0]
    for cls in _error_classes(ODataError):
        assert f"`{cls.code}`" in table, f"{cls.__name__} ({cls.code}) is not in README's Errors table"
