"""Patient sources: the directory store, and the FHIR REST client against a real HTTP fake.

The fake is a small FHIR R4 server (an ASGI app over the shipped bundles) that speaks the real
protocol: ``Patient/{id}/$everything`` and per-type searches as paged ``searchset`` bundles with
``link[relation=next]``, 404 OperationOutcomes, and a switch that turns ``$everything`` off.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.errors import InvalidFhir, InvalidInput, RecordNotFound
from core.settings import SHIPPED_DATA
from tools.fhir.server_source import FhirServerSource, FhirServerUnavailable
from tools.fhir.sources import DirectoryPatientSource, PatientSource, load_patient

PATIENTS = SHIPPED_DATA / "patients"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
BASE = "http://fhir.invalid/fhir"
PAGE = 7


def clock() -> datetime:
    return NOW


@dataclass
class FakeFhir:
    """The server's data and switches; ``requests`` records every path asked for."""

    by_patient: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    everything: bool = True
    capability: bool = True
    evil_next: bool = False
    requests: list[str] = field(default_factory=list)

    @classmethod
    def over(cls, *ids: str) -> FakeFhir:
        fake = cls()
        for pid in ids:
            doc = json.loads((PATIENTS / f"{pid}.json").read_text(encoding="utf-8"))
            fake.by_patient[pid] = [e["resource"] for e in doc["entry"]]
        return fake

    def searchset(self, request: Request, resources: list[dict[str, Any]]) -> JSONResponse:
        page = int(request.query_params.get("_page", "0"))
        chunk = resources[page * PAGE : (page + 1) * PAGE]
        links = [{"relation": "self", "url": str(request.url)}]
        if (page + 1) * PAGE < len(resources):
            params = dict(request.query_params) | {"_page": str(page + 1)}
            query = "&".join(f"{k}={v}" for k, v in params.items())
            here = f"{str(request.base_url).rstrip('/')}/fhir"  # BASE, or the real server's
            origin = "http://elsewhere.invalid/fhir" if self.evil_next else here
            links.append({"relation": "next", "url": f"{origin}{request.url.path[5:]}?{query}"})
        entries = [{"resource": r, "search": {"mode": "match"}} for r in chunk]
        if page == 0:
            outcome = {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "information", "code": "informational"}],
            }
            entries.append({"resource": outcome, "search": {"mode": "outcome"}})
        body = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(resources),
            "link": links,
            "entry": entries,
        }
        return JSONResponse(body, media_type="application/fhir+json")

    def app(self) -> Starlette:
        def not_found(what: str) -> JSONResponse:
            outcome = {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "not-found", "diagnostics": what}],
            }
            return JSONResponse(outcome, status_code=404, media_type="application/fhir+json")

        async def everything(request: Request) -> JSONResponse:
            self.requests.append(request.url.path)
            pid = request.path_params["pid"]
            if not self.everything:
                return not_found("operation $everything not supported")
            if pid not in self.by_patient:
                return not_found(f"Patient/{pid}")
            return self.searchset(request, self.by_patient[pid])

        async def read_patient(request: Request) -> JSONResponse:
            self.requests.append(request.url.path)
            pid = request.path_params["pid"]
            if pid not in self.by_patient:
                return not_found(f"Patient/{pid}")
            return JSONResponse(self.by_patient[pid][0], media_type="application/fhir+json")

        async def search(request: Request) -> JSONResponse:
            self.requests.append(request.url.path)
            rtype = request.path_params["rtype"]
            q = request.query_params
            ref = q.get("subject") or q.get("patient")
            found = [
                r
                for resources in self.by_patient.values()
                for r in resources
                if r["resourceType"] == rtype
                and (
                    ref is None
                    or (r.get("subject") or r.get("patient") or {}).get("reference") == ref
                )
                and ("status" not in q or r.get("status") == q["status"])
            ]
            return self.searchset(request, found)

        async def metadata(request: Request) -> JSONResponse:
            self.requests.append(request.url.path)
            if not self.capability:
                return not_found("metadata")
            body = {"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1"}
            return JSONResponse(body, media_type="application/fhir+json")

        return Starlette(
            routes=[
                Route("/fhir/Patient/{pid}/$everything", everything),
                Route("/fhir/Patient/{pid}", read_patient),
                Route("/fhir/metadata", metadata),
                Route("/fhir/{rtype}", search),
            ]
        )


@pytest.fixture
def fake() -> FakeFhir:
    return FakeFhir.over("aki-on-ckd", "sepsis-pneumonia", "dka")


@pytest.fixture
async def client(fake: FakeFhir) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=fake.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://fhir.invalid") as c:
        yield c


# --- directory ------------------------------------------------------------------------------


async def test_directory_source_loads_by_id() -> None:
    source = DirectoryPatientSource(PATIENTS, clock=clock)
    assert isinstance(source, PatientSource)
    record = await source.load("aki-on-ckd")
    assert record.patient.ref == "Patient/aki-on-ckd"
    assert record.source.endswith("aki-on-ckd.json")


async def test_directory_source_lists_the_ward() -> None:
    summaries = {
        s.id: s for s in await DirectoryPatientSource(PATIENTS, clock=clock).list_patients()
    }
    assert len(summaries) >= 15
    aki = summaries["aki-on-ckd"]
    assert (aki.ward, aki.sex, aki.age) == ("7B", "male", 78)
    assert aki.name == "陳文雄"
    assert aki.headline_problem == "Vomiting, poor intake, rising creatinine"
    assert summaries["cb-ckd3-01"].headline_problem == "Chronic kidney disease, stage 3a"


@pytest.mark.parametrize("bad", ["../secrets", "a/b", "", "x" * 65, ".."])
async def test_directory_source_refuses_non_ids(bad: str) -> None:
    with pytest.raises(InvalidInput):
        await DirectoryPatientSource(PATIENTS).load(bad)


async def test_directory_source_missing_patient_and_dir(tmp_path: Path) -> None:
    with pytest.raises(RecordNotFound):
        await DirectoryPatientSource(PATIENTS).load("no-such-patient")
    with pytest.raises(RecordNotFound):
        await DirectoryPatientSource(tmp_path / "nowhere").list_patients()


async def test_single_file_source_and_cli_helper(tmp_path: Path) -> None:
    file = tmp_path / "dka.json"
    file.write_bytes((PATIENTS / "dka.json").read_bytes())
    single = DirectoryPatientSource(file, clock=clock)
    assert [s.id for s in await single.list_patients()] == ["dka"]
    with pytest.raises(RecordNotFound):
        await single.load("aki-on-ckd")
    assert (await load_patient(str(file), PATIENTS, clock)).patient.id == "dka"
    assert (await load_patient("dka", PATIENTS, clock)).patient.id == "dka"


# --- FHIR server ----------------------------------------------------------------------------


async def test_everything_with_paging_matches_the_file(
    client: httpx.AsyncClient, fake: FakeFhir
) -> None:
    remote = await FhirServerSource(BASE, client, clock=clock).load("sepsis-pneumonia")
    local = await DirectoryPatientSource(PATIENTS, clock=clock).load("sepsis-pneumonia")
    assert remote.refs() == local.refs()
    assert remote.observations == local.observations
    assert remote.patient == local.patient
    assert remote.imaging[0].dicom_files == local.imaging[0].dicom_files
    assert remote.source == f"{BASE}/Patient/sepsis-pneumonia"
    assert fake.requests.count("/fhir/Patient/sepsis-pneumonia/$everything") > 3  # paged


async def test_fallback_to_per_type_search(client: httpx.AsyncClient, fake: FakeFhir) -> None:
    fake.everything = False
    remote = await FhirServerSource(BASE, client, clock=clock).load("aki-on-ckd")
    local = await DirectoryPatientSource(PATIENTS, clock=clock).load("aki-on-ckd")
    assert remote.observations == local.observations
    assert set(remote.medications) == set(local.medications)
    assert remote.notes == local.notes
    assert remote.patient.ward == "7B"  # from Encounter.location.display: Location is not searched
    assert "/fhir/MedicationStatement" in fake.requests


async def test_unknown_patient(client: httpx.AsyncClient, fake: FakeFhir) -> None:
    source = FhirServerSource(BASE, client)
    with pytest.raises(RecordNotFound):
        await source.load("nobody")
    fake.everything = False
    with pytest.raises(RecordNotFound):
        await source.load("nobody")


async def test_next_link_off_the_server_is_refused(
    client: httpx.AsyncClient, fake: FakeFhir
) -> None:
    fake.evil_next = True
    with pytest.raises(InvalidFhir, match="off the FHIR server"):
        await FhirServerSource(BASE, client).load("dka")


async def test_list_patients_from_server(client: httpx.AsyncClient) -> None:
    summaries = {s.id: s for s in await FhirServerSource(BASE, client, clock=clock).list_patients()}
    assert set(summaries) == {"aki-on-ckd", "sepsis-pneumonia", "dka"}
    assert summaries["dka"].ward == "ICU"
    assert summaries["dka"].age == 24
    assert summaries["sepsis-pneumonia"].headline_problem.startswith("Sepsis")


async def test_readiness_reads_the_capability_statement(
    client: httpx.AsyncClient, fake: FakeFhir
) -> None:
    source = FhirServerSource(BASE, client)
    assert await source.status() == {"ok": True, "fhir_version": "4.0.1"}
    fake.capability = False
    assert await source.status() == {"ok": False, "detail": "metadata answered HTTP 404"}


async def test_a_missing_bundle_directory_is_not_ready(tmp_path: Path) -> None:
    assert (await DirectoryPatientSource(PATIENTS).status())["bundles"] >= 15
    assert await DirectoryPatientSource(tmp_path / "nowhere").status() == {
        "ok": False,
        "detail": "the patients directory does not exist",
    }


async def test_server_down_is_a_typed_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as c:
        with pytest.raises(FhirServerUnavailable):
            await FhirServerSource(BASE, c).load("dka")
