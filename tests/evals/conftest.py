"""Eval fixtures: the shipped scenario patients and a scripted model over the real protocol."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.model.client import ModelClient
from evals.record import RoundSpec, record_round
from evals.scripted import scripted_ward_model
from kg.store import GraphStore
from tests.conftest import loaded_kg
from tools.fhir.sources import DirectoryPatientSource

PATIENT = "aki-on-ckd"
QUESTION = "Why is his creatinine rising, and which of his medicines should be held?"


@pytest.fixture(scope="session")
def golden_kg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    """The shipped KG content the goldens' answers are checked against: the curated facts, lab
    units, the HPO sample and the ICD-10-CM codes the facts name (``--scope sample``, ~4 s). For
    every query the goldens record (drugs, interactions, contraindications, allergies, monitoring,
    recommendations, lab tests) it answers as the full load the goldens were recorded on does."""
    yield from loaded_kg(tmp_path_factory, "sample")


@pytest.fixture
def shipped_patients() -> DirectoryPatientSource:
    return DirectoryPatientSource()


@pytest.fixture
async def eval_model(scripted_model) -> ModelClient:
    _, client = scripted_model(scripted_ward_model)
    return client


@pytest.fixture
async def recorded(tmp_path: Path, eval_model: ModelClient, shipped_patients) -> Path:
    recording = await record_round(
        RoundSpec(patient_id=PATIENT, question=QUESTION, case_id="t1"),
        model=eval_model,
        patients=shipped_patients,
    )
    return recording.write(tmp_path / "t1.jsonl")
