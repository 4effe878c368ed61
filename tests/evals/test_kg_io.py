"""Knowledge-graph queries are recorded in the transcript and answered on replay, with no KG."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from evals.kg_io import (
    KgQueryNotRecorded,
    RecordingGraphStore,
    ReplayGraphStore,
    from_json,
    to_json,
)
from evals.record import RoundSpec, record_round
from evals.replay import ReplayMismatch, replay
from kg.models import AllergyReport, DrugRef, DrugResolution, Interaction

PATIENT = "aki-on-ckd"
QUESTION = "Why is his creatinine rising, and which of his medicines should be held?"

IBUPROFEN = DrugRef(id="drug:ibuprofen", source="test", rxcui="5640", name="ibuprofen")
LISINOPRIL = DrugRef(id="drug:lisinopril", source="test", rxcui="29046", name="lisinopril")


class FakeKg:
    """Two drugs and one interaction; every other query finds nothing."""

    def __init__(self) -> None:
        self.calls = 0

    def resolve_drugs(self, names: Sequence[str]) -> DrugResolution:
        self.calls += 1
        resolved = [
            d.model_copy(update={"matched": n})
            for n in names
            for d in (IBUPROFEN, LISINOPRIL)
            if d.rxcui == n or d.name in n.lower()
        ]
        return DrugResolution(resolved=resolved, unresolved=[])

    def interactions_among(self, drug_ids: Sequence[str]) -> list[Interaction]:
        self.calls += 1
        if {IBUPROFEN.id, LISINOPRIL.id} <= set(drug_ids):
            return [
                Interaction(
                    id="ix:nsaid-acei", source="test", drug_a=IBUPROFEN.id, drug_b=LISINOPRIL.id,
                    drug_a_name="ibuprofen", drug_b_name="lisinopril", severity="major",
                    mechanism="renal prostaglandins", effect="AKI", management="stop the NSAID",
                )
            ]  # fmt: skip
        return []

    def allergy_conflicts(self, drug_ids: Sequence[str], allergies: Sequence[str]) -> AllergyReport:
        self.calls += 1
        return AllergyReport(conflicts=[], unresolved=[])

    def lab_test(self, loinc: str) -> None:
        self.calls += 1

    def __getattr__(self, name: str) -> Any:
        def nothing(*_args: Any, **_kwargs: Any) -> list[Any]:
            self.calls += 1
            return []

        return nothing


def test_values_round_trip_with_their_types() -> None:
    value = {"drugs": [IBUPROFEN], "ids": {"b", "a"}, "n": 1.5, "t": ("x",)}
    revived = from_json(json.loads(json.dumps(to_json(value))))
    assert revived["drugs"] == [IBUPROFEN]
    assert isinstance(revived["drugs"][0], DrugRef)
    assert revived["ids"] == {"a", "b"}
    assert revived["t"] == ["x"]
    with pytest.raises(KgQueryNotRecorded, match="not a kg type"):
        from_json({"__type__": "os.system", "value": {}})


def test_recorder_and_replayer_agree() -> None:
    recorder = RecordingGraphStore(FakeKg())
    first = recorder.interactions_among([IBUPROFEN.id, LISINOPRIL.id])
    replayer = ReplayGraphStore(recorder.lines)
    assert replayer.interactions_among([IBUPROFEN.id, LISINOPRIL.id]) == first
    assert replayer.interactions_among([IBUPROFEN.id, LISINOPRIL.id]) == first  # repeats
    assert replayer.unused() == 0
    with pytest.raises(KgQueryNotRecorded, match="interactions_among"):
        replayer.interactions_among([IBUPROFEN.id])
    assert len(replayer.misses) == 1


async def test_a_kg_round_replays_without_the_kg(
    tmp_path: Path, eval_model, shipped_patients
) -> None:
    kg = FakeKg()
    recording = await record_round(
        RoundSpec(patient_id=PATIENT, question=QUESTION),
        model=eval_model,
        patients=shipped_patients,
        graph_store=kg,
    )
    assert recording.header["kg"] is True
    assert any(f.kind == "interaction" for f in recording.result.findings)
    assert not recording.result.degraded
    path = recording.write(tmp_path / "kg.jsonl")
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    queries = [x for x in lines if x["type"] == "kg_query"]
    assert len(queries) == kg.calls - 1  # content_version, asked for the header, is not a query
    assert {"resolve_drugs", "interactions_among", "lab_test"} <= {x["method"] for x in queries}
    outcome = await replay(path)
    assert outcome.ok, outcome.diff

    # a KG answer that changed since recording is drift: the replayed result differs loudly
    for line in lines:
        if line["type"] == "kg_query" and line["method"] == "interactions_among":
            line["result"] = []
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    with pytest.raises(ReplayMismatch):
        await replay(path)
