"""Run-scoped dependencies of the ward round, as ONE frozen, typed object.

Built by the composition root (``server.wiring.build_deps``, which the CLI, the server, LangGraph
Studio, evals and tests all use) and handed to the graph factory; nothing here builds a live
client at import time. ``model=None`` means no reasoning model is configured: the round
still returns every deterministic finding, marked degraded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from agents.approvals import Outbox
from core.domain import PatientRecord
from core.model.client import ModelClient
from kg.store import GraphStore


class RecordSource(Protocol):
    """Where patient records come from (a directory of FHIR bundles, a FHIR server...)."""

    async def load(self, patient_id: str) -> PatientRecord: ...


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class WardRoundDeps:
    patients: RecordSource
    model: ModelClient | None
    graph_store: GraphStore | None = None
    """The knowledge graph; ``None`` skips KG-backed checks (reported as degraded)."""
    vision: ModelClient | None = None
    """A vision-language model endpoint; ``None``: imaging says plainly it has no vision model."""
    clock: Callable[[], datetime] = utcnow
    round_deadline_s: float = 300.0
    """After this, model steps are abandoned and the round answers with what it has."""
    max_tool_steps: int = 0
    """Rounds of model-requested tool calls per specialist; 0 turns the tool step off. Use it
    with endpoints that call tools on their own (vLLM/SGLang with a tool parser)."""
    max_output_tokens: int | None = None
    """Caps every agent's reply length (the embedded CPU model needs short replies)."""
    outbox: Outbox | None = None
    """Where approved writes go; ``None`` keeps them only in the thread and the audit store."""
    data_dir: Path | None = None
    """Where DICOM locators resolve (``core.settings.SHIPPED_DATA`` by default)."""
