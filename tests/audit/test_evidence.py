"""Following a citation to its evidence: KG facts and calculations from the run's own events,
FHIR resources and images from the patient's record, compared with the digests the run wrote when
it read the record."""

from __future__ import annotations

from pathlib import Path

from core.audit import AuditStore, EventKind
from core.audit.evidence import (
    RECORD_DIGESTS,
    citation_kind,
    digests_at_run,
    evidence_in_events,
    evidence_in_record,
    fhir_ref,
    record_digests,
    record_fact,
)
from tools.fhir.sources import DirectoryPatientSource

FACT = {"id": "kg:INTERACTS_WITH/a|b", "source": "BNF 2025, Appendix 1", "severity": "major"}


def test_citation_kinds_and_the_resource_behind_an_image() -> None:
    assert citation_kind("kg:Drug/11289") == "kg"
    assert citation_kind("calc:egfr") == "calc"
    assert citation_kind("image:ImagingStudy/cxr-1#0") == "image"
    assert citation_kind("Observation/k1") == "fhir"
    assert fhir_ref("image:ImagingStudy/cxr-1#0") == "ImagingStudy/cxr-1"
    assert fhir_ref("Observation/k1") == "Observation/k1"


async def test_kg_facts_come_from_the_query_that_returned_them(tmp_path: Path) -> None:
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.sqlite'}")
    recorder = store.recorder(run_id="run-1")
    query = await recorder.emit(
        EventKind.KG_QUERY, {"query": "interactions_among", "results": [FACT], "rows": 1}
    )
    finding = {
        "kind": "score",
        "source": "CKD-EPI 2021",
        "citations": [{"kind": "calc", "ref": "calc:egfr", "label": "eGFR"}],
    }
    cited = await recorder.emit(EventKind.FINDING_PRODUCED, finding)
    events = await store.events(run_id="run-1")
    store.close()

    kg = evidence_in_events(FACT["id"], events)
    assert kg is not None
    assert (kg.origin, kg.event_id, kg.source) == ("kg.query", query, "BNF 2025, Appendix 1")
    assert kg.fact == FACT
    calc = evidence_in_events("calc:egfr", events)
    assert calc is not None
    assert (calc.origin, calc.event_id, calc.source) == ("finding", cited, "CKD-EPI 2021")
    assert evidence_in_events("kg:Drug/nowhere", events) is None


async def test_record_facts_for_fhir_refs_and_images() -> None:
    record = await DirectoryPatientSource().load("sepsis-pneumonia")
    study = record.imaging[0]
    image = record_fact(f"image:{study.ref}#0", record)
    assert image is not None
    assert image["ref"] == study.ref
    observation = record.observations[0]
    found = record_fact(observation.ref, record)
    assert found is not None
    assert found["ref"] == observation.ref
    assert record_fact("Observation/not-in-this-record", record) is None
    # the Patient resource itself: the reference only, no identity
    assert record_fact(record.patient.ref, record) == {
        "ref": record.patient.ref,
        "resourceType": "Patient",
    }


async def test_a_record_fact_is_compared_with_what_the_run_read(tmp_path: Path) -> None:
    record = await DirectoryPatientSource().load("sepsis-pneumonia")
    digests = record_digests(record)
    assert set(digests) == record.refs()
    assert all(len(d) == 64 for d in digests.values())
    # written by load_record's node.finished, read back from the run's events
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.sqlite'}")
    recorder = store.recorder(run_id="run-1")
    async with recorder.node("load_record") as step:
        step.record(**{RECORD_DIGESTS: digests})
    async with recorder.node("route") as step:
        step.record(**{RECORD_DIGESTS: {"Observation/decoy": "0" * 64}})
    events = await store.events(run_id="run-1")
    store.close()
    at_run = digests_at_run(events)
    assert at_run == digests
    assert digests_at_run(events[:1]) == {}  # no node.finished: a run recorded without digests

    observation = next(o for o in record.observations if o.value is not None)
    same = evidence_in_record(observation.ref, record, at_run)
    assert same is not None
    assert (same.origin, same.since_run, same.fact["ref"]) == (
        "record",
        "unchanged",
        observation.ref,
    )

    assert observation.value is not None
    bumped = observation.model_copy(update={"value": observation.value + 1})
    edited = record.model_copy(
        update={
            "observations": tuple(bumped if o is observation else o for o in record.observations)
        }
    )
    changed = evidence_in_record(observation.ref, edited, at_run)
    assert changed is not None
    assert changed.since_run == "changed"
    assert changed.fact["value"] == observation.value + 1  # the record as it is now
    assert record_digests(edited)[observation.ref] != at_run[observation.ref]
    # a field added to the model later (at its default) is not a change
    assert (
        record_digests(
            record.model_copy(
                update={
                    "observations": tuple(
                        o.model_copy(update={"lab_interpretation": ""}) for o in record.observations
                    )
                }
            )
        )
        == digests
    )

    others = tuple(o for o in record.observations if o is not observation)
    gone = record.model_copy(update={"observations": others})
    removed = evidence_in_record(observation.ref, gone, at_run)
    assert removed is not None
    assert (removed.since_run, removed.fact) == ("removed", {"ref": observation.ref})

    unknown = evidence_in_record(observation.ref, record, {})
    assert unknown is not None
    assert unknown.since_run == "not_recorded"
    assert evidence_in_record("Observation/never", record, at_run) is None

    study = record.imaging[0]
    image = evidence_in_record(f"image:{study.ref}#0", record, at_run)
    assert image is not None
    assert (image.kind, image.since_run) == ("image", "unchanged")
