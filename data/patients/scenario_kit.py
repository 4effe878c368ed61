"""A small, deterministic builder for hand-authored ward admissions as FHIR R4 collection bundles.

Used by ``build_scenarios.py``. Ids are ``<patient id>-<kind>-<n>``, times are written explicitly,
nothing is random: running the script twice gives byte-identical JSON. The numbers in the
scenarios are synthetic clinical values chosen to exercise the tools; they are not drawn from any
real patient.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
DICOM_FILE_EXTENSION = "https://wardround.dev/fhir/StructureDefinition/dicom-file"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

# Common results: key -> (LOINC, display, UCUM unit).
LAB: dict[str, tuple[str, str, str]] = {
    "na": ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L"),
    "k": ("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L"),
    "cl": ("2075-0", "Chloride [Moles/volume] in Serum or Plasma", "mmol/L"),
    "hco3": ("1963-8", "Bicarbonate [Moles/volume] in Serum or Plasma", "mmol/L"),
    "urea": ("22664-7", "Urea [Moles/volume] in Serum or Plasma", "mmol/L"),
    "bun": ("3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", "mg/dL"),
    "cr_umol": ("14682-9", "Creatinine [Moles/volume] in Serum or Plasma", "umol/L"),
    "cr_mg": ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL"),
    "egfr": (
        "98979-8",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or "
        "Blood by Creatinine-based formula (CKD-EPI 2021)",
        "mL/min/{1.73_m2}",
    ),
    "glu_mmol": ("14749-6", "Glucose [Moles/volume] in Serum or Plasma", "mmol/L"),
    "glu_mg": ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL"),
    "cbg_mmol": ("2339-0", "Glucose [Mass/volume] in Blood", "mmol/L"),
    "hb_gl": ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/L"),
    "hb": ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL"),
    "wbc": ("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*9/L"),
    "plt": ("777-3", "Platelets [#/volume] in Blood by Automated count", "10*9/L"),
    "neut": ("751-8", "Neutrophils [#/volume] in Blood by Automated count", "10*9/L"),
    "eos": ("711-2", "Eosinophils [#/volume] in Blood by Automated count", "10*9/L"),
    "inr": ("6301-6", "INR in Platelet poor plasma by Coagulation assay", "{INR}"),
    "crp": ("1988-5", "C reactive protein [Mass/volume] in Serum or Plasma", "mg/L"),
    "pct": ("33959-8", "Procalcitonin [Mass/volume] in Serum or Plasma", "ng/mL"),
    "lactate": ("2524-7", "Lactate [Moles/volume] in Serum or Plasma", "mmol/L"),
    "mg_mmol": ("19123-9", "Magnesium [Mass/volume] in Serum or Plasma", "mmol/L"),
    "ca_mmol": ("2000-8", "Calcium [Moles/volume] in Serum or Plasma", "mmol/L"),
    "alb_gl": ("1751-7", "Albumin [Mass/volume] in Serum or Plasma", "g/L"),
    "alt": ("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L"),
    "bili_mg": ("1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", "mg/dL"),
    "ph_v": ("2746-6", "pH of Venous blood", "[pH]"),
    "ph_a": ("2744-1", "pH of Arterial blood", "[pH]"),
    "pco2_a": ("2019-8", "Carbon dioxide [Partial pressure] in Arterial blood", "mm[Hg]"),
    "po2_a": ("2703-7", "Oxygen [Partial pressure] in Arterial blood", "mm[Hg]"),
    "bhb": ("29512-1", "3-Hydroxybutyrate [Mass/volume] in Serum", "mmol/L"),
    "ag": ("33037-3", "Anion gap in Serum or Plasma", "mmol/L"),
    "osm": ("2692-2", "Osmolality of Serum or Plasma", "mosm/kg"),
    "una": ("2955-3", "Sodium [Moles/volume] in Urine", "mmol/L"),
    "ntprobnp": ("33762-6", "Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma", "pg/mL"),
    "tnt": ("67151-1", "Troponin T.cardiac [Mass/volume] in Serum or Plasma by High sensitivity method", "ng/L"),
    "hba1c": ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%"),
    "qtc": ("8636-3", "Q-T interval corrected", "ms"),
    "weight": ("29463-7", "Body weight", "kg"),
    "height": ("8302-2", "Body height", "cm"),
    "o2flow": ("3151-8", "Inhaled oxygen flow rate", "L/min"),
    "gcs": ("9269-2", "Glasgow coma score total", "{score}"),
}
VITAL_KEYS = {"weight", "height", "o2flow", "gcs"}


def coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def concept(text: str, *codings: dict[str, str]) -> dict[str, Any]:
    return {"coding": list(codings), "text": text}


@dataclass
class Admission:
    """One patient, one admission; methods add resources, ``bundle()`` writes them out."""

    pid: str
    name: str
    sex: str
    birth: str
    ward: str
    admitted: datetime
    reason: str
    lang: str = "en"
    resources: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._add("Location", "ward", {"status": "active", "name": self.ward, "physicalType":
                  concept("Ward", coding("http://terminology.hl7.org/CodeSystem/location-physical-type", "wa", "Ward"))})
        self._add("Encounter", "enc", {
            "status": "in-progress",
            "class": coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "IMP", "inpatient encounter"),
            "subject": self.subject,
            "period": {"start": self.at(0, "10:00")},
            "reasonCode": [{"text": self.reason}],
            "location": [{"location": {"reference": f"Location/{self.pid}-ward-1", "display": self.ward}, "status": "active"}],
        })

    # --- plumbing --------------------------------------------------------------------------
    @property
    def subject(self) -> dict[str, str]:
        return {"reference": f"Patient/{self.pid}"}

    @property
    def encounter(self) -> dict[str, str]:
        return {"reference": f"Encounter/{self.pid}-enc-1"}

    def at(self, day: float, hhmm: str = "08:00") -> str:
        """ISO time ``day`` days after admission day at ``hhmm``, in the admission's offset."""
        h, m = (int(x) for x in hhmm.split(":"))
        base = self.admitted.replace(hour=h, minute=m, second=0, microsecond=0)
        return (base + timedelta(days=day)).isoformat()

    def _add(self, rtype: str, kind: str, body: dict[str, Any]) -> str:
        n = self.counters.get(kind, 0) + 1
        self.counters[kind] = n
        rid = f"{self.pid}-{kind}-{n}"
        self.resources.append({"resourceType": rtype, "id": rid, **body})
        return f"{rtype}/{rid}"

    # --- clinical content ------------------------------------------------------------------
    def condition(self, icd: str, display: str, snomed: str | None = None, onset_day: float | None = None,
                  status: str = "active") -> str:
        codes = [coding(ICD10CM, icd, display)]
        if snomed:
            codes.append(coding(SNOMED, snomed, display))
        body: dict[str, Any] = {
            "clinicalStatus": concept(status, coding("http://terminology.hl7.org/CodeSystem/condition-clinical", status, status.title())),
            "verificationStatus": concept("Confirmed", coding("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed")),
            "code": concept(display, *codes),
            "subject": self.subject,
        }
        if onset_day is not None:
            body["onsetDateTime"] = self.at(onset_day)
        return self._add("Condition", "cond", body)

    def med(self, rxcui: str, ingredient: str, text: str, dose: str, route: str = "oral", day: float = 0,
            status: str = "active", intent: str = "order", statement: bool = False) -> str:
        med = concept(text, coding(RXNORM, rxcui, ingredient))
        dosage = [{"text": dose, "route": {"text": route}}]
        if statement:
            return self._add("MedicationStatement", "medstmt", {
                "status": status, "medicationCodeableConcept": med, "subject": self.subject,
                "effectiveDateTime": self.at(day), "dosage": dosage,
            })
        return self._add("MedicationRequest", "medreq", {
            "status": status, "intent": intent, "medicationCodeableConcept": med, "subject": self.subject,
            "encounter": self.encounter, "authoredOn": self.at(day), "dosageInstruction": dosage,
        })

    def allergy(self, system: str, code: str, substance: str, reaction: str, criticality: str = "high",
                reaction_snomed: str | None = None) -> str:
        manifestation = concept(reaction, *([coding(SNOMED, reaction_snomed, reaction)] if reaction_snomed else []))
        return self._add("AllergyIntolerance", "allergy", {
            "clinicalStatus": concept("Active", coding("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active")),
            "verificationStatus": concept("Confirmed", coding("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "confirmed", "Confirmed")),
            "type": "allergy", "category": ["medication"], "criticality": criticality,
            "code": concept(substance, coding(system, code, substance)),
            "patient": self.subject,
            "reaction": [{"manifestation": [manifestation]}],
        })

    def result(self, key: str, value: float, day: float, hhmm: str = "06:00") -> str:
        loinc, display, unit = LAB[key]
        category = "vital-signs" if key in VITAL_KEYS else "laboratory"
        return self._add("Observation", "obs", {
            "status": "final",
            "category": [concept(category, coding(OBS_CATEGORY, category, category))],
            "code": concept(display, coding(LOINC, loinc, display)),
            "subject": self.subject, "encounter": self.encounter,
            "effectiveDateTime": self.at(day, hhmm),
            "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        })

    def results(self, day: float, hhmm: str = "06:00", **values: float) -> None:
        for key, value in values.items():
            self.result(key, value, day, hhmm)

    def vitals(self, day: float, hhmm: str, *, hr: int, rr: int, sbp: int, dbp: int, temp: float,
               spo2: int) -> None:
        def vital(loinc: str, display: str, value: float, unit: str) -> None:
            self._add("Observation", "obs", {
                "status": "final", "category": [concept("Vital Signs", coding(OBS_CATEGORY, "vital-signs", "Vital Signs"))],
                "code": concept(display, coding(LOINC, loinc, display)), "subject": self.subject,
                "encounter": self.encounter, "effectiveDateTime": self.at(day, hhmm),
                "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
            })
        vital("8867-4", "Heart rate", hr, "/min")
        vital("9279-1", "Respiratory rate", rr, "/min")
        vital("8310-5", "Body temperature", temp, "Cel")
        vital("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", spo2, "%")
        self._add("Observation", "obs", {
            "status": "final", "category": [concept("Vital Signs", coding(OBS_CATEGORY, "vital-signs", "Vital Signs"))],
            "code": concept("Blood pressure panel", coding(LOINC, "85354-9", "Blood pressure panel with all children optional")),
            "subject": self.subject, "encounter": self.encounter, "effectiveDateTime": self.at(day, hhmm),
            "component": [
                {"code": concept("Systolic blood pressure", coding(LOINC, "8480-6", "Systolic blood pressure")),
                 "valueQuantity": {"value": sbp, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}},
                {"code": concept("Diastolic blood pressure", coding(LOINC, "8462-4", "Diastolic blood pressure")),
                 "valueQuantity": {"value": dbp, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}},
            ],
        })

    def note(self, title: str, text: str, day: float, hhmm: str = "11:00", lang: str | None = None,
             author: str = "Admitting team") -> str:
        language = lang or self.lang
        return self._add("DocumentReference", "note", {
            "status": "current",
            "type": concept(title, coding(LOINC, "34117-2" if "dmission" in title or "入院" in title else "11506-3", title)),
            "subject": self.subject, "date": self.at(day, hhmm), "author": [{"display": author}],
            "description": title, "language": language,
            "content": [{"attachment": {
                "contentType": "text/plain; charset=utf-8", "language": language,
                "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
            }}],
        })

    def imaging(self, modality: str, description: str, body_site: tuple[str, str], locator: str, day: float,
                hhmm: str, conclusion: str, laterality: tuple[str, str] | None = None) -> str:
        series: dict[str, Any] = {
            "uid": f"2.25.{sum(ord(c) for c in self.pid)}{self.counters.get('img', 0) + 1}1",
            "modality": coding("http://dicom.nema.org/resources/ontology/DCM", modality, modality),
            "description": description,
            "bodySite": coding(SNOMED, *body_site),
            "instance": [{
                "uid": f"2.25.{sum(ord(c) for c in self.pid)}{self.counters.get('img', 0) + 1}2",
                "sopClass": coding("urn:ietf:rfc:3986", "urn:oid:1.2.840.10008.5.1.4.1.1.1", "Computed Radiography Image Storage"),
                "extension": [{"url": DICOM_FILE_EXTENSION, "valueString": locator}],
            }],
        }
        if laterality:
            series["laterality"] = coding(SNOMED, *laterality)
        ref = self._add("ImagingStudy", "img", {
            "status": "available", "subject": self.subject, "encounter": self.encounter,
            "started": self.at(day, hhmm), "description": description, "series": [series],
        })
        self._add("DiagnosticReport", "report", {
            "status": "final", "code": concept(f"{description} report", coding(LOINC, "18748-4", "Diagnostic imaging study")),
            "subject": self.subject, "effectiveDateTime": self.at(day, hhmm), "issued": self.at(day, "23:00"),
            "imagingStudy": [{"reference": ref}], "conclusion": conclusion,
            "performer": [{"display": "Radiology"}],
        })
        return ref

    def bundle(self, patient: dict[str, Any]) -> dict[str, Any]:
        """The collection bundle: Patient first, then everything in the order it was added."""
        entries = [{"fullUrl": f"urn:wardround:{r['resourceType']}/{r['id']}", "resource": r}
                   for r in [patient, *self.resources]]
        return {"resourceType": "Bundle", "id": self.pid, "type": "collection",
                "timestamp": self.at(3, "23:59"), "entry": entries}

    def patient(self, identifier: str, name_text: str | None = None) -> dict[str, Any]:
        family, _, given = self.name.partition(", ")
        name: dict[str, Any] = {"use": "official", "family": family, "given": [given]}
        if name_text:
            name["text"] = name_text
        return {
            "resourceType": "Patient", "id": self.pid,
            "meta": {"security": [coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", "HTEST", "test health data")]},
            "identifier": [{"system": "urn:wardround:synthetic-mrn", "value": identifier}],
            "name": [name], "gender": self.sex, "birthDate": self.birth,
            "communication": [{"language": {"text": self.lang}}],
        }


TAIPEI = timezone(timedelta(hours=8))
