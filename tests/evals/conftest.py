"""Eval fixtures: the shipped scenario patients and a scripted model over the real protocol."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.model.client import ModelClient
from evals.record import RoundSpec, record_round
from evals.scripted import scripted_ward_model
from tools.fhir.sources import DirectoryPatientSource

PATIENT = "aki-on-ckd"
QUESTION = "Why is his creatinine rising, and which of his medicines should be held?"


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
