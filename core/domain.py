"""Domain types shared by every layer: the patient record, findings, claims and citations.

A patient fact always keeps ``ref``, its FHIR reference (``"Observation/obs-1"``): that string is
the citation key every agent cites and the verifier resolves. Types are frozen pydantic models so a
record handed to parallel specialists cannot be mutated by one of them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- citations ----------------------------------------------------------------------------------

CitationKind = Literal["fhir", "kg", "image", "calc"]


class Citation(Frozen):
    """A pointer to evidence: a FHIR resource, a KG node/relationship, an image or a calculation."""

    kind: CitationKind
    ref: str = Field(description="'Observation/obs-1', 'kg:Drug/11289', 'image:ImagingStudy/x#0'")
    label: str = ""

    @classmethod
    def fhir(cls, ref: str, label: str = "") -> Citation:
        return cls(kind="fhir", ref=ref, label=label)


# --- the record ---------------------------------------------------------------------------------


class Coding(Frozen):
    system: str = ""
    code: str = ""
    display: str = ""


class Patient(Frozen):
    ref: str
    id: str
    name: str = ""
    sex: Literal["male", "female", "other", "unknown"] = "unknown"
    birth_date: date | None = None
    ward: str = ""
    identifiers: tuple[str, ...] = ()
    deceased: bool = Field(default=False, description="Patient.deceased[x] says the patient died")
    deceased_at: datetime | None = Field(default=None, description="Patient.deceasedDateTime")

    def age_on(self, when: date) -> int | None:
        if self.birth_date is None:
            return None
        b = self.birth_date
        return when.year - b.year - ((when.month, when.day) < (b.month, b.day))


class Encounter(Frozen):
    ref: str
    status: str = ""
    ward: str = ""
    reason: str = ""
    start: datetime | None = None
    end: datetime | None = None


class Problem(Frozen):
    """A Condition: a diagnosis or problem on the list."""

    ref: str
    display: str
    codings: tuple[Coding, ...] = ()
    clinical_status: str = ""
    onset: datetime | None = None
    unknown_code: bool = False
    verification_status: str = ""


class MedicationIngredient(Frozen):
    """One ``Medication.ingredient`` of a referenced or contained Medication resource."""

    text: str = ""
    codings: tuple[Coding, ...] = ()
    active: bool | None = Field(default=None, description="Medication.ingredient.isActive")


class Medication(Frozen):
    """A MedicationRequest or MedicationStatement."""

    ref: str
    name: str
    codings: tuple[Coding, ...] = ()
    status: str = ""
    intent: str = ""
    dose: str = ""
    route: str = ""
    start: datetime | None = None
    proposed: bool = Field(default=False, description="intent 'proposal' or status 'draft'")
    unknown_code: bool = Field(default=False, description="no RxNorm coding: kept, flagged")
    kind: Literal["request", "statement"] = "request"
    ingredients: tuple[MedicationIngredient, ...] = Field(
        default=(),
        description="the ingredients a Medication resource lists (Medication.ingredient)",
    )
    end: datetime | None = Field(
        default=None, description="MedicationStatement.effectivePeriod.end"
    )


class Allergy(Frozen):
    ref: str
    substance: str
    codings: tuple[Coding, ...] = ()
    reaction: str = ""
    criticality: str = ""
    category: str = ""
    clinical_status: str = ""
    unknown_code: bool = Field(default=False, description="no RxNorm/SNOMED coding: kept, flagged")
    verification_status: str = Field(
        default="", description="unconfirmed, confirmed, refuted, entered-in-error"
    )


class LabRange(Frozen):
    """The reporting laboratory's own reference range for a result (FHIR
    ``Observation.referenceRange`` of type normal, for this patient)."""

    low: float | None = None
    high: float | None = None
    unit: str = Field(default="", description="UCUM code of low/high ('' = the result's unit)")
    text: str = ""


class Observation(Frozen):
    """A lab result or vital sign; ``loinc`` is the key into reference ranges and the KG."""

    ref: str
    loinc: str
    display: str
    value: float | None = None
    value_text: str = ""
    unit: str = Field(default="", description="UCUM code")
    effective: datetime | None = None
    category: str = ""
    unknown_code: bool = False
    codings: tuple[Coding, ...] = Field(default=(), description="every coding, local ones too")
    panel: str = Field(
        default="", description="LOINC of the parent panel when this is a component (BP 85354-9)"
    )
    status: str = ""
    lab_range: LabRange | None = Field(
        default=None, description="the laboratory's reference range; it wins over shipped ones"
    )
    lab_interpretation: str = Field(
        default="",
        description="the laboratory's flag (HL7 v3 ObservationInterpretation: H, L, HH, LL, N...)",
    )
    analyte: str = Field(
        default="", description="what was measured, from data/resolve ('creatinine', 'egfr')"
    )
    reported_loinc: str = Field(
        default="",
        description="the LOINC the record used, when the result is counted under another code of "
        "the same analyte (creatinine 38483-4 -> 2160-0); '' when ``loinc`` is the record's own",
    )
    reported_unit: str = Field(
        default="", description="the unit as written, when it was read as another ('mL/min')"
    )


class Note(Frozen):
    """A DocumentReference's decoded text, e.g. an admission note; may be Traditional Chinese."""

    ref: str
    title: str = ""
    text: str
    date: datetime | None = None
    author: str = ""
    language: str = ""
    category: str = Field(default="", description="'note' (DocumentReference) or 'report'")


class ImagingStudy(Frozen):
    ref: str
    modality: str = ""
    description: str = ""
    started: datetime | None = None
    body_site: str = ""
    laterality: str = ""
    dicom_files: tuple[str, ...] = Field(
        default=(), description="resolved file paths (the locators are in dicom_uris)"
    )
    dicom_uris: tuple[str, ...] = Field(
        default=(), description="locators as written in the bundle: 'pydicom:data/...', 'x.dcm'"
    )


class DataIssue(Frozen):
    """A defect found in source data: kept and flagged, never silently coerced or dropped."""

    ref: str = Field(description="the FHIR resource it concerns, 'Observation/obs-1'")
    kind: str = Field(
        description="future_date, impossible_value, unknown_code, unit_mismatch, "
        "dangling_reference, unresolved_file, missing_value"
    )
    message: str
    path: str = Field(default="", description="FHIR element path, 'Observation.valueQuantity'")


class PatientSummary(Frozen):
    """One line of a ward list: enough to pick a patient, nothing clinical beyond the headline."""

    id: str
    name: str = ""
    ward: str = ""
    age: int | None = None
    sex: str = "unknown"
    headline_problem: str = ""
    identifier: str = Field(default="", description="the record's first identifier (an MRN)")


class PatientRecord(Frozen):
    """Everything wardround knows about one patient, parsed from a FHIR R4 bundle."""

    patient: Patient
    encounters: tuple[Encounter, ...] = ()
    problems: tuple[Problem, ...] = ()
    medications: tuple[Medication, ...] = ()
    allergies: tuple[Allergy, ...] = ()
    observations: tuple[Observation, ...] = ()
    notes: tuple[Note, ...] = ()
    imaging: tuple[ImagingStudy, ...] = ()
    source: str = Field(default="", description="where the bundle came from (file path or URL)")
    data_issues: tuple[DataIssue, ...] = Field(
        default=(), description="defects found while parsing: future dates, impossible values..."
    )

    def refs(self) -> frozenset[str]:
        """Every FHIR reference in the record: the set a citation must fall in."""
        items: list[str] = [self.patient.ref]
        for group in (
            self.encounters,
            self.problems,
            self.medications,
            self.allergies,
            self.observations,
            self.notes,
            self.imaging,
        ):
            items.extend(x.ref for x in group)
        return frozenset(items)

    def active_medications(self, now: datetime | None = None) -> tuple[Medication, ...]:
        """What the patient is on now (or is proposed): an active, on-hold, draft, intended or
        unknown-status order or statement, not an ``option`` and not one whose effective period
        ended before ``now`` (default: the current time). Stopped, completed, cancelled, not
        taken and entered-in-error ones are history (FHIR R4 MedicationRequest.status,
        MedicationStatement.status value sets)."""
        at = now or datetime.now(UTC)
        return tuple(
            m for m in self.medications
            if m.status in _CURRENT_STATUSES and m.intent != "option"
            and (m.end is None or m.end >= at)
        )  # fmt: skip

    def latest_results(self, *, numeric: bool = True) -> dict[str, Observation]:
        """The latest result per test (its LOINC code, or its display text when uncoded).

        ``numeric`` keeps only results with a value. An undated result counts as the oldest; of
        two at the same moment, the later one in the record wins.
        """
        latest: dict[str, Observation] = {}
        for obs in self.observations:
            if numeric and obs.value is None:
                continue
            key = obs.loinc or obs.display
            current = latest.get(key)
            if current is None or _moment(obs.effective) >= _moment(current.effective):
                latest[key] = obs
        return latest


_CURRENT_STATUSES = frozenset({"active", "on-hold", "draft", "intended", "unknown", ""})
"""'unknown' stays current: a drug whose status nobody recorded is still checked."""


def _moment(when: datetime | None) -> float:
    return when.timestamp() if when is not None else float("-inf")


# --- what agents produce ------------------------------------------------------------------------


class Severity(StrEnum):
    info = "info"
    low = "low"
    moderate = "moderate"
    high = "high"
    critical = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.info: 0,
    Severity.low: 1,
    Severity.moderate: 2,
    Severity.high: 3,
    Severity.critical: 4,
}


Remedy = Literal["hold", "adjust_dose"]
"""What a finding asks of a medication it names (``agents.approvals.propose`` turns it into a
proposed write): stop it for now, or change its dose."""


class Finding(Frozen):
    """One clinical finding. ``origin='rule'`` ones come from tools/KG and cannot be removed."""

    id: str
    kind: str = Field(description="lab_flag, aki_stage, interaction, contraindication, allergy...")
    severity: Severity
    summary: str
    drugs: tuple[str, ...] = ()
    labs: tuple[str, ...] = ()
    citations: tuple[Citation, ...] = ()
    source: str = Field(default="", description="guideline/reference that backs the rule")
    origin: Literal["rule", "model"] = "rule"
    specialist: str = ""
    remedy: Remedy | None = Field(
        default=None,
        exclude_if=lambda remedy: remedy is None,
        description="what a serious rule finding asks of the medication it names: 'hold' "
        "(also when unset) or 'adjust_dose' (a renal dose adjustment asks for a new dose)",
    )


class Claim(Frozen):
    """A sentence of the answer with the evidence it rests on."""

    text: str
    citations: tuple[Citation, ...] = ()
    supported: bool = True
