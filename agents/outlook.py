"""The Outlook: where this patient is heading, from validated models and labelled trends only.

Built after the round from the record and the round's findings, never from the model, and never
put in a prompt. Each item is a published prognosis (with its outcome, horizon, cohort and
source; not applied, with the reason, where the patient is outside the model's population) or a
trajectory of a ward analyte (an extrapolation naming its results). Each item carries the
evidence-based actions the knowledge graph holds for the same facts: the KG-backed findings of
the round that cite a record entry the item cites ("HAS-BLED 3" and "apixaban + naproxen:
prefer paracetamol" share the naproxen order).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import Field

from agents.scores import problems_coded
from core.domain import Citation, Finding, Frozen, PatientRecord
from core.errors import InvalidInput
from tools.calculators.thrombosis import Cha2ds2VascInput, cha2ds2_vasc
from tools.labs.trajectory import Trajectory, ward_trajectories
from tools.prognosis import (
    KfreInput,
    Prognosis,
    cha2ds2_vasc_stroke_rate,
    curb65_mortality,
    has_bled_bleeding_rate,
    kfre,
)
from tools.prognosis.kidney import TANGRI_2011, TANGRI_2016

SEYMOUR_2016 = (
    "Seymour CW et al. Assessment of clinical criteria for sepsis (Sepsis-3). JAMA 2016;315:762-774"
)
# ICD-10 prefixes: atrial fibrillation I48; heart failure I50; hypertension I10-I15; diabetes
# E08-E14; stroke/TIA/thromboembolism I63, I64, G45, I74, Z86.73; vascular disease I21, I22,
# I25.2, I70, I73.9; kidney replacement N18.6, Z99.2, Z49; chronic kidney disease N18 and the
# hypertensive (I12, I13) and diabetic (E10.22, E11.22) CKD codes.
AF = ("I48",)
CHA2DS2_VASC = {
    "heart_failure": ("I50",),
    "hypertension": ("I10", "I11", "I12", "I13", "I15"),
    "diabetes": ("E08", "E09", "E10", "E11", "E13", "E14"),
    "stroke_tia_thromboembolism": ("I63", "I64", "G45", "I74", "Z86.73"),
    "vascular_disease": ("I21", "I22", "I25.2", "I70", "I73.9"),
}
DIALYSIS = ("N18.6", "Z99.2", "Z49")
CKD = ("N18", "I12", "I13", "E11.22", "E10.22")  # CKD, hypertensive/diabetic CKD
# Urine albumin-creatinine ratio: LOINC 9318-7 (mg/g), 14959-1 (mg/mmol).
ACR = {"9318-7": "mg/g", "14959-1": "mg/mmol"}
ANTICOAGULANTS = ("warfarin", "apixaban", "rivaroxaban", "edoxaban", "dabigatran", "heparin")
_CALC_VALUE = re.compile(r"^\S+ = (-?[\d.]+)")


class OutlookItem(Frozen):
    """One line of the Outlook, cited like a finding."""

    id: str
    kind: Literal["prognosis", "trajectory"]
    statement: str
    applied: bool = True
    probability: float | None = None
    horizon: str = ""
    cohort: str = ""
    missing: tuple[str, ...] = Field(default=(), description="inputs not in the record")
    source: str
    citations: tuple[Citation, ...] = ()
    actions: tuple[str, ...] = Field(
        default=(), description="the KG-backed findings on the same facts: the second option"
    )


def _from_prognosis(p: Prognosis, cites: Sequence[Citation]) -> OutlookItem:
    return OutlookItem(
        id=p.model, kind="prognosis", statement=p.statement, applied=p.applied,
        probability=p.probability, horizon=p.horizon, cohort=p.cohort, missing=p.missing,
        source=p.source, citations=(*cites, p.citation()),
    )  # fmt: skip


def _from_trajectory(t: Trajectory) -> OutlookItem:
    sources = "; ".join(dict.fromkeys(c.source for c in t.crossings)) or "least-squares trend"
    return OutlookItem(
        id=f"trajectory:{t.name}",
        kind="trajectory",
        statement=t.statement,
        horizon=f"{t.window_hours:g} h window",
        source=sources,
        citations=tuple(Citation.fhir(ref) for ref in t.refs),
    )


def _score(findings: Sequence[Finding], finding_id: str) -> tuple[float, Finding] | None:
    for f in findings:
        if f.id != finding_id:
            continue
        for c in f.citations:
            m = _CALC_VALUE.match(c.label) if c.kind == "calc" else None
            if m:
                return float(m.group(1)), f
    return None


def _fhir(f: Finding) -> list[Citation]:
    return [c for c in f.citations if c.kind == "fhir"]


def _as_of(record: PatientRecord) -> datetime | None:
    """The record's latest dated result: the Outlook is as of the record, not the wall clock."""
    times = [o.effective for o in record.observations if o.effective is not None]
    return max(times) if times else None


def _age(record: PatientRecord) -> int | None:
    at = _as_of(record)
    return record.patient.age_on(at.date()) if at else None


def _kidney(record: PatientRecord, findings: Sequence[Finding]) -> OutlookItem | None:
    egfr = _score(findings, "egfr_ckd_epi_2021")
    age, sex = _age(record), record.patient.sex
    if not problems_coded(record, CKD) or egfr is None or egfr[0] >= 60:
        return None  # KFRE is for chronic kidney disease G3-G5, not a low eGFR in AKI alone
    if age is None or sex not in ("male", "female"):
        return None
    acr = max(
        (o for o in record.observations if o.loinc in ACR and o.value),
        key=lambda o: o.effective or datetime.min,
        default=None,
    )
    cites = _fhir(egfr[1])
    if acr is None or acr.value is None:
        return OutlookItem(
            id="kfre_4_variable", kind="prognosis", applied=False,
            statement="KFRE (kidney failure at 2 and 5 years) not computed: no urine "
            "albumin-creatinine ratio in the record",
            missing=("urine albumin-creatinine ratio",), source=f"{TANGRI_2011}; {TANGRI_2016}",
            citations=tuple(cites),
        )  # fmt: skip
    params = KfreInput(
        age=age, sex=sex, egfr=egfr[0], acr=acr.value, acr_unit=ACR[acr.loinc],
        on_dialysis=bool(problems_coded(record, DIALYSIS)),
    )  # fmt: skip
    result = kfre(params, 5)
    two = kfre(params, 2)
    if result.applied and two.probability is not None:
        result = result.model_copy(
            update={"statement": f"{two.statement}; {result.statement}", "model": "kfre_4_variable"}
        )
    return _from_prognosis(result, [*cites, Citation.fhir(acr.ref)])


def _stroke(record: PatientRecord) -> OutlookItem | None:
    af = problems_coded(record, AF)
    age = _age(record)
    if not af or age is None or age < 18 or record.patient.sex not in ("male", "female"):
        return None
    present = {name: problems_coded(record, codes) for name, codes in CHA2DS2_VASC.items()}
    try:
        score = cha2ds2_vasc(
            Cha2ds2VascInput(
                age=age, sex=record.patient.sex,
                **{name: bool(found) for name, found in present.items()},
            )
        )  # fmt: skip
    except InvalidInput:
        return None
    rate = cha2ds2_vasc_stroke_rate(int(score.value), atrial_fibrillation=True, age=age)
    cites = [Citation.fhir(p.ref) for p in af] + [
        Citation.fhir(p.ref) for found in present.values() for p in found
    ]
    return _from_prognosis(rate, [*dict.fromkeys(cites), score.citation()])


def _on_anticoagulant(record: PatientRecord) -> bool:
    names = " ".join(m.name.lower() for m in record.active_medications())
    return any(drug in names for drug in ANTICOAGULANTS)


def _scores(record: PatientRecord, findings: Sequence[Finding]) -> list[OutlookItem]:
    items = []
    if bled := _score(findings, "has_bled"):
        rate = has_bled_bleeding_rate(int(bled[0]), anticoagulated=_on_anticoagulant(record))
        items.append(_from_prognosis(rate, _fhir(bled[1])))
    if curb := _score(findings, "curb65"):
        items.append(
            _from_prognosis(curb65_mortality(int(curb[0]), age=_age(record)), _fhir(curb[1]))
        )
    if qsofa := _score(findings, "qsofa"):
        items.append(
            OutlookItem(
                id="qsofa_deterioration", kind="prognosis",
                statement=f"qSOFA {qsofa[0]:g}: in-hospital mortality 3- to 14-fold that of qSOFA "
                "below 2 across baseline risk deciles, in encounters with suspected infection "
                "outside the ICU (Seymour 2016); no absolute probability is given",
                horizon="this admission", cohort="148 907 encounters with suspected infection, "
                "12 hospitals in Pennsylvania, validated in 3 further cohorts",
                source=SEYMOUR_2016, citations=tuple(_fhir(qsofa[1])),
            )
        )  # fmt: skip
    return items


def _actions(item: OutlookItem, findings: Sequence[Finding]) -> tuple[str, ...]:
    """The KG-backed findings citing a record entry this item cites."""
    refs = {c.ref for c in item.citations if c.kind == "fhir"}
    out = []
    for f in findings:
        kg = [c.ref for c in f.citations if c.kind == "kg"]
        if kg and refs & {c.ref for c in f.citations if c.kind == "fhir"}:
            out.append(f"{f.summary} [{kg[0]}]")
    return tuple(dict.fromkeys(out))


def outlook(record: PatientRecord, findings: Sequence[Finding]) -> list[OutlookItem]:
    """Prognoses the record allows, then trajectories, each with the KG's actions on its facts."""
    items = [
        *(i for i in (_kidney(record, findings), _stroke(record)) if i is not None),
        *_scores(record, findings),
        *(_from_trajectory(t) for t in ward_trajectories(record)),
    ]
    return [i.model_copy(update={"actions": _actions(i, findings)}) for i in items]


def outlook_text(items: Sequence[OutlookItem]) -> str:
    """The Outlook section appended to the answer (not part of any prompt)."""
    if not items:
        return ""
    lines = ["Outlook (published models and labelled extrapolations; not predictions):"]
    for i in items:
        lines.append(f"- {i.statement}")
        lines.extend(f"  - action: {a}" for a in i.actions)
    return "\n".join(lines)
