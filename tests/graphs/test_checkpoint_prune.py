"""A finished turn keeps only the checkpoints its thread needs to go on (real SQLite file).

Before: one question on the demo patient left ~1.2 MB of checkpoints (every step of the root and
of each specialist's subgraph, each with the parsed record). After: the latest root checkpoint
and its pending writes, and everything a thread does next still works on it: an approval
decided, a follow-up read with the earlier turn in view.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from agents.approvals import ApprovalResume, Decision
from agents.deps import WardRoundDeps
from core.settings import SHIPPED_DATA, Settings
from graphs.checkpoint import open_checkpointer
from graphs.run import ask, resume
from graphs.ward_round import build_ward_round
from tests.conftest import DepsFactory
from tests.graphs.test_approvals import DR_LIN, ORDER, PATIENT
from tests.graphs.test_ward_round import NOW, ward_model
from tools.fhir.sources import DirectoryPatientSource


def stored(db: Path) -> dict[str, int]:
    """Rows per namespace kind and the bytes of what they hold."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT checkpoint_ns, length(checkpoint) FROM checkpoints").fetchall()
        writes = conn.execute("SELECT coalesce(sum(length(value)), 0) FROM writes").fetchone()
    return {
        "root": sum(1 for ns, _ in rows if ns == ""),
        "subgraph": sum(1 for ns, _ in rows if ns != ""),
        "bytes": sum(size for _, size in rows) + int(writes[0]),
    }


def deps(round_deps: DepsFactory, scripted_model: Any) -> WardRoundDeps:
    _, client = scripted_model(ward_model)
    return round_deps(
        patients=DirectoryPatientSource(SHIPPED_DATA / "patients", clock=lambda: NOW),
        model=client,
        clock=lambda: NOW,
    )


async def test_a_thread_keeps_its_latest_checkpoint_and_goes_on(
    tmp_path: Path, scripted_model: Any, round_deps: DepsFactory
) -> None:
    settings = Settings(data_dir=tmp_path)
    async with open_checkpointer(settings) as saver:
        graph = build_ward_round(deps(round_deps, scripted_model), saver)
        first = await ask(graph, patient_id=PATIENT, question="Is the antibiotic safe?")
        assert first.pending_approval, "the round proposes an order and pauses"
        paused = stored(settings.checkpoint_path)
        assert paused["root"] == 1
        assert paused["subgraph"] == 0
        assert paused["bytes"] < 200_000

        decided = await resume(
            graph,
            thread_id=first.thread_id,
            decision=ApprovalResume(
                approver=DR_LIN,
                decisions=[Decision(proposal_id=f"activate:{ORDER}", decision="reject")],
            ),
        )
        assert [d.decision for d in decided.decisions] == ["reject"]

        follow_up = await ask(
            graph, patient_id=PATIENT, question="And the renal function?", thread_id=first.thread_id
        )
    assert follow_up.turns == 2  # the earlier turn survived the pruning
    assert stored(settings.checkpoint_path)["root"] == 1


async def test_all_history_is_kept_when_asked(
    tmp_path: Path, scripted_model: Any, round_deps: DepsFactory
) -> None:
    settings = Settings(data_dir=tmp_path, checkpoint_history="all")
    async with open_checkpointer(settings) as saver:
        graph = build_ward_round(deps(round_deps, scripted_model), saver)
        await ask(graph, patient_id="aki-on-ckd", question="Why is the creatinine rising?")
    kept = stored(settings.checkpoint_path)
    assert kept["root"] > 1
    assert kept["subgraph"] > 0
