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


def test_the_dual_write_table_is_every_map_in_plan_order() -> None:
    """README's map table: one row per map file, with the stage, sides, direction and prerequisites the
    file gives (read here as plain YAML), stage by stage and every prerequisite on an earlier row."""
    import yaml

    from gateway.settings import DEFAULT_MAPS

    section = README.split("\n## Dual-write\n", 1)[1].split("\n## ", 1)[0]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in section.splitlines() if re.match(r"\| \d+ \| ", line)]
    files = {data["name"]: data for data in (yaml.safe_load(path.read_text(encoding="utf-8"))
                                             for path in sorted(DEFAULT_MAPS.glob("*.yaml")))}
    assert [int(row[0]) for row in rows] == list(range(1, len(files) + 1))
    assert sorted(row[2] for row in rows) == sorted(files)
    stages = ["reference", "units", "groups", "masters", "documents"]
    order = [row[2] for row in rows]
    for _, stage, name, fo, dv, direction, requires in rows:
        data = files[name]
        assert (stage, fo.split(" (")[0], dv.split(" (")[0]) == (data["stage"], data["fo"], data["dv"]), name
        assert direction == ("both" if data.get("direction", "both") == "both" else "F&O → DV"), name
        assert [item for item in requires.split(", ") if item] == data.get("requires", []), name
        assert all(order.index(required) < order.index(name) for required in data.get("requires", [])), name
    assert [stages.index(row[1]) for row in rows] == sorted(stages.index(row[1]) for row in rows)
