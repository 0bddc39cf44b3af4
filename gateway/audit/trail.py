"""The audit trail of one write unit: a row per entity written, kept exactly when the write is.

The WriteUnit hands every Change to its trail as it is recorded, and asks the trail to write its
rows just before it commits (gateway/write/unit.py):
- F&O writes: the rows go into the unit's own transaction, so they commit with the write and vanish
  with a rollback, a dry run (`Prefer: tx=rollback`, not audited at all) or a failed change set.
- Dataverse-side writes: the log is in the F&O database, another database. The rows commit there
  first, and are taken back if the write then fails to commit. A process killed between the two
  commits leaves a row for a write that did not happen, never a write without its row.
Dual-write's own sync writes (live sync, worker, initial sync) have no trail: the caller's write
that caused them is the audited event, and dual-write's tables record the rest.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable, MutableMapping
from typing import Any

from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import OperationalError

from gateway.audit.store import audit_log
from gateway.edge.request_id import client_request_id_of, request_id_of
from gateway.errors import DatabaseUnavailable
from gateway.principal import Principal, principal_of
from gateway.write.unit import Change, WriteUnit

log = logging.getLogger("fno_gateway.audit")


class Auditor:
    """Audits the writes of one service (`fno`, `dataverse`) into the F&O database's audit log."""

    def __init__(self, engine: Engine, service: str, company_property: str) -> None:
        self.engine = engine  # the F&O database's
        self.service = service
        self.company_property = company_property

    def trail(self, scope: MutableMapping[str, Any]) -> AuditTrail:
        """The trail of a write unit opened for this request (a change set: the $batch request)."""
        return AuditTrail(self, principal_of(scope), request_id_of(scope), client_request_id_of(scope))


class AuditTrail:
    def __init__(self, auditor: Auditor, principal: Principal, request_id: str,
                 client_request_id: str | None) -> None:
        self.auditor = auditor
        self.principal = principal
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.transaction = str(uuid.uuid4())
        self.rows: list[dict[str, Any]] = []

    def record(self, change: Change) -> None:
        key = dict(change.key)
        fields = change.properties if change.operation == "update" else change.given
        self.rows.append({
            "CREATEDAT": dt.datetime.now(dt.UTC).replace(tzinfo=None),
            "SERVICE": self.auditor.service,
            "ENTITYSET": change.entity_set,
            "OP": change.operation,
            "COMPANY": str(key.get(self.auditor.company_property, ""))[:10],
            "KEYDATA": json.dumps(key, default=str),
            "FIELDS": None if fields is None else ",".join(sorted(fields)),
            "PRINCIPAL": self.principal.name[:200],
            "PRINCIPALKIND": self.principal.kind,
            "OBJECTID": self.principal.object_id[:64],
            "REQUESTID": self.request_id,
            "CLIENTREQUESTID": self.client_request_id,
            "TRANSACTIONID": self.transaction,
        })

    def before_commit(self, unit: WriteUnit) -> Callable[[BaseException], None] | None:
        """Write the rows; returns what takes them back if the unit's commit then fails (or None)."""
        if not self.rows:
            return None
        if unit.connection.engine.url == self.auditor.engine.url:  # the F&O database: one transaction
            unit.connection.execute(insert(audit_log), self.rows)
            return None
        try:
            with self.auditor.engine.begin() as connection:
                connection.execute(insert(audit_log), self.rows)
        except OperationalError:
            # This unit holds its own database's locks while it waits for the F&O database's, where a
            # writer may in turn wait for this one (live sync): give up and let the client retry.
            raise DatabaseUnavailable("the audit log (in the F&O database) is busy or unreachable: "
                                      "nothing was written; try again") from None
        return self._take_back

    def _take_back(self, failure: BaseException) -> None:
        try:
            with self.auditor.engine.begin() as connection:
                connection.execute(delete(audit_log).where(audit_log.c.TRANSACTIONID == self.transaction))
        except Exception:  # the write's own failure is what the client must hear about
            log.exception("audit rows of transaction %s (request %s) outlive their failed write (%r)",
                          self.transaction, self.request_id, failure)
