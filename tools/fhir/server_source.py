"""A FHIR R4 REST server as a :class:`PatientSource` (``WARDROUND_FHIR_URL``).

``load`` asks for ``Patient/{id}/$everything`` and follows ``link[relation=next]`` pages; a server
that does not support the operation (404/405/501 on it while the Patient exists) is read with one
search per resource type wardround uses, also paged. ``next`` links are only followed on the
configured server's origin: a bundle must not send the client elsewhere. The caller owns the
``httpx.AsyncClient`` (timeouts, auth headers, transport), so tests pass one over an ASGI app.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urljoin

import httpx

from core.domain import PatientRecord, PatientSummary
from core.errors import InvalidFhir, RecordNotFound, WardroundError
from core.logging import get_logger
from core.settings import SHIPPED_DATA
from tools.fhir.bundle import MAX_OBSERVATIONS
from tools.fhir.parse import parse_bundle
from tools.fhir.sources import check_patient_id

log = get_logger(__name__)

# Per-type searches when $everything is unavailable: (resource type, search parameter).
_SEARCHES = (
    ("Encounter", "subject"),
    ("Condition", "subject"),
    ("MedicationRequest", "subject"),
    ("MedicationStatement", "subject"),
    ("AllergyIntolerance", "patient"),
    ("Observation", "subject"),
    ("DiagnosticReport", "subject"),
    ("DocumentReference", "subject"),
    ("ImagingStudy", "subject"),
)
_UNSUPPORTED = frozenset({404, 405, 501})
_MAX_PAGES = 200
_PAGE_SIZE = 200


class FhirServerUnavailable(WardroundError):
    """The FHIR server could not be reached or answered with a server error."""

    http_status = 503
    title = "FHIR server unavailable"


class FhirServerSource:
    def __init__(
        self,
        base_url: str,
        http_client: httpx.AsyncClient,
        *,
        clock: Callable[[], datetime] | None = None,
        max_observations: int = MAX_OBSERVATIONS,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self._http = http_client
        self._clock = clock or (lambda: datetime.now(UTC))
        self._max_observations = max_observations

    async def _get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        if not url.startswith(self.base_url):
            raise InvalidFhir(f"refusing to follow a link off the FHIR server: {url}", path="link")
        try:
            response = await self._http.get(
                url, params=params, headers={"Accept": "application/fhir+json"}
            )
        except httpx.HTTPError as exc:
            raise FhirServerUnavailable(
                f"FHIR server request failed: {type(exc).__name__}"
            ) from exc
        if response.status_code >= 500:
            raise FhirServerUnavailable(f"FHIR server answered {response.status_code}")
        return response

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            doc = response.json()
        except json.JSONDecodeError as exc:
            raise InvalidFhir("FHIR server answered with non-JSON", path="Bundle") from exc
        if not isinstance(doc, dict):
            raise InvalidFhir("FHIR server answer is not a JSON object", path="Bundle")
        return doc

    async def _pages(self, first: httpx.Response) -> list[dict[str, Any]]:
        """Every entry of a paged searchset, following ``next`` links."""
        entries: list[dict[str, Any]] = []
        response = first
        for _ in range(_MAX_PAGES):
            if response.status_code != 200:
                raise InvalidFhir(f"search page answered {response.status_code}", path="Bundle")
            doc = self._json(response)
            entries.extend(
                e
                for e in doc.get("entry", [])
                if e.get("search", {}).get("mode", "match") != "outcome"
            )
            nxt = next(
                (lk["url"] for lk in doc.get("link", []) if lk.get("relation") == "next"), None
            )
            if not nxt:
                return entries
            response = await self._get(urljoin(self.base_url, nxt))
        raise InvalidFhir(f"more than {_MAX_PAGES} pages: refusing to read on", path="Bundle.link")

    async def _everything(self, patient_id: str) -> list[dict[str, Any]] | None:
        response = await self._get(f"{self.base_url}Patient/{patient_id}/$everything")
        if response.status_code in _UNSUPPORTED:
            return None
        return await self._pages(response)

    async def _by_type(self, patient_id: str) -> list[dict[str, Any]]:
        patient = await self._get(f"{self.base_url}Patient/{patient_id}")
        if patient.status_code == 404:
            raise RecordNotFound(f"no Patient/{patient_id} on the FHIR server")
        entries = [{"resource": self._json(patient)}]
        ref = f"Patient/{patient_id}"
        for rtype, param in _SEARCHES:
            first = await self._get(
                f"{self.base_url}{rtype}", params={param: ref, "_count": str(_PAGE_SIZE)}
            )
            entries.extend(await self._pages(first))
        return entries

    async def load(self, patient_id: str) -> PatientRecord:
        check_patient_id(patient_id)
        entries = await self._everything(patient_id)
        if entries is None:
            log.info("fhir.everything_unsupported_fallback_to_search")
            entries = await self._by_type(patient_id)
        if not any(e.get("resource", {}).get("resourceType") == "Patient" for e in entries):
            raise RecordNotFound(f"no Patient/{patient_id} on the FHIR server")
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": _dedupe(entries)}
        return parse_bundle(
            bundle,
            now=self._clock(),
            data_dir=SHIPPED_DATA,
            source=f"{self.base_url}Patient/{patient_id}",
            max_observations=self._max_observations,
        )

    async def status(self) -> dict[str, Any]:
        """Readiness: the server's CapabilityStatement (``GET metadata``) answers, authorized."""
        response = await self._get(f"{self.base_url}metadata")
        if response.status_code != 200:
            return {"ok": False, "detail": f"metadata answered HTTP {response.status_code}"}
        body = response.json()
        return {"ok": True, "fhir_version": str(body.get("fhirVersion") or "")}

    async def list_patients(self) -> list[PatientSummary]:
        """Patients with their current (in-progress) encounter's ward and reason."""
        patients = await self._pages(
            await self._get(f"{self.base_url}Patient", params={"_count": str(_PAGE_SIZE)})
        )
        encounters = await self._pages(
            await self._get(
                f"{self.base_url}Encounter",
                params={"status": "in-progress", "_count": str(_PAGE_SIZE)},
            )
        )
        return _summaries(patients, encounters, self._clock())


def _dedupe(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop exact repeats of one resource (a server may repeat it across pages); a repeated id
    with *different* content stays in and fails parsing as a duplicate, as it should."""
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for e in entries:
        key = json.dumps(e.get("resource"), sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append({"resource": e["resource"]})
    return out


def _summaries(
    patients: list[dict[str, Any]], encounters: list[dict[str, Any]], now: datetime
) -> list[PatientSummary]:
    current: dict[str, dict[str, Any]] = {}
    for e in encounters:
        enc = e.get("resource", {})
        subject = str(enc.get("subject", {}).get("reference", ""))
        current["/".join(subject.split("/")[-2:])] = enc
    out = []
    for p in patients:
        res = p.get("resource", {})
        pid = str(res.get("id", ""))
        enc = current.get(f"Patient/{pid}", {})
        out.append(_summary(res, enc, now.date()))
    return out


def _summary(patient: dict[str, Any], enc: dict[str, Any], today: date) -> PatientSummary:
    names = patient.get("name") or [{}]
    name = names[0].get("text") or " ".join(
        [*names[0].get("given", []), names[0].get("family", "")]
    )
    birth = patient.get("birthDate")
    age = None
    if isinstance(birth, str) and len(birth) >= 10:
        b = date.fromisoformat(birth[:10])
        age = today.year - b.year - ((today.month, today.day) < (b.month, b.day))
    locations = [loc.get("location", {}).get("display", "") for loc in enc.get("location", [])]
    reasons = [r.get("text", "") for r in enc.get("reasonCode", [])]
    return PatientSummary(
        id=str(patient.get("id", "")),
        name=name.strip(),
        ward=next((w for w in reversed(locations) if w), ""),
        age=age,
        sex=str(patient.get("gender", "unknown")),
        headline_problem=next((r for r in reasons if r), ""),
        identifier=next(
            (str(i["value"]) for i in patient.get("identifier") or [] if i.get("value")), ""
        ),
    )
