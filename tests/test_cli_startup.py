"""Start-up of `fno-gateway demo` and `serve`, run as real processes of this checkout: a taken port,
the help of each command, progress when stderr is not a terminal, and the demo's "try" lines, which
are pasted and run here, their effect checked with SQL."""

from __future__ import annotations

import io
import os
import re
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx2
import pytest

from gateway.progress import PlainProgress
from tests.conftest import TEST_DEV_KEY, free_port, repository_root

# The module of this checkout, not whichever `fno-gateway` script the environment has installed.
CLI = [sys.executable, "-m", "gateway.cli"]


def run(*arguments: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *arguments], capture_output=True, text=True, timeout=timeout, check=False,
                          cwd=repository_root())


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A small demo database, built with stderr piped (not a terminal); returns it and that stderr."""
    path = tmp_path_factory.mktemp("startup") / "fo.db"
    result = run("demo-db", "--url", f"sqlite:///{path}", "--scale", "0.02")
    assert result.returncode == 0, result.stderr
    return path, result.stderr


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


# ------------------------------------------------------------------------------------------------ taken port
@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_taken_port_is_one_clear_line_and_a_failure(command: str, taken_port: int, tmp_path: Path) -> None:
    database = tmp_path / "never-built.db"
    result = run(command, "--db", f"sqlite:///{database}", "--port", str(taken_port), "--dev-key", str(TEST_DEV_KEY),
                 timeout=60)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{taken_port}" in lines[0] and "in use" in lines[0], lines
    assert "serving" not in result.stderr and "Traceback" not in result.stderr
    assert not database.exists(), "nothing is built for a server that cannot listen"


# ------------------------------------------------------------------------------------------------ help
def _help_of(command: str, flag: str) -> str:
    result = run(command, "--help", timeout=60)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # argparse wraps lines: compare words
    start = text.index(f" {flag} ", text.index("options:"))
    following = re.search(r" --[a-z-]+ ", text[start + len(flag) + 2:])
    return text[start: start + len(flag) + 2 + (following.start() if following else len(text))]


def test_dualwrite_worker_help_says_the_truth_per_command() -> None:
    assert "always on in `demo`" in _help_of("demo", "--dualwrite-worker")
    serve_help = _help_of("serve", "--dualwrite-worker")
    assert "(default: off)" in serve_help and "always on" not in serve_help


def test_anonymous_role_help_names_the_demo_default() -> None:
    assert "'DataReader'" in _help_of("demo", "--anonymous-role")
    assert "(default: '')" in _help_of("serve", "--anonymous-role")


# ------------------------------------------------------------------------------------------------ progress
def test_progress_without_a_terminal_is_whole_lines(demo_db: tuple[Path, str]) -> None:
    _, stderr = demo_db
    assert "\r" not in stderr
    lines = stderr.splitlines()
    assert lines and all(len(line) < 200 for line in lines), stderr
    assert re.search(r"[\d,]+ rows", stderr)


def test_dualwrite_start_without_a_terminal_is_whole_lines(demo_db: tuple[Path, str], tmp_path: Path) -> None:
    copy = tmp_path / "fo.db"
    copy.write_bytes(demo_db[0].read_bytes())
    result = run("dualwrite", "start", "Units", "--db", f"sqlite:///{copy}", "--dataverse-db",
                 f"sqlite:///{tmp_path / 'dv.db'}")
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr and all(len(line) < 200 for line in result.stderr.splitlines())
    with closing(sqlite3.connect(copy)) as connection:
        units = connection.execute("SELECT count(*) FROM UNITOFMEASURE").fetchone()[0]
    assert f"{units:,} created" in result.stdout, result.stdout


def test_plain_progress_prints_a_line_per_interval_and_one_at_the_end() -> None:
    stream = io.StringIO()
    with PlainProgress("demo", total=200, unit="rows", file=stream, interval=0) as bar:
        bar.update(50)
        bar.set_description("done")
        bar.update(150)
    assert stream.getvalue().splitlines() == ["demo: 50 rows (25%)", "done: 200 rows (100%)", "done: 200 rows (100%)"]
    quiet = io.StringIO()
    with PlainProgress("x", unit="rows", file=quiet, interval=3600) as bar:
        bar.update(1234)
    assert quiet.getvalue() == "x: 1,234 rows\n"


# ------------------------------------------------------------------------------------------------ try lines
def _read_until(process: subprocess.Popen[str], lines: list[str], pattern: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(re.search(pattern, line) for line in lines):
            return
        assert process.poll() is None, "".join(lines)
        time.sleep(0.1)
    raise AssertionError(f"no line matching {pattern!r} within {seconds}s:\n{''.join(lines)}")


def test_demo_prints_try_lines_that_work(demo_db: tuple[Path, str], tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    database.write_bytes(demo_db[0].read_bytes())
    port = free_port()
    process = subprocess.Popen([*CLI, "demo", "--db", f"sqlite:///{database}", "--port", str(port),
                                "--dev-key", str(TEST_DEV_KEY)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               text=True, cwd=repository_root(), start_new_session=True)
    lines: list[str] = []
    assert process.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stderr.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        _read_until(process, lines, r"/receiver/events", 120)
        text = "".join(lines)
        serving = text.index("serving")
        tries = [line.strip() for line in lines if line.strip().startswith(("curl", "TOKEN="))]
        assert len(tries) == 6 and text.index(tries[0]) > serving, text
        read_url = shlex.split(tries[0])[-1]
        assert read_url.startswith(f"http://127.0.0.1:{port}/data/")
        virtual_url = shlex.split(tries[1])[-1]  # the same customers as a Dataverse virtual table
        assert virtual_url.startswith(f"http://127.0.0.1:{port}/api/data/v9.2/mserp_custcustomerv3entities")
        token_command = shlex.split(tries[2].removeprefix("TOKEN=$(").removesuffix(")"))
        assert token_command[0] == "fno-gateway"
        token = subprocess.run([*CLI, *token_command[1:]], capture_output=True, text=True, check=True,
                               cwd=repository_root()).stdout.strip()
        activate = shlex.split(tries[3].replace("$TOKEN", token))
        patch = shlex.split(tries[4].replace("$TOKEN", token))
        received_url = shlex.split(tries[5].split("#")[0])[-1]
        body, url = patch[patch.index("-d") + 1], patch[patch.index("-d") + 2]
        _wait_for(read_url)
        read = httpx2.get(read_url, timeout=10)
        assert read.status_code == 200, read.text
        rows = read.json()["value"]
        with closing(sqlite3.connect(database)) as connection:
            limits = dict(connection.execute("SELECT ACCOUNTNUM, CREDITMAX FROM CUSTTABLE WHERE DATAAREAID = 'usmf'"))
        assert len(rows) == 2 and all(float(limits[row["CustomerAccount"]]) == row["CreditLimit"] for row in rows)
        virtual = httpx2.get(virtual_url, timeout=10)
        assert virtual.status_code == 200, virtual.text  # the demo enabled the virtual tables
        with closing(sqlite3.connect(database)) as connection:
            every = dict(connection.execute("SELECT ACCOUNTNUM, CREDITMAX FROM CUSTTABLE"))
        assert all(float(every[row["mserp_customeraccount"]]) == row["mserp_creditlimit"]
                   for row in virtual.json()["value"]) and len(virtual.json()["value"]) == 2
        activation = activate[activate.index("-d") + 1]
        activated = httpx2.post(activate[activate.index("-d") + 2], content=activation, timeout=30,
                                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        assert activated.status_code == 201, activated.text
        with closing(sqlite3.connect(database)) as connection:
            old = connection.execute("SELECT CREDITMAX FROM CUSTTABLE WHERE DATAAREAID = 'usmf' "
                                     "AND ACCOUNTNUM = 'US-001'").fetchone()[0]
        written = httpx2.patch(url, content=body, timeout=30,
                               headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        assert written.status_code == 204, written.text
        with closing(sqlite3.connect(database)) as connection:
            credit = connection.execute("SELECT CREDITMAX FROM CUSTTABLE WHERE DATAAREAID = 'usmf' "
                                        "AND ACCOUNTNUM = 'US-001'").fetchone()[0]
        assert float(credit) == 5000
        # The demo's worker delivered the business event to the demo's own receiver, signed.
        deadline = time.monotonic() + 30
        while not (received := httpx2.get(received_url, timeout=10).json()["value"]):
            assert time.monotonic() < deadline, "no event at the demo's receiver within 30 s"
            time.sleep(0.2)
        (event,) = received
        assert event["SignatureVerified"] is True
        assert event["Body"]["BusinessEventId"] == "CustomerCreditLimitChangedBusinessEvent"
        assert (float(event["Body"]["OldCreditLimit"]), float(event["Body"]["NewCreditLimit"])) == (float(old), 5000)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        reader.join(timeout=10)
        process.stderr.close()


def _wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx2.get(url, timeout=1)
            return
        except httpx2.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered {url} within {seconds}s")
