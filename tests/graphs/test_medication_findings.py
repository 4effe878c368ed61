"""Records written by other systems: their drugs reach the interaction, contraindication and
allergy checks with the model down (issue 13, items 1-2).

The Synthea bundles are third-party (tests/data/fhir-external, see its SOURCES.json). The three
small bundles built here copy the shapes of the held-out records the issue describes (RxNorm
product codes and names, a combination order, a Synthea-style RxNorm-coded penicillin allergy):
warfarin with naproxen, an ACE inhibitor in pre-eclampsia, piperacillin/tazobactam with penicillin
anaphylaxis. Expected findings are what a ward pharmacist would flag.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from core.model.transcript_server import Fault
from core.settings import REPO_ROOT
from graphs.checkpoint import serde
from graphs.result import WardRoundResult
from graphs.run import ask
from graphs.ward_round import build_ward_round
from kg.store import GraphStore
from tests.conftest import DepsFactory
from tests.graphs.test_ward_round import ward_model
from tools.fhir.sources import DirectoryPatientSource

EXTERNAL = REPO_ROOT / "tests" / "data" / "fhir-external"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SUBJECT = {"reference": "Patient/p"}


def _res(rtype: str, rid: str, **body: Any) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{rid}", "resource": {"resourceType": rtype, "id": rid, **body}}


def _order(rid: str, text: str, code: str = "") -> dict[str, Any]:
    coding = [{"system": RXNORM, "code": code, "display": text}] if code else []
    return _res(
        "MedicationRequest", rid, status="active", intent="order", subject=SUBJECT,
        authoredOn="2025-11-20", medicationCodeableConcept={"coding": coding, "text": text},
    )  # fmt: skip


def _bundle(*entries: dict[str, Any], sex: str = "female") -> dict[str, Any]:
    patient = _res("Patient", "p", gender=sex, birthDate="1961-04-02", name=[{"text": "X, Y"}])
    return {"resourceType": "Bundle", "type": "collection", "entry": [patient, *entries]}


MADE_HERE = {
    # RxNorm 855332 "Warfarin Sodium 5 MG Oral Tablet" (RxNav); naproxen by name only
    "warfarin-naproxen": _bundle(
        _order("w", "Warfarin Sodium 5 MG Oral Tablet", "855332"),
        _order("n", "Naproxen sodium 550 MG Oral Tablet"),
    ),
    # RxNorm 314076 "lisinopril 10 MG Oral Tablet" (RxNav); ICD-10-CM O14.90 pre-eclampsia
    "acei-preeclampsia": _bundle(
        _order("l", "lisinopril 10 MG Oral Tablet", "314076"),
        _res(
            "Condition", "c", subject=SUBJECT,
            clinicalStatus={"coding": [{"code": "active"}]},
            code={"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "O14.90",
                              "display": "Unspecified pre-eclampsia, unspecified trimester"}]},
        ),
    ),
    # Synthea codes a penicillin allergy as RxNorm 7980 "Penicillin G"
    "piptaz-penicillin": _bundle(
        _order("pt", "piperacillin 4000 MG / tazobactam 500 MG Injection"),
        _res(
            "AllergyIntolerance", "a", patient=SUBJECT, criticality="high",
            clinicalStatus={"coding": [{"code": "active"}]},
            code={"coding": [{"system": RXNORM, "code": "7980", "display": "Penicillin G"}]},
            reaction=[{"manifestation": [{"text": "Anaphylaxis"}]}],
        ),
    ),
}  # fmt: skip

EXPECTED = [
    ("synthea21-asa-hermiston", "interaction", {"methotrexate", "naproxen"}),
    ("synthea21-eura-treutel", "interaction", {"digoxin", "verapamil"}),
    ("synthea21-trey-berge", "interaction", {"digoxin", "verapamil"}),
    ("synthea21-trey-berge", "interaction", {"warfarin", "clopidogrel"}),
    ("warfarin-naproxen", "interaction", {"warfarin", "naproxen"}),
    ("acei-preeclampsia", "contraindication", {"lisinopril"}),
    ("piptaz-penicillin", "allergy_conflict", {"piperacillin"}),
]


@pytest.fixture(scope="module")
def patients(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("records")
    for stem in {case for case, _, _ in EXPECTED if case not in MADE_HERE}:
        (folder / f"{stem}.json").write_bytes((EXTERNAL / f"{stem}.json").read_bytes())
    for stem, doc in MADE_HERE.items():
        (folder / f"{stem}.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def rounds() -> dict[str, WardRoundResult]:
    return {}


@pytest.mark.parametrize(("patient", "kind", "drugs"), EXPECTED)
async def test_findings_with_the_model_down(  # noqa: PLR0917 - pytest fixtures
    curated_kg: GraphStore, scripted_model: Any, patients: Path, rounds: Any,
    round_deps: DepsFactory, patient: str, kind: str, drugs: set[str],
) -> None:  # fmt: skip
    if patient not in rounds:
        server, client = scripted_model(ward_model, max_retries=0)
        server.inject(Fault("status", status=503, times=1000))
        deps = round_deps(
            patients=DirectoryPatientSource(patients), model=client, graph_store=curated_kg
        )
        graph = build_ward_round(deps, InMemorySaver(serde=serde()))
        rounds[patient] = await ask(graph, patient_id=patient, question="Medication review?")
    result = rounds[patient]
    assert result.degraded
    found = [f for f in result.findings if f.kind == kind and f.origin == "rule"]
    assert any(drugs <= set(f.drugs) for f in found), [f.summary for f in result.findings]


async def test_a_finding_on_a_fuzzy_match_says_to_verify_it(curated_kg: GraphStore) -> None:
    from agents.kg_checks import kg_findings
    from tools.fhir.parse import parse_bundle

    record = parse_bundle(
        _bundle(_order("s", "Simvistatin 10 MG"), _order("v", "Verapamil Hydrochloride 40 MG"))
    )
    findings = {f.id: f for f in await kg_findings(curated_kg, record)}
    interaction = next(f for f in findings.values() if f.kind == "interaction")
    assert set(interaction.drugs) == {"simvastatin", "verapamil"}
    assert "[verify: simvastatin matched approximately from 'Simvistatin 10 MG'" in (
        interaction.summary
    )
    assert findings["kg:fuzzy-drugs"].drugs == ("simvastatin",)
