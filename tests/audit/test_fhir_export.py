"""FHIR R4 export: AuditEvent per access, Provenance per answer, as a Bundle that validates."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.bundle import Bundle

from core.audit import RUN_FAILED, AuditRunNotFound, AuditStore, EventKind
from core.audit.fhir_export import export_bundle


async def _answered_run(store: AuditStore) -> None:
    recorder = store.recorder(
        run_id="run-7", thread_id="th-1", patient_id="pat-1", principal_id="dr-a"
    )
    await recorder.emit(EventKind.REQUEST_RECEIVED, {"question": "start enoxaparin?"})
    for agent in ("lab_interpreter", "guideline_checker"):
        async with recorder.node(agent):
            await recorder.emit(EventKind.FINDING_PRODUCED, {"by": agent})
    await recorder.emit(EventKind.CITATION_VERIFIED, {"kind": "fhir", "ref": "Observation/cr-3"})
    await recorder.emit(EventKind.CITATION_REJECTED, {"kind": "fhir", "ref": "Observation/zz"})
    await recorder.emit(EventKind.APPROVAL_REQUESTED, {"action": "MedicationRequest"})
    await recorder.emit(EventKind.APPROVAL_DECIDED, {"approver": "dr-b", "decision": "approved"})
    await recorder.emit(
        EventKind.REQUEST_ANSWERED,
        {
            "answer": "Reduce the dose: eGFR 28.",
            "citations": [
                {"kind": "fhir", "ref": "Observation/cr-3"},
                {"kind": "fhir", "ref": "MedicationRequest/enox-1"},
                {"kind": "kg", "ref": "kg:Drug/67108"},
            ],
        },
    )


async def test_a_run_exports_as_a_bundle_that_validates(store: AuditStore) -> None:
    await _answered_run(store)
    bundle = await export_bundle(store, run_id="run-7")
    reparsed = Bundle.model_validate_json(bundle.model_dump_json())  # round-trips through JSON
    assert reparsed.type == "collection"
    kinds = [entry.resource.get_resource_type() for entry in reparsed.entry]
    assert kinds == ["AuditEvent", "AuditEvent", "Provenance"]

    received = reparsed.entry[0].resource
    assert received.subtype[0].code == "request.received"
    assert received.agent[0].requestor is True
    assert received.agent[0].who.identifier.value == "dr-a"
    assert received.entity[0].what.reference == "Patient/pat-1"
    details = {d.type: d.valueString for d in received.entity[1].detail}
    assert details["seq"] == "1"

    prov = reparsed.entry[2].resource
    agents = [(a.type.coding[0].code, a.who.display or a.who.identifier.value) for a in prov.agent]
    assert agents == [
        ("performer", "lab_interpreter"),
        ("performer", "guideline_checker"),
        ("enterer", "dr-a"),
        ("verifier", "approved"),
    ]
    assert prov.agent[-1].who.identifier.value == "dr-b"
    sources = [e.what.reference or e.what.identifier.value for e in prov.entity]
    assert sources == ["Observation/cr-3", "MedicationRequest/enox-1", "kg:Drug/67108"]
    assert {e.role for e in prov.entity} == {"source"}


async def test_export_by_patient_covers_all_their_runs(store: AuditStore) -> None:
    await _answered_run(store)
    other = store.recorder(run_id="run-8", patient_id="pat-1", principal_id="dr-c")
    await other.emit(EventKind.ACCESS, {"what": "record"})
    bundle = await export_bundle(store, patient_id="pat-1")
    data = json.loads(bundle.model_dump_json())
    assert [e["resource"]["resourceType"] for e in data["entry"]].count("AuditEvent") == 3


async def test_exporting_an_unknown_run_is_not_found(store: AuditStore) -> None:
    with pytest.raises(AuditRunNotFound):
        await export_bundle(store, run_id="nope")


async def test_a_refused_access_and_a_failed_run_are_not_exported_as_successes(
    store: AuditStore,
) -> None:
    refused = store.recorder(patient_id="pat-2", principal_id="dr-b")
    await refused.emit(EventKind.ACCESS, {"action": "open_thread", "allowed": False})
    allowed = store.recorder(patient_id="pat-2", principal_id="dr-a")
    await allowed.emit(EventKind.ACCESS, {"action": "open_thread", "allowed": True})
    failed = store.recorder(run_id="run-9", patient_id="pat-2", principal_id="dr-a")
    await failed.emit(EventKind.REQUEST_RECEIVED, {"question": "?"})
    await failed.emit(EventKind.ERROR, {"where": "step", "error": {"type": "Other"}})  # not a run's
    await failed.emit(
        EventKind.ERROR, {"where": RUN_FAILED, "error": {"type": "RecordNotFound", "message": "x"}}
    )
    bundle = await export_bundle(store, patient_id="pat-2")
    reparsed = Bundle.model_validate_json(bundle.model_dump_json())
    exported = [
        (e.resource.subtype[0].code, e.resource.outcome, e.resource.outcomeDesc)
        for e in reparsed.entry
    ]
    assert exported == [
        ("access", "4", "access refused: open_thread"),
        ("access", "0", None),
        ("request.received", "0", None),
        ("error", "8", "run failed before answering: RecordNotFound"),
    ]
