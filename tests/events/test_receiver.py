"""The local webhook receiver (gateway/events/receiver.py) as a real process, driven with the standard
library's http.client and checked against signatures and digests computed here with hmac/hashlib.

`running_receiver` (tests/events/conftest.py) is also what the transport and delivery tests deliver to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.events.conftest import running_receiver

SECRET = b"receiver-test-secret"


def signed(body: bytes, secret: bytes = SECRET) -> dict[str, str]:
    """Headers of a signed event, the signature computed here independently of gateway.events.transports."""
    digest = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-FnoGateway-Signature": f"sha256={digest}",
            "X-FnoGateway-Event-Id": "11111111-2222-3333-4444-555555555555"}


def envelope(number: int) -> bytes:
    event = {"BusinessEventId": "CustomerCreditLimitChangedBusinessEvent", "ControlNumber": number,
             "EventId": f"00000000-0000-0000-0000-{number:012d}", "LegalEntity": "usmf",
             "Name": "Müller Straße"}
    return json.dumps(event, ensure_ascii=False).encode("utf-8")


def test_signed_event_is_recorded_listed_and_written(tmp_path: Path) -> None:
    record = tmp_path / "events.jsonl"
    with running_receiver(tmp_path, "--secret", SECRET.decode(), "--record", str(record)) as receiver:
        assert receiver.log.read_text().splitlines()[0] == f"receiving on {receiver.url}"
        body = envelope(1)
        before = datetime.now(UTC)
        status, _ = receiver.request("POST", "/events", body, signed(body))
        assert status == 200
        [event] = receiver.events()
        assert event["Body"] == json.loads(body)
        assert event["BodySha256"] == hashlib.sha256(body).hexdigest()
        assert event["SignatureVerified"] is True
        assert event["Headers"]["x-fnogateway-event-id"] == "11111111-2222-3333-4444-555555555555"
        received = datetime.fromisoformat(event["ReceivedAt"])
        assert received.tzinfo is not None and before - timedelta(seconds=1) <= received <= datetime.now(UTC)
        assert [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()] == [event]

        # Any path takes events; DELETE forgets the memory only, never the record file.
        assert receiver.request("POST", "/hooks/other", envelope(2), signed(envelope(2)))[0] == 200
        assert [e["Path"] for e in receiver.events()] == ["/events", "/hooks/other"]
        assert receiver.request("DELETE")[0] == 204
        assert receiver.events() == []
        assert len(record.read_text(encoding="utf-8").splitlines()) == 2


def test_missing_or_wrong_signature_is_refused_unrecorded(tmp_path: Path) -> None:
    with running_receiver(tmp_path, "--secret", SECRET.decode()) as receiver:
        body = envelope(1)
        status, answer = receiver.request("POST", "/events", body, {"Content-Type": "application/json"})
        assert status == 401 and "missing" in answer["error"]["message"]
        status, answer = receiver.request("POST", "/events", body, signed(body, b"another secret"))
        assert status == 401 and "does not match" in answer["error"]["message"]
        status, _ = receiver.request("POST", "/events", body + b" ", signed(body))  # a byte not signed
        assert status == 401
        status, _ = receiver.request("POST", "/events", b"{not json", signed(b"{not json"))
        assert status == 400
        assert receiver.events() == []


def test_without_secret_events_are_taken_unverified(tmp_path: Path) -> None:
    with running_receiver(tmp_path) as receiver:
        status, _ = receiver.request("POST", "/events", envelope(1), {"Content-Type": "application/json"})
        assert status == 200
        [event] = receiver.events()
        assert event["SignatureVerified"] is False


def test_first_requests_fail_as_told(tmp_path: Path) -> None:
    with running_receiver(tmp_path, "--fail-first", "2", "--fail-status", "503") as receiver:
        statuses = [receiver.request("POST", "/events", envelope(n), {})[0] for n in range(1, 5)]
        assert statuses == [503, 503, 200, 200]
        assert [e["Body"]["ControlNumber"] for e in receiver.events()] == [3, 4]


def test_delay_holds_the_answer(tmp_path: Path) -> None:
    with running_receiver(tmp_path, "--delay", "1.5") as receiver:
        started = time.monotonic()
        assert receiver.request("POST", "/events", envelope(1), {})[0] == 200
        assert 1.4 <= time.monotonic() - started < 10


def test_acknowledged_events_survive_a_kill(tmp_path: Path) -> None:
    """Every event answered 200 is in the record file, read after SIGKILL (no chance to flush at exit)."""
    record = tmp_path / "events.jsonl"
    with running_receiver(tmp_path, "--record", str(record)) as receiver:
        for number in range(1, 31):
            assert receiver.request("POST", "/events", envelope(number), {})[0] == 200
        os.kill(receiver.process.pid, signal.SIGKILL)
        receiver.process.wait(timeout=10)
    lines = record.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["Body"]["ControlNumber"] for line in lines] == list(range(1, 31))
