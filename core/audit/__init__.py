"""The audit store: an append-only, hash-chained record of every run (ARCHITECTURE.md §3.7, §6).

Entry points build one ``AuditStore`` per process (``AuditStore.from_settings(settings,
checkpoint_key=checkpoint_key(settings_value))``); run code records through a ``Recorder`` bound
to the run's ids. Application logs never carry payloads: they live only here.

Who writes: ``graphs.audit`` (nodes, model calls through the client's observer, ``kg.query``
events through its graph-store observer ``record_kg_query``), ``graphs.run`` (request, answer)
and ``server.deps`` (accesses). Who reads: the auditor API and the ``/audit`` trace viewer
(``server.routes.audit``; ``evidence`` follows a citation to what it cites), the CLI
(``core.audit.cli``), the FHIR export (``fhir_export``) and, when configured, the OpenTelemetry
exporter (``core.telemetry``, an ``AuditStore`` listener that replays each finished run as spans).
"""

from core.audit.archive import ArchiveMarker, verify_segment
from core.audit.errors import (
    AuditChainBroken,
    AuditError,
    AuditKeyMissing,
    AuditRunNotFound,
    InvalidAuditEvent,
)
from core.audit.events import (
    GENESIS_HASH,
    RUN_FAILED,
    AuditEvent,
    EventDraft,
    EventKind,
    canonical_json,
)
from core.audit.recorder import Recorder, Step
from core.audit.runs import RunNode, RunPage, RunSummary, RunTree
from core.audit.signing import checkpoint_key
from core.audit.store import AuditStore, Checkpoint
from core.audit.verify import ChainFault, VerifyReport

__all__ = [
    "GENESIS_HASH",
    "RUN_FAILED",
    "ArchiveMarker",
    "AuditChainBroken",
    "AuditError",
    "AuditEvent",
    "AuditKeyMissing",
    "AuditRunNotFound",
    "AuditStore",
    "ChainFault",
    "Checkpoint",
    "EventDraft",
    "EventKind",
    "InvalidAuditEvent",
    "Recorder",
    "RunNode",
    "RunPage",
    "RunSummary",
    "RunTree",
    "Step",
    "VerifyReport",
    "canonical_json",
    "checkpoint_key",
    "verify_segment",
]
