"""Tables of the audit store and the triggers that make them append-only.

Three tables, none of which is ever updated:

* ``audit_events``: the chain. ``seq`` is the primary key; ``payload`` is stored as its canonical
  JSON text (not a JSON/JSONB column, which a database may re-order or re-format).
* ``audit_checkpoints``: signed chain heads (HMAC-SHA256, see ``core.audit.signing``).
* ``audit_archives``: one marker per archived segment; the chain resumes from its ``head_hash``.

Triggers refuse UPDATE and DELETE on all three (and TRUNCATE on Postgres). The one documented
exception is retention: a row of ``audit_events`` may be deleted only once an ``audit_archives``
marker covering its ``seq`` exists, which ``AuditStore.archive`` writes in the same transaction,
after exporting the segment.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

_SEQ = BigInteger().with_variant(Integer(), "sqlite")  # INTEGER PRIMARY KEY is SQLite's rowid
_ID = String(128)
_HASH = String(64)
_TS = String(27)

events = Table(
    "audit_events",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("ts", _TS, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("run_id", _ID),
    Column("thread_id", _ID),
    Column("patient_id", _ID),
    Column("principal_id", _ID),
    Column("parent_id", String(36)),
    Column("payload", Text, nullable=False),
    Column("duration_ms", Float(precision=53)),
    Column("prev_hash", _HASH, nullable=False),
    Column("hash", _HASH, nullable=False, unique=True),
)
Index("ix_audit_events_run", events.c.run_id, events.c.seq)
Index("ix_audit_events_patient", events.c.patient_id)
Index("ix_audit_events_principal", events.c.principal_id)

checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("seq", _SEQ, nullable=False),
    Column("head_hash", _HASH, nullable=False),
    Column("ts", _TS, nullable=False),
    Column("signature", _HASH, nullable=False),
)

archives = Table(
    "audit_archives",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("from_seq", _SEQ, nullable=False),
    Column("through_seq", _SEQ, nullable=False),
    Column("prev_hash", _HASH, nullable=False, doc="hash before the segment's first event"),
    Column("head_hash", _HASH, nullable=False, doc="hash of the segment's last event"),
    Column("file_name", String(512), nullable=False),
    Column("file_sha256", _HASH, nullable=False),
    Column("event_id", String(36), nullable=False, doc="the audit.archived event"),
    Column("ts", _TS, nullable=False),
)

_TABLES = ("audit_events", "audit_checkpoints", "audit_archives")
_REFUSAL = "audit store is append-only"

_SQLITE_TRIGGERS = [
    *(
        f"CREATE TRIGGER IF NOT EXISTS {t}_no_update BEFORE UPDATE ON {t} "
        f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}: UPDATE on {t} refused'); END"
        for t in _TABLES
    ),
    *(
        f"CREATE TRIGGER IF NOT EXISTS {t}_no_delete BEFORE DELETE ON {t} "
        f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}: DELETE on {t} refused'); END"
        for t in _TABLES[1:]
    ),
    "CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events "
    "WHEN NOT EXISTS (SELECT 1 FROM audit_archives a "
    "WHERE OLD.seq BETWEEN a.from_seq AND a.through_seq) "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}: DELETE on audit_events refused "
    "(only archived segments may be removed)'); END",
]

# No "%" in this body: psycopg would read it as a parameter placeholder.
_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_events' AND EXISTS (
      SELECT 1 FROM audit_archives a WHERE OLD.seq BETWEEN a.from_seq AND a.through_seq) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION USING
    MESSAGE = '{_REFUSAL}: ' || TG_OP || ' on ' || TG_TABLE_NAME || ' refused',
    ERRCODE = 'integrity_constraint_violation';
END $$
"""

_PG_TRIGGERS = [
    _PG_FUNCTION,
    *(
        f"CREATE OR REPLACE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
        "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
        for t in _TABLES
    ),
    *(
        f"CREATE OR REPLACE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
        for t in _TABLES
    ),
]


def create_schema(conn: Connection) -> None:
    """Create tables and append-only triggers (idempotent); run inside the writer transaction."""
    metadata.create_all(conn)
    statements = _SQLITE_TRIGGERS if conn.dialect.name == "sqlite" else _PG_TRIGGERS
    for statement in statements:
        conn.exec_driver_sql(statement)
