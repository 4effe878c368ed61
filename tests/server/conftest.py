"""A server around a scripted ward round: shipped patients on three wards, four principals."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from core.domain import PatientRecord, PatientSummary
from core.errors import RecordNotFound
from core.model.replies import Reply
from core.settings import SHIPPED_DATA, Settings
from server.app import create_app
from server.auth import Principal, RateLimit, TokenStore
from server.wiring import open_runtime
from tools.fhir.parse import parse_bundle
from tools.fhir.sources import summarise

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
# shipped scenario patients and their wards: 7B, 5A (ward team A) and 5B (ward team B)
OWN = "aki-on-ckd"
OWN_TOO = "hyperkalaemia-acei-spironolactone"
OTHER = "hf-exacerbation"
PAUSING = "penicillin-allergy-betalactam"  # ward 7A: a proposed order pauses its round
MARKER = re.compile(r"\bQ-\d+\b")


class ShippedPatients:
    """The record source: a few shipped bundles, parsed once."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self._records: dict[str, PatientRecord] = {}

    async def load(self, patient_id: str) -> PatientRecord:
        if patient_id not in self.ids:
            raise RecordNotFound(f"no patient {patient_id!r} in /srv/records")
        if patient_id not in self._records:
            path = SHIPPED_DATA / "patients" / f"{patient_id}.json"
            self._records[patient_id] = await asyncio.to_thread(parse_bundle, path, now=NOW)
        return self._records[patient_id]

    def put(self, record: PatientRecord) -> None:
        """Serve ``record`` (a variant of a shipped patient, built by a test) under its id."""
        if record.patient.id not in self.ids:
            self.ids.append(record.patient.id)
        self._records[record.patient.id] = record

    async def list_patients(self) -> list[PatientSummary]:
        records = [await self.load(i) for i in self.ids]
        return [summarise(r, NOW.date()) for r in records]


def ward_model(body: dict[str, Any]) -> Reply:
    """Router → history+labs; the synthesizer echoes the question's marker (Q-n) if any: the
    last one in its messages, since earlier turns of the thread come before the question."""
    step = body["response_format"]["json_schema"]["name"]
    if step == "router":
        return Reply.json({"specialists": ["history", "labs"]})
    if step == "synthesizer":
        # the question comes last (earlier turns of the thread, with their markers, before it)
        markers = MARKER.findall(json.dumps(body["messages"][1:], ensure_ascii=False))
        return Reply.json(
            {
                "answer": f"Answer for {markers[-1] if markers else 'the question'}.",
                "claims": [{"text": "The record was reviewed.", "citations": []}],
            }
        )
    return Reply.json({"summary": f"{step} summary", "key_points": []})


@dataclass
class Server:
    app: FastAPI
    client: httpx.AsyncClient
    tokens: dict[str, str]
    model_server: Any

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


PRINCIPALS = {
    "clinician": Principal(id="u-a", name="Dr A", role="clinician", wards=("7B", "5A")),
    "clinician_b": Principal(id="u-b", name="Dr B", role="clinician", wards=("5B",)),
    "clinician_7a": Principal(id="u-lin", name="Dr Lin", role="clinician", wards=("7A",)),
    "auditor": Principal(id="u-aud", name="Auditor", role="auditor"),
    "admin": Principal(id="u-adm", name="Admin", role="admin"),
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", tokens_file=tmp_path / "tokens.json")


@pytest.fixture
async def server(settings: Settings, scripted_model: Any) -> AsyncIterator[Server]:
    model_server, client = scripted_model(ward_model)
    patients = ShippedPatients([OWN, OWN_TOO, OTHER, PAUSING])
    async with serving(settings, model_server, client, patients) as running:
        yield running


@asynccontextmanager
async def serving(
    settings: Settings, model_server: Any, client: Any, patients: ShippedPatients
) -> AsyncIterator[Server]:
    """The app over ``patients`` and a scripted model, with a token per principal, in process."""
    store = TokenStore(settings.tokens_file)
    tokens = {who: store.add(p) for who, p in PRINCIPALS.items()}
    async with open_runtime(settings, model=client, patients=patients, clock=lambda: NOW) as rt:
        app = create_app(rt, settings, rate_limit=RateLimit(burst=1000, per_second=100))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver"
            ) as http,
        ):
            yield Server(app, http, tokens, model_server)


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = [line for line in block.split("\n") if not line.startswith(":")]
        if not lines:
            continue
        name = next(line[7:] for line in lines if line.startswith("event: "))
        data = next(line[6:] for line in lines if line.startswith("data: "))
        events.append((name, json.loads(data)))
    return events
