"""Knowledge-graph queries are recorded in the transcript and answered on replay, with no KG."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import WardroundError
from evals.kg_io import (
    KgQueryNotRecorded,
    QueryTranscript,
    ReplayGraphStore,
    from_json,
    to_json,
)
from evals.record import RoundSpec, record_round
from evals.replay import ReplayMismatch, replay
from kg.models import DrugRef
from kg.observed import observe
from kg.store import GraphStore

PATIENT = "aki-on-ckd"
QUESTION = "Why is his creatinine rising, and which of his medicines should be held?"

IBUPROFEN = DrugRef(id="kg:Drug/5640", source="test", rxcui="5640", name="ibuprofen")


def _ids(kg: GraphStore, *names: str) -> list[str]:
    return [d.id for d in kg.resolve_drugs(list(names)).resolved]


def test_values_round_trip_with_their_types() -> None:
    value = {"drugs": [IBUPROFEN], "ids": {"b", "a"}, "n": 1.5, "t": ("x",)}
    revived = from_json(json.loads(json.dumps(to_json(value))))
    assert revived["drugs"] == [IBUPROFEN]
    assert isinstance(revived["drugs"][0], DrugRef)
    assert revived["ids"] == {"a", "b"}
    assert revived["t"] == ["x"]
    with pytest.raises(KgQueryNotRecorded, match="not a kg type"):
        from_json({"__type__": "os.system", "value": {}})


def test_recorder_and_replayer_agree(curated_kg: GraphStore) -> None:
    pair = _ids(curated_kg, "ibuprofen", "lisinopril")
    transcript = QueryTranscript()
    recorder = observe(curated_kg, transcript)
    first = recorder.interactions_among(pair)
    assert first  # NSAID + ACE inhibitor: a real KG fact
    assert recorder.stats() == curated_kg.stats()  # not a query: passed through, not recorded
    with pytest.raises(WardroundError):
        recorder.query_readonly("MATCH (d:Drug) DETACH DELETE d")  # raised: not replayable
    assert [line["method"] for line in transcript.lines] == ["interactions_among"]
    replayer = ReplayGraphStore(transcript.lines)
    assert replayer.interactions_among(pair) == first
    assert replayer.interactions_among(pair) == first  # repeats
    assert replayer.unused() == 0
    with pytest.raises(KgQueryNotRecorded, match="interactions_among"):
        replayer.interactions_among(pair[:1])
    assert len(replayer.misses) == 1


async def test_a_kg_round_replays_without_the_kg(
    tmp_path: Path, eval_model, shipped_patients, curated_kg: GraphStore
) -> None:
    kg = curated_kg
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
    assert {"resolve_drugs", "interactions_among", "lab_test"} <= {x["method"] for x in queries}
    # each recorded answer is what the KG says to the same question
    for query in (q for q in queries if q["method"] == "interactions_among"):
        again = kg.interactions_among(*from_json(query["args"]), **from_json(query["kwargs"]))
        assert to_json(again) == query["result"]
    outcome = await replay(path)
    assert outcome.ok, outcome.diff

    # a KG answer that changed since recording is drift: the replayed result differs loudly
    for line in lines:
        if line["type"] == "kg_query" and line["method"] == "interactions_among":
            line["result"] = []
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    with pytest.raises(ReplayMismatch):
        await replay(path)
