"""Security files: the shipped ones load; mistakes are reported by file and line; the CLI makes
credentials the gateway then accepts."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.catalog.load import CatalogError
from gateway.identity.config import DEFAULT_SECURITY, load_security
from tests.conftest import TEST_DEV_KEY, Backend, make_client


def test_the_shipped_roles_load() -> None:
    config = load_security(DEFAULT_SECURITY)
    assert {"SystemAdministrator", "DataReader", "SalesClerk"} <= set(config.roles)
    assert config.anonymous_role is None  # nobody anonymous unless configured


@pytest.mark.parametrize(("text", "line", "words"), [
    ("roles:\n  R:\n    privileges:\n      'fno:X': [read, destroy]\n", 4, "'read', 'create', 'update' or 'delete'"),
    ("roles:\n  R:\n    privileges:\n      'nowhere:X': [read]\n", 4, "service:EntitySet"),
    ("roles:\n  R: {}\nusers:\n  - id: a\n    roles: [Ghost]\n", 5, "unknown role 'Ghost'"),
    ("roles:\n  R: {}\nanonymous_role: Nobody\n", 3, "anonymous_role"),
    ("roles:\n  R: {}\napi_keys:\n  - name: k\n    sha256: abc\n    roles: [R]\n", 5, "sha256"),
    ("roles: [oops\n", 2, "YAML"),
], ids=["operation", "service", "role", "anonymous", "hash", "yaml"])
def test_mistakes_name_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    (tmp_path / "roles.yaml").write_text(text)
    with pytest.raises(CatalogError) as raised:
        load_security(tmp_path)
    problem = raised.value.problems[0]
    assert problem.file.endswith("roles.yaml") and problem.line == line, str(raised.value)
    assert words in str(raised.value)


def _cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *arguments], capture_output=True, text=True,
                          timeout=60, check=False)


def test_token_command_mints_what_the_gateway_accepts(sqlite_backend: Backend) -> None:
    minted = _cli("token", "--sub", "alice@contoso.com", "--dev-key", str(TEST_DEV_KEY))
    assert minted.returncode == 0, minted.stderr
    with make_client(sqlite_backend, headers={"Authorization": f"Bearer {minted.stdout.strip()}"}) as alice:
        # alice is a SalesClerk in usmf (entities/security/users.yaml): customers yes, vendors no.
        assert alice.get("/data/CustomersV3?$top=1").status_code == 200
        assert alice.get("/data/VendorsV2?$top=1").status_code == 403
        assert alice.get("/data/CustomersV3?company=usrt").status_code == 403


def test_apikey_command_prints_the_key_once_and_its_hash(tmp_path: Path) -> None:
    made = _cli("apikey", "etl-job", "--roles", "DataReader")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("fgk_") and len(key) > 40
    assert hashlib.sha256(key.encode()).hexdigest() in made.stderr and key not in made.stderr
