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
from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from agents.scores import INFECTION_ICD, problems_coded
from core.domain import Citation, Finding, Frozen, Observation, PatientRecord
from core.errors import InvalidInput
from tools.calculators.liver import MeldNaInput, meld_na
from tools.calculators.thrombosis import Cha2ds2VascInput, cha2ds2_vasc
from tools.calculators.vte import PaduaInput, padua
from tools.labs.trajectory import Trajectory, ward_trajectories
from tools.prognosis import (
    KfreInput,
    Prognosis,
    cha2ds2_vasc_stroke_rate,
    curb65_mortality,
    has_bled_bleeding_rate,
    kfre,
    meld_mortality,
    padua_vte_risk,
)
from tools.prognosis.kidney import TANGRI_2011, TANGRI_2016
from tools.prognosis.tables import BARBAR_2010, BARBAR_COHORT, WIESNER_2003, WIESNER_COHORT

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
_CALC_CATEGORY = re.compile(r"^\S+ = -?[\d.]+ \S+ (.+)$")
SMITH_2013 = (
    "Smith GB, Prytherch DR, Meredith P, Schmidt PE, Featherstone PI. The ability of the National "
    "Early Warning Score (NEWS) to discriminate patients at risk of early cardiac arrest, "
    "unanticipated intensive care unit admission, and death. Resuscitation 2013;84:465-470; RCP "
    "NEWS2 2017, Chart 4 (clinical response)"
)
SMITH_COHORT = "198 755 observation sets of 35 585 acute medical admissions (Portsmouth, UK)"
# RCP NEWS2 2017, Chart 4: the clinical response to each NEWS2 band.
NEWS2_RESPONSE = {
    "low-medium": "a score of 3 in one parameter: urgent ward-based response, observations at "
    "least hourly",
    "medium": "urgent response by a clinician competent in acute illness, observations at least "
    "hourly",
    "high": "emergency response by a critical-care team, continuous monitoring",
}
# Chronic liver disease, the MELD cohort's population (ICD-10-CM): alcoholic liver disease K70,
# toxic K71, failure K72, chronic hepatitis K73, fibrosis/cirrhosis K74, portal hypertension
# K76.6, hepatorenal syndrome K76.7, oesophageal varices I85, chronic viral hepatitis B18.
LIVER = ("K70", "K71", "K72", "K73", "K74", "K76.6", "K76.7", "I85", "B18")
# LOINC: bilirubin 1975-2, INR 6301-6, sodium 2951-2, creatinine 2160-0 (mg/dL) / 14682-9.
MELD_LABS = {"bilirubin": ("1975-2",), "inr": ("6301-6",), "sodium": ("2951-2",),
             "creatinine": ("2160-0", "14682-9")}  # fmt: skip
# Padua (Barbar 2010, Table 1) items codable in a record (ICD-10-CM): active cancer C00-C97,
# previous VTE I26/I80/I82/Z86.71, thrombophilia D68.5/D68.6, heart or respiratory failure
# I50/J96, acute MI or ischaemic stroke I21/I22/I63, acute infection (as in agents.scores) or
# rheumatological disorder M05/M06/M32/M35.3, obesity E66.
PADUA_CODES = {
    "active_cancer": tuple(f"C{n:02d}" for n in range(98)),
    "previous_vte": ("I26", "I80", "I82", "Z86.71"),
    "thrombophilia": ("D68.5", "D68.6"),
    "heart_or_respiratory_failure": ("I50", "J96"),
    "acute_mi_or_ischaemic_stroke": ("I21", "I22", "I63"),
    "acute_infection_or_rheumatological": (*INFECTION_ICD, "M05", "M06", "M32", "M35.3"),
    "obesity": ("E66",),
}
# A surgical patient (joint replacement Z96.6, orthopaedic aftercare Z47, surgical aftercare
# Z48): Padua was derived in medical inpatients; Caprini is the surgical score.
SURGICAL = ("Z96.6", "Z47", "Z48")
HORMONES = ("estradiol", "oestradiol", "ethinylestradiol", "estrogen", "oestrogen", "tamoxifen",
            "raloxifene")  # fmt: skip
# Thromboprophylaxis (heparins, fondaparinux); an oral anticoagulant is said apart: Barbar 2010's
# rates are for patients on neither.
PROPHYLAXIS = ("heparin", "enoxaparin", "dalteparin", "tinzaparin", "fondaparinux")
ORAL_ANTICOAGULANTS = ("warfarin", "apixaban", "rivaroxaban", "dabigatran", "edoxaban")
INPATIENT = ("in-progress", "arrived", "triaged", "onleave")


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
    """The record's latest dated result (else its latest encounter's start): the Outlook is as of
    the record, not the wall clock."""
    times = [o.effective for o in record.observations if o.effective is not None]
    times = times or [e.start for e in record.encounters if e.start is not None]
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


def _latest_lab(record: PatientRecord, codes: tuple[str, ...]) -> Observation | None:
    found = [o for o in record.observations if o.loinc in codes and o.value is not None]
    return max(found, key=lambda o: o.effective or datetime.min.replace(tzinfo=UTC), default=None)


def _liver(record: PatientRecord) -> OutlookItem | None:
    """MELD-Na 90-day mortality band (Wiesner 2003) where chronic liver disease is coded."""
    liver = problems_coded(record, LIVER)
    if not liver:
        return None
    cites = [Citation.fhir(p.ref) for p in liver]
    labs = {name: _latest_lab(record, codes) for name, codes in MELD_LABS.items()}
    missing = tuple(name for name, obs in labs.items() if obs is None)
    source, age = WIESNER_2003, _age(record)
    if missing:
        return OutlookItem(
            id="meld_3_month_mortality", kind="prognosis", applied=False, missing=missing,
            statement="MELD-Na 3-month mortality not computed: no " + ", ".join(missing)
            + " in the record", cohort=WIESNER_COHORT, source=source, citations=tuple(cites),
        )  # fmt: skip
    if age is not None and age < 18:
        reason = f"age {age}: the MELD bands are from adults on the transplant waiting list"
        return OutlookItem(
            id="meld_3_month_mortality", kind="prognosis", applied=False,
            statement=f"MELD-Na 3-month mortality not applied: {reason}",
            cohort=WIESNER_COHORT, source=source, citations=tuple(cites),
        )  # fmt: skip
    got = {name: obs for name, obs in labs.items() if obs is not None}
    creatinine = got["creatinine"]
    dialysis = bool(problems_coded(record, DIALYSIS))
    try:
        score = meld_na(
            MeldNaInput(
                creatinine=creatinine.value, bilirubin=got["bilirubin"].value,
                creatinine_unit="umol/L" if creatinine.loinc == "14682-9" else "mg/dL",
                bilirubin_unit="umol/L" if "mol" in got["bilirubin"].unit else "mg/dL",
                inr=got["inr"].value, sodium=got["sodium"].value, dialysis=dialysis,
            )
        )  # fmt: skip
    except InvalidInput:
        return None
    result = meld_mortality(score.value, score_name="MELD-Na", on_dialysis=dialysis)
    return _from_prognosis(
        result, [*cites, *(Citation.fhir(o.ref) for o in got.values()), score.citation()]
    )


def _inpatient(record: PatientRecord) -> bool:
    return any(e.status in INPATIENT for e in record.encounters)


def _vte(record: PatientRecord) -> OutlookItem | None:
    """Padua 90-day VTE risk (Barbar 2010) for an adult medical inpatient."""
    if not _inpatient(record):
        return None
    age = _age(record)
    kw = {"id": "padua_vte_risk", "kind": "prognosis", "cohort": BARBAR_COHORT,
          "source": BARBAR_2010}  # fmt: skip
    if surgical := problems_coded(record, SURGICAL):
        return OutlookItem(
            **kw, applied=False, citations=tuple(Citation.fhir(p.ref) for p in surgical),
            statement=f"Padua VTE risk not applied: a surgical patient ({surgical[0].display}); "
            "Padua was derived in medical inpatients, Caprini is the surgical score",
        )  # fmt: skip
    if age is None or age < 18:
        return None
    present = {name: problems_coded(record, codes) for name, codes in PADUA_CODES.items()}
    meds = record.active_medications(_as_of(record))
    hormones = [m for m in meds if any(h in m.name.lower() for h in HORMONES)]
    prophylaxis = [m for m in meds if any(d in m.name.lower() for d in PROPHYLAXIS)]
    score = padua(
        PaduaInput(
            age=age, hormonal_treatment=bool(hormones),
            **{name: bool(found) for name, found in present.items()},
        )
    )  # fmt: skip
    oral = [m for m in meds if any(d in m.name.lower() for d in ORAL_ANTICOAGULANTS)]
    result = padua_vte_risk(int(score.value), on_prophylaxis=bool(prophylaxis))
    missing = ("reduced mobility", "recent trauma or surgery")
    anticoagulated = (
        f"; an oral anticoagulant is recorded ({oral[0].name}): the rate is for patients on "
        "neither prophylaxis nor anticoagulation"
        if oral
        else ""
    )
    result = result.model_copy(
        update={"missing": missing, "statement": result.statement + anticoagulated + "; not "
                "coded, scored absent: reduced mobility, recent trauma or surgery (a lower bound)"}
    )  # fmt: skip
    cites = [Citation.fhir(p.ref) for found in present.values() for p in found]
    cites += [Citation.fhir(m.ref) for m in (*hormones, *prophylaxis, *oral)]
    return _from_prognosis(result, [*dict.fromkeys(cites), score.citation()])


def _news2(findings: Sequence[Finding]) -> OutlookItem | None:
    """NEWS2's clinical response and how well NEWS discriminates deterioration (no probability:
    Smith 2013 reports discrimination, not a risk per score)."""
    for f in findings:
        if f.id != "news2":
            continue
        label = next((c.label for c in f.citations if c.kind == "calc"), "")
        value, band = _CALC_VALUE.match(label), _CALC_CATEGORY.match(label)
        if not value or not band or band.group(1) not in NEWS2_RESPONSE:
            return None
        return OutlookItem(
            id="news2_deterioration", kind="prognosis", horizon="24 hours",
            statement=f"NEWS2 {float(value.group(1)):g} ({band.group(1)} clinical risk): "
            f"{NEWS2_RESPONSE[band.group(1)]} (RCP 2017); NEWS discriminated death within 24 h "
            "with AUROC 0.894, unanticipated ICU admission 0.857 and cardiac arrest 0.722 "
            "(Smith 2013); no absolute probability is given",
            cohort=SMITH_COHORT, source=SMITH_2013, citations=tuple(_fhir(f)),
        )  # fmt: skip
    return None


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
    prognoses = (
        _kidney(record, findings), _stroke(record), _liver(record), _vte(record), _news2(findings),
    )  # fmt: skip
    items = [
        *(i for i in prognoses if i is not None),
        *_scores(record, findings),
        *(_from_trajectory(t) for t in ward_trajectories(record)),
    ]
    return [i.model_copy(update={"actions": _actions(i, findings)}) for i in items]


# The Outlook's frame in the answer's language (the statements themselves stay as sourced).
OUTLOOK_FRAMES = {
    "en": {
        "heading": "Outlook (published models and labelled extrapolations; not predictions):",
        "action": "action",
        "not_applied": "not applied",
    },
    "zh-TW": {
        "heading": "展望（已發表的預後模型與標示為外推的趨勢；並非預測）：",
        "action": "處置",
        "not_applied": "未套用",
    },
}


def outlook_text(items: Sequence[OutlookItem], language: str = "en") -> str:
    """The Outlook section appended to the answer (not part of any prompt), its frame (heading,
    labels) in the answer's language."""
    if not items:
        return ""
    words = OUTLOOK_FRAMES.get(language, OUTLOOK_FRAMES["en"])
    lines = [words["heading"]]
    for i in items:
        mark = "" if i.applied or language == "en" else f"[{words['not_applied']}] "
        lines.append(f"- {mark}{i.statement}")
        lines.extend(f"  - {words['action']}: {a}" for a in i.actions)
    return "\n".join(lines)
