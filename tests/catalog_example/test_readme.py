"""The README's catalog section does not lie: each `$ curl` of "### A second catalog" is replayed, in
order, on a fresh example database, and its answer compared with the output the README shows
(JSON compared as data, ETags and modification times aside; `-w '%{http_code}'` by status)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from examples.product_catalog.generate import build_catalog_database
from tests.catalog_example.conftest import catalog_app_client
from tests.conftest import Backend, repository_root

README = (repository_root() / "README.md").read_text(encoding="utf-8")
SECTION = README.split("### A second catalog", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
BASE = "http://127.0.0.1:8000"
# Values that differ from run to run: row versions (in ETags) and the time of a write.
_VOLATILE = {"@odata.etag", "ModifiedAt"}


@dataclass
class Example:
    command: str
    method: str = "GET"
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    status_only: bool = False
    output: str = ""


def _examples() -> list[Example]:
    examples: list[Example] = []
    lines = SECTION.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("$ curl"):
            continue
        example = Example(line)
        arguments = shlex.split(line[2:])[1:]
        while arguments:
            argument = arguments.pop(0)
            if argument == "-X":
                example.method = arguments.pop(0)
            elif argument == "-H":
                name, _, value = arguments.pop(0).partition(":")
                if name.lower() != "authorization":
                    example.headers[name.strip()] = value.strip()
            elif argument in ("-d", "--data-binary"):
                example.body = arguments.pop(0).encode()
            elif argument == "-w":
                arguments.pop(0)
                example.status_only = True
            elif argument == "-o":
                arguments.pop(0)
            elif argument.startswith("http"):
                example.url = argument.removeprefix(BASE)
        example.output = lines[index + 1]
        examples.append(example)
    return examples


EXAMPLES = _examples()


def _stable(value: object) -> object:
    if isinstance(value, dict):
        return {key: _stable(item) for key, item in value.items() if key not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(item) for item in value]
    return value


def test_the_section_has_examples() -> None:
    assert len(EXAMPLES) >= 10
    assert all(example.url.startswith("/data/") for example in EXAMPLES)


def test_every_example_answers_what_the_readme_shows(tmp_path: Path) -> None:
    backend = Backend("sqlite", f"sqlite:///{tmp_path / 'catalog.db'}", None)  # type: ignore[arg-type]
    build_catalog_database(backend.url)
    with catalog_app_client(backend) as client:
        client.base_url = client.base_url.copy_with(host="127.0.0.1", port=8000)  # (context URLs as shown)
        for example in EXAMPLES:
            response = client.request(example.method, example.url, content=example.body, headers=example.headers)
            if example.status_only:
                assert str(response.status_code) == example.output, example.command
            elif example.output.startswith(("{", "[")):
                assert _stable(response.json()) == _stable(json.loads(example.output)), example.command
            else:
                assert response.text == example.output, example.command
        client.app.state.engine.dispose()  # type: ignore[attr-defined]
