"""The audit log's table, GATEWAYAUDITLOG, in the F&O database (both services' writes go there).

One row per entity written: who (principal name, kind, Entra object id), what (service, entity
set, key, operation, fields), when (UTC), and which request and transaction. Created at start-up
where missing, on SQLite, PostgreSQL and MariaDB alike; served read-only at /admin/data/AuditLog.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Engine, Index, MetaData, String, Table, Text
from sqlalchemy.dialects import mysql

from gateway.db import sequence_column

audit_metadata = MetaData()
audit_log = Table(
    "GATEWAYAUDITLOG", audit_metadata,
    sequence_column(),
    # Microseconds everywhere (MariaDB keeps none unless told): writes of one second keep their order.
    Column("CREATEDAT", DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"), nullable=False),
    Column("SERVICE", String(20), nullable=False),  # fno | dataverse
    Column("ENTITYSET", String(128), nullable=False),
    Column("OP", String(10), nullable=False),  # create | update | delete
    Column("COMPANY", String(10), nullable=False),  # the key's company ('' for shared and Dataverse rows)
    Column("KEYDATA", Text, nullable=False),  # JSON: the entity's key
    # Comma-separated properties written (a create's given ones, an update's); NULL: none listed (a delete).
    Column("FIELDS", Text),
    Column("PRINCIPAL", String(200), nullable=False),
    Column("PRINCIPALKIND", String(20), nullable=False),  # user | application | api-key | anonymous | system
    Column("OBJECTID", String(64), nullable=False),  # the token's oid, '' when it had none
    Column("REQUESTID", String(64), nullable=False),  # the x-ms-service-request-id of the answer
    Column("CLIENTREQUESTID", String(128)),  # the caller's own correlation id, if it sent one
    Column("TRANSACTIONID", String(36), nullable=False),  # rows committed together share it (a change set)
)
Index("IX_GATEWAYAUDITLOG_AT", audit_log.c.CREATEDAT)
Index("IX_GATEWAYAUDITLOG_ENTITY", audit_log.c.ENTITYSET, audit_log.c.CREATEDAT)


def create_audit_table(engine: Engine) -> None:
    audit_metadata.create_all(engine)
