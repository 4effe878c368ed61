"""The walking ward round, end to end through the real openai client and a scripted model."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agents.deps import WardRoundDeps
from core.model.replies import Reply
from core.model.transcript_server import Fault
from graphs.checkpoint import serde
from graphs.run import ask
from graphs.ward_round import build_ward_round
from tests.conftest import DepsFactory
from tests.graphs.conftest import BundleDirectory

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
SNAPSHOT = Path(__file__).with_name("ward_round.mermaid")


def step_of(body: dict[str, Any]) -> str:
    return body["response_format"]["json_schema"]["name"]


def ward_model(body: dict[str, Any]) -> Reply:
    step = step_of(body)
    if step == "router":
        return Reply.json({"specialists": ["history", "labs"]})
    if step == "synthesizer":
        zh = "繁體中文" in body["messages"][1]["content"]
        answer = (
            "肌酸酐上升，符合急性腎損傷。" if zh else "Creatinine is rising: AKI stage 2 on CKD."
        )
        return Reply.json(
            {
                "answer": answer,
                "claims": [
                    {
                        "text": "Creatinine rose from 1.2 to 2.6 mg/dL.",
                        "citations": ["Observation/cr1", "Observation/cr3"],
                    },
                    {"text": "Urine output was low.", "citations": ["Observation/ghost"]},
                ],
            }
        )
    return Reply.json(
        {
            "summary": f"{step} summary",
            "key_points": [{"text": "K is high", "citations": ["Observation/k1"]}],
        }
    )


@pytest.fixture
def deps_for(round_deps: DepsFactory) -> Callable[[Any, Any], WardRoundDeps]:
    """The round's dependencies over ``patients`` and a scripted ``client``, at ``NOW``."""
    return lambda patients, client: round_deps(patients=patients, model=client, clock=lambda: NOW)


async def test_scripted_round_end_to_end(patients, scripted_model, deps_for) -> None:
    server, client = scripted_model(ward_model)
    graph = build_ward_round(deps_for(patients, client), InMemorySaver(serde=serde()))
    result = await ask(graph, patient_id="aki-demo", question="Why is the creatinine rising?")

    # no knowledge graph in this test: only the guideline checker's KG part is missing
    assert result.degraded_reasons == ["guideline: no knowledge graph configured"]
    assert result.route_origin == "model"
    assert [s.name for s in result.specialists] == ["history", "labs", "guideline"]
    assert result.answer.startswith("Creatinine is rising: AKI stage 2 on CKD.")
    kinds = {f.kind for f in result.findings}
    assert {"aki_stage", "lab_flag", "allergy"} <= kinds
    # the rule findings are in the answer whatever the model wrote
    assert "KDIGO AKI stage 2" in result.answer
    assert "Documented allergy: penicillin" in result.answer
    # the verifier removed the hallucinated citation and marked the claim
    ghost = next(c for c in result.claims if c.text == "Urine output was low.")
    assert ghost.supported is False
    assert ghost.citations == ()
    assert result.unsupported_citations == 1
    assert next(c for c in result.claims if c.text.startswith("Creatinine rose")).supported
    # every model call but the router's shares the same first message: the patient context;
    # the router sees counts, never the record's text (agents.router.record_facts)
    firsts = {r["messages"][0]["content"] for r in server.requests if step_of(r) != "router"}
    assert len(firsts) == 1
    assert "<<<PATIENT RECORD" in firsts.pop()
    [router] = [r for r in server.requests if step_of(r) == "router"]
    assert "<<<PATIENT RECORD" not in json.dumps(router["messages"])
    assert result.tokens["calls"] == len(server.requests) == 4  # router, 2 specialists, synth
    assert result.schema_version == "1"


async def test_specialists_run_in_parallel(patients, scripted_model, deps_for) -> None:
    import asyncio

    in_flight, peak = 0, 0

    async def slow(body: dict[str, Any]) -> Reply:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return ward_model(body)

    _, client = scripted_model(slow)
    graph = build_ward_round(deps_for(patients, client), InMemorySaver(serde=serde()))
    await ask(graph, patient_id="aki-demo", question="Summarise")
    assert peak >= 2


async def test_model_down_still_returns_rule_findings(patients, scripted_model, deps_for) -> None:
    server, client = scripted_model(ward_model, max_retries=0)
    server.inject(Fault("status", status=503, times=100))
    graph = build_ward_round(deps_for(patients, client), InMemorySaver(serde=serde()))
    result = await ask(graph, patient_id="aki-demo", question="Is it safe to continue ibuprofen?")
    assert result.degraded is True
    assert result.route_origin == "rule"
    assert any("ModelServerError" in r for r in result.degraded_reasons)
    assert {"aki_stage", "allergy"} <= {f.kind for f in result.findings}
    # the answer says the model was unavailable; the exception stays in the result and the trail
    assert result.answer.startswith("Model unavailable: the findings below are computed by rules.")
    assert "ModelServerError" not in result.answer
    assert "KDIGO AKI stage 2" in result.answer


async def test_citations_write_units_as_people_do(patients, scripted_model, deps_for) -> None:
    server, client = scripted_model(ward_model, max_retries=0)
    server.inject(Fault("status", status=503, times=100))
    graph = build_ward_round(deps_for(patients, client), InMemorySaver(serde=serde()))
    result = await ask(graph, patient_id="aki-demo", question="Why is the creatinine rising?")
    lines = result.citations_text()
    [egfr] = [line for line in lines if line.startswith("calc:egfr_ckd_epi_2021 ")]
    assert "mL/min/1.73 m²" in egfr, egfr
    # the calculators' own labels keep UCUM (the data); only the printed lines are written out
    assert any("{1.73_m2}" in c.label for f in result.findings for c in f.citations)
    assert not [line for line in lines if "{" in line or "[Hg]" in line], lines


async def test_slow_model_is_cut_at_the_round_deadline(
    patients, scripted_model, round_deps
) -> None:
    import asyncio

    async def glacial(body: dict[str, Any]) -> Reply:
        await asyncio.sleep(5)
        return ward_model(body)

    _, client = scripted_model(glacial)
    deps = round_deps(patients=patients, model=client, settings={"round_deadline_s": 0.3})
    graph = build_ward_round(deps, InMemorySaver(serde=serde()))
    started = asyncio.get_running_loop().time()
    result = await ask(graph, patient_id="aki-demo", question="Why is the creatinine rising?")
    assert asyncio.get_running_loop().time() - started < 3
    assert result.degraded is True
    assert "aki_stage" in {f.kind for f in result.findings}


async def test_zh_tw_question_gets_zh_tw_answer(patients, scripted_model, deps_for) -> None:
    _, client = scripted_model(ward_model)
    graph = build_ward_round(deps_for(patients, client), InMemorySaver(serde=serde()))
    result = await ask(graph, patient_id="aki-demo", question="為什麼肌酸酐上升？")
    assert result.language == "zh-TW"
    assert result.answer.startswith("肌酸酐上升")
    assert "規則計算的發現" in result.answer


async def test_zh_tw_answer_without_the_model_is_framed_in_chinese(
    patients, scripted_model, deps_for
) -> None:
    server, client = scripted_model(ward_model, max_retries=0)
    server.inject(Fault("status", status=503, times=100))
    graph = build_ward_round(deps_for(patients, client), InMemorySaver(serde=serde()))
    result = await ask(graph, patient_id="aki-demo", question="可以繼續用 ibuprofen 嗎？")
    assert result.degraded is True
    assert result.answer.startswith("模型無法使用：以下發現由規則計算。 規則發現 ")
    # severity tags, tier headings and the specialists' counts in Chinese; rule text may stay
    # English (no sourced translation)
    for english in ("[CRITICAL]", "[HIGH]", "[MODERATE]", "[LOW]", "[INFO]", "Act now", "Review\n"):
        assert english not in result.answer, english
    assert "lab findings from reference ranges" not in result.answer
    assert "立即處理" in result.answer
    assert "[危急]" in result.answer or "[高]" in result.answer


async def test_a_thread_keeps_its_turns_and_resets_findings(
    patients, scripted_model, deps_for
) -> None:
    _, client = scripted_model(ward_model)
    graph = build_ward_round(deps_for(patients, client), InMemorySaver(serde=serde()))
    first = await ask(graph, patient_id="aki-demo", question="Why is the creatinine rising?")
    second = await ask(
        graph, patient_id="aki-demo", question="Summarise", thread_id=first.thread_id
    )
    assert second.turns == 2
    assert len(second.findings) == len(first.findings)  # not doubled by the reducer


async def test_a_follow_up_on_a_thread_carries_the_earlier_turn(
    patients, scripted_model, deps_for
) -> None:
    """The router and the synthesizer see the thread's earlier question and answer (a follow-up
    means little without them); the specialists see the new question only."""
    seen: list[dict[str, Any]] = []

    def recording(body: dict[str, Any]) -> Reply:
        seen.append(body)
        return ward_model(body)

    _, client = scripted_model(recording)
    graph = build_ward_round(deps_for(patients, client), InMemorySaver(serde=serde()))
    first = await ask(graph, patient_id="aki-demo", question="Why is the creatinine rising?")
    first_prompts = {step_of(b): b["messages"] for b in seen}
    seen.clear()
    await ask(
        graph, patient_id="aki-demo", question="And the potassium?", thread_id=first.thread_id
    )
    by_step = {step_of(b): b["messages"] for b in seen}
    assert set(by_step) == {"router", "history", "labs", "synthesizer"}
    synth = by_step["synthesizer"][-1]["content"]
    assert "Q: Why is the creatinine rising?" in synth
    assert f"A: {first.answer.split()[0]}" in synth
    assert synth.endswith("Question: And the potassium?")
    assert by_step["synthesizer"][0] == first_prompts["synthesizer"][0]  # same context first
    # the router gets the earlier question, not the answer (which may quote the record)
    routed = by_step["router"][-1]["content"]
    assert "Why is the creatinine rising?\n\nQuestion: And the potassium?" in routed
    assert first.answer.split()[0] not in routed
    assert by_step["router"][:2] == first_prompts["router"][:2]
    for step in ("history", "labs"):
        assert "Why is the creatinine rising?" not in str(by_step[step]), step
    # the first question's prompts carried no earlier block
    assert all("Earlier in this thread" not in str(m) for m in first_prompts.values())


def test_topology_snapshot(round_deps) -> None:
    """Rewiring the graph must be a deliberate act: update ward_round.mermaid with it."""
    graph = build_ward_round(round_deps())
    drawn = graph.get_graph().draw_mermaid()
    if not SNAPSHOT.exists():  # first run writes the snapshot; review and commit it
        SNAPSHOT.write_text(drawn, encoding="utf-8")
    assert drawn == SNAPSHOT.read_text(encoding="utf-8")


async def test_output_cap_applies_to_every_model_call(patients, scripted_model, round_deps) -> None:
    server, client = scripted_model(ward_model)
    deps = round_deps(
        patients=patients, model=client, clock=lambda: NOW, settings={"model_max_output_tokens": 50}
    )
    await ask(
        build_ward_round(deps, InMemorySaver(serde=serde())),
        patient_id="aki-demo",
        question="Summarise",
    )
    assert server.requests
    assert all(r["max_tokens"] <= 50 for r in server.requests)


@pytest.mark.parametrize("model", ["up", "down"])
async def test_a_chinese_question_on_a_deceased_patient_is_framed_in_chinese(
    tmp_path: Path, scripted_model, deps_for, model: str
) -> None:
    """A third-party Synthea record of a man who died in 2011 (tests/data/fhir-external): the
    answer opens by saying so in Chinese, and the record's age is said in Chinese too, with the
    model answering or not; findings[] stays as the rules wrote it."""
    root = tmp_path / "external"
    root.mkdir()
    bundle = Path(__file__).parents[1] / "data" / "fhir-external" / "synthea3-jimmy-ankunding.json"
    (root / "jimmy.json").write_bytes(bundle.read_bytes())
    server, client = scripted_model(ward_model, max_retries=0)
    if model == "down":
        server.inject(Fault("status", status=503, times=100))
    graph = build_ward_round(deps_for(BundleDirectory(root), client), InMemorySaver(serde=serde()))
    result = await ask(graph, patient_id="jimmy", question="這位病人的藥物安全嗎？")
    assert result.language == "zh-TW"
    assert result.degraded or model == "up"  # up: no KG here, which is degraded too
    first, second = result.answer.split("\n\n")[:2]
    assert re.fullmatch(r"本病人記錄為已於 2011-10-09 死亡 \[Patient/[0-9a-f-]+\]。", first)
    if model == "down":
        assert second.startswith("模型無法使用：以下發現由規則計算。")
    else:
        assert second == "肌酸酐上升，符合急性腎損傷。"  # the scripted model's Chinese answer
    assert (
        "1. [危急] 本病人記錄為已於 2011-10-09 死亡。採取任何處置前請先核對病歷。" in result.answer
    )
    assert "病歷最新一筆資料為 2011-10-09（15 年前）：所有檢驗結果與處方皆已過時" in result.answer
    for english in ("recorded as deceased", "latest entry is from", "Model unavailable"):
        assert english not in result.answer, english
    (deceased,) = [f for f in result.findings if f.kind == "deceased"]
    assert deceased.summary.startswith("This patient is recorded as deceased on 2011-10-09")
