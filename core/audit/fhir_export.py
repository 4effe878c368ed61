"""FHIR R4 export of the audit trail: ``AuditEvent`` per access, ``Provenance`` per answer.

The result is a ``Bundle`` of type ``collection`` validated with ``fhir.resources.R4B``. Every
resource carries the chain position of the event it was built from (``seq``, ``event_id`` and
``hash`` in ``AuditEvent.entity.detail`` / a ``Provenance`` identifier-style target), so an auditor
can go from the export back to the verified chain.

Payload conventions read here (recorders write them):

* ``request.answered``: ``{"answer": str, "citations": [{"kind": "fhir"|"kg"|..., "ref": str}]}``
* ``citation.verified``: ``{"kind", "ref"}`` or ``{"citation": {"kind", "ref"}}``
* ``node.started``: ``{"node": "<agent name>"}``: each distinct node is a Provenance agent
* ``approval.decided``: ``{"approver": "<principal id>", "decision": "approved"|"rejected"}``
  (``approver`` defaults to the event's ``principal_id``)
* ``access``: ``{"action", "allowed": bool, ...}``: a refused access (``allowed: false``) is an
  ``AuditEvent`` with outcome 4 (minor failure)
* ``error`` with ``{"where": "run", "error": {"type", "message"}}``: the run raised before
  answering; exported as an ``AuditEvent`` with outcome 8 (serious failure) and the exception's
  type as ``outcomeDesc`` (FHIR R4 AuditEventOutcome: 0 success, 4 minor, 8 serious, 12 major)
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from core.audit.errors import AuditRunNotFound
from core.audit.events import RUN_FAILED, AuditEvent, EventKind, format_ts
from core.errors import InvalidFhir

if TYPE_CHECKING:
    from core.audit.store import AuditStore

DCM = "http://dicom.nema.org/resources/ontology/DCM"
KIND_SYSTEM = "urn:wardround:audit-event-kind"
AGENT_SYSTEM = "urn:wardround:agent"
PRINCIPAL_SYSTEM = "urn:wardround:principal"
RUN_SYSTEM = "urn:wardround:run"
PATIENT_SYSTEM = "urn:wardround:patient"
_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
_FHIR_REF = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")

ACCESS_KINDS = frozenset({EventKind.REQUEST_RECEIVED, EventKind.REQUEST_ANSWERED, EventKind.ACCESS})


async def export_bundle(
    store: AuditStore, *, run_id: str | None = None, patient_id: str | None = None
) -> Any:
    """The bundle for one run or all of one patient's runs still in the live store."""
    events = await store.events(run_id=run_id, patient_id=patient_id)
    if not events:
        raise AuditRunNotFound(f"no audit events for run={run_id} patient={patient_id}")
    return build_bundle(events)


def build_bundle(events: Sequence[AuditEvent]) -> Any:
    """A validated R4B ``Bundle`` (collection) for these events (one run, or one patient's)."""
    entries = [_entry(audit_event(e)) for e in events if e.kind in ACCESS_KINDS or _run_failure(e)]
    by_run: dict[str | None, list[AuditEvent]] = {}
    for e in events:
        by_run.setdefault(e.run_id, []).append(e)
    for e in events:
        if e.kind is EventKind.REQUEST_ANSWERED:
            entries.append(_entry(provenance(e, by_run[e.run_id])))
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    try:
        return Bundle.model_validate(bundle)
    except ValidationError as exc:
        raise InvalidFhir(str(exc), path="Bundle") from exc


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def _run_failure(event: AuditEvent) -> bool:
    return event.kind is EventKind.ERROR and event.payload.get("where") == RUN_FAILED


def _outcome(event: AuditEvent) -> tuple[str, str | None]:
    """FHIR AuditEventOutcome code and description of an exported event."""
    if _run_failure(event):
        error = event.payload.get("error") or {}
        return "8", f"run failed before answering: {error.get('type', 'error')}"
    if event.kind is EventKind.ACCESS and event.payload.get("allowed") is False:
        return "4", f"access refused: {event.payload.get('action', 'access')}"
    return "0", None


def audit_event(event: AuditEvent) -> dict[str, Any]:
    """One access (or a run's failure) as a FHIR ``AuditEvent`` (DICOM 110110 "Patient Record",
    action Read), its outcome saying whether it succeeded."""
    entities: list[dict[str, Any]] = [
        {
            "what": {"identifier": {"system": RUN_SYSTEM, "value": event.run_id or "none"}},
            "detail": [
                {"type": "seq", "valueString": str(event.seq)},
                {"type": "event_id", "valueString": event.event_id},
                {"type": "hash", "valueString": event.hash},
            ],
        }
    ]
    if event.patient_id:
        entities.insert(0, {"what": _patient(event.patient_id)})
    outcome, why = _outcome(event)
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": event.event_id,
        "type": {"system": DCM, "code": "110110", "display": "Patient Record"},
        "subtype": [{"system": KIND_SYSTEM, "code": event.kind.value}],
        "action": "R",
        "recorded": format_ts(event.ts),
        "outcome": outcome,
        "agent": [_requestor(event.principal_id)],
        "source": {"observer": {"display": "wardround"}},
        "entity": entities,
    }
    if why:
        resource["outcomeDesc"] = why
    return resource


def _patient(patient_id: str) -> dict[str, Any]:
    ref = f"Patient/{patient_id}"
    return (
        {"reference": ref}
        if _FHIR_REF.match(ref)
        else {"identifier": _id(PATIENT_SYSTEM, patient_id)}
    )


def _requestor(principal_id: str | None) -> dict[str, Any]:
    who = {"identifier": {"system": PRINCIPAL_SYSTEM, "value": principal_id or "unknown"}}
    return {"who": who, "requestor": True}


def provenance(answer: AuditEvent, run: Iterable[AuditEvent]) -> dict[str, Any]:
    """One answer as a FHIR ``Provenance``: agents that produced it, sources it cited, approver."""
    run = list(run)
    target = {
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{answer.event_id}"},
        "display": f"wardround answer, run {answer.run_id}, seq {answer.seq}",
    }
    resource: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"provenance:{answer.event_id}")),
        "target": [target],
        "recorded": format_ts(answer.ts),
        "agent": _agents(answer, run),
    }
    sources = [{"role": "source", "what": ref} for ref in _cited(answer, run)]
    if sources:
        resource["entity"] = sources
    return resource


def _agents(answer: AuditEvent, run: list[AuditEvent]) -> list[dict[str, Any]]:
    names = dict.fromkeys(
        str(e.payload["node"])
        for e in run
        if e.kind is EventKind.NODE_STARTED and e.payload.get("node")
    )
    agents = [
        _agent("performer", {"type": "Device", "identifier": _id(AGENT_SYSTEM, name)}, name)
        for name in names
    ]
    agents.append(_agent("enterer", {"identifier": _id(PRINCIPAL_SYSTEM, answer.principal_id)}))
    for e in run:
        if e.kind is EventKind.APPROVAL_DECIDED:
            approver = str(e.payload.get("approver") or e.principal_id or "unknown")
            decision = str(e.payload.get("decision", "decided"))
            who = {"identifier": _id(PRINCIPAL_SYSTEM, approver), "display": decision}
            agents.append(_agent("verifier", who))
    return agents


def _agent(code: str, who: dict[str, Any], display: str | None = None) -> dict[str, Any]:
    if display:
        who = {**who, "display": display}
    return {"type": {"coding": [{"system": _PARTICIPANT, "code": code}]}, "who": who}


def _id(system: str, value: str | None) -> dict[str, str]:
    return {"system": system, "value": value or "unknown"}


def _cited(answer: AuditEvent, run: list[AuditEvent]) -> list[dict[str, Any]]:
    """References to cited evidence: FHIR resources by reference, KG facts by identifier."""
    cited: list[Any] = list(answer.payload.get("citations") or [])
    for e in run:
        if e.kind is EventKind.CITATION_VERIFIED:
            cited.append(e.payload.get("citation", e.payload))
    refs: dict[str, dict[str, Any]] = {}
    for c in cited:
        if not isinstance(c, dict) or not isinstance(c.get("ref"), str):
            continue
        ref = c["ref"]
        if c.get("kind", "fhir") == "fhir" and _FHIR_REF.match(ref):
            refs.setdefault(ref, {"reference": ref})
        else:
            system = f"urn:wardround:{c.get('kind', 'evidence')}"
            refs.setdefault(ref, {"identifier": _id(system, ref), "display": ref})
    return list(refs.values())
