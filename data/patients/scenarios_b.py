"""Scenarios 8-14: COPD, hyponatraemia, penicillin allergy, metformin/eGFR, QT, VTE prophylaxis,
delirium."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scenario_kit import RXNORM, SNOMED, TAIPEI, Admission

Built = tuple[Admission, dict[str, Any]]


def copd_exacerbation() -> Built:
    a = Admission("copd-exacerbation", "Davies, Gareth", "male", "1954-04-08", "9A",
                  datetime(2025, 12, 8, tzinfo=UTC), "Increased breathlessness and purulent sputum")
    a.condition("J44.1", "Chronic obstructive pulmonary disease with (acute) exacerbation",
                snomed="195951007", onset_day=0)
    a.condition("I10", "Essential (primary) hypertension", snomed="38341003", onset_day=-4000)
    a.med("8638", "prednisolone", "prednisolone 5 MG Oral Tablet", "40 mg once daily for 5 days", day=0)
    a.med("435", "albuterol", "albuterol 2.5 MG/3ML Inhalation Solution", "2.5 mg nebulised 4-hourly",
          route="inhalation", day=0)
    a.med("7213", "ipratropium", "ipratropium bromide 0.5 MG/2.5ML Inhalation Solution",
          "500 micrograms nebulised 6-hourly", route="inhalation", day=0)
    a.med("3640", "doxycycline", "doxycycline 100 MG Oral Capsule", "200 mg day 1 then 100 mg daily", day=0)
    a.med("69120", "tiotropium", "tiotropium 18 MCG Inhalation Capsule", "18 micrograms inhaled daily",
          route="inhalation", day=-1500)
    a.results(0, "10:00", ph_a=7.29, pco2_a=68, po2_a=58, hco3=31, wbc=13.4, eos=0.05, crp=64, k=4.4, na=139)
    a.results(0, "13:00", ph_a=7.33, pco2_a=61, po2_a=66)
    a.result("o2flow", 2, 0, "10:30")
    a.vitals(0, "09:40", hr=108, rr=28, sbp=142, dbp=84, temp=37.6, spo2=86)
    a.vitals(1, "08:00", hr=94, rr=22, sbp=136, dbp=80, temp=37.1, spo2=90)
    a.note("Admission note", (
        "71M, COPD GOLD 3 (FEV1 42%), ex-smoker 50 pack-years, home tiotropium. 4 days worse dyspnoea, "
        "green sputum. SpO2 86% RA, RR 28. ABG on air: pH 7.29, pCO2 68 mmHg — acute hypercapnic "
        "respiratory failure.\nPlan: controlled O2 target 88-92% (Venturi 28%), nebs, prednisolone 40 mg, "
        "doxycycline; repeat ABG 1 h; NIV if pH < 7.35 persists."
    ), day=0, hhmm="11:00", author="Dr. R. Hughes (respiratory)")
    return a, a.patient("UK-9A-55170")


def hyponatraemia_thiazide_ssri() -> Built:
    a = Admission("hyponatraemia-thiazide-ssri", "Lin, Hsiu-Ying", "female", "1943-09-27", "6A",
                  datetime(2025, 7, 21, tzinfo=TAIPEI), "Confusion and falls; sodium 126", lang="zh-TW")
    a.condition("E87.1", "Hypo-osmolality and hyponatremia", snomed="89627008", onset_day=0)
    a.condition("F32.A", "Depression, unspecified", onset_day=-40)
    a.condition("I10", "Essential (primary) hypertension", snomed="38341003", onset_day=-6000)
    a.med("5487", "hydrochlorothiazide", "hydrochlorothiazide 25 MG Oral Tablet", "25 mg once daily", day=-2000)
    a.med("36437", "sertraline", "sertraline 50 MG Oral Tablet", "50 mg once daily", day=-21)
    a.results(-60, "09:00", na=138, k=3.9)
    a.results(0, "14:00", na=126, k=3.2, osm=258, glu_mg=104, cr_mg=0.7)
    a.result("una", 48, 0, "15:00")
    a.results(1, "06:00", na=121, k=3.3)
    a.results(2, "06:00", na=119, k=3.4, osm=249)
    a.vitals(0, "13:30", hr=76, rr=16, sbp=138, dbp=72, temp=36.5, spo2=97)
    a.note("入院病歷 Admission note", (
        "82歲女性, HTN on HCTZ 25mg 多年; 3週前身心科開始 sertraline 50mg (depression).\n"
        "近一週意識混亂、跌倒兩次. Na 138 (2 months ago) → 126 mmol/L, serum osm 258, urine Na 48.\n"
        "Impression: hyponatraemia — thiazide + SSRI (SIADH), euvolaemic.\n"
        "Plan: 停 HCTZ, hold sertraline, fluid restriction 1 L/day, Na q6h, 每24小時矯正不超過 8 mmol/L."
    ), day=0, hhmm="15:30", author="R3 Dr. Kao")
    return a, a.patient("TW-6A-076233", "林秀英")


def penicillin_allergy_betalactam() -> Built:
    a = Admission("penicillin-allergy-betalactam", "Chan, Siu-Man", "female", "1980-06-12", "7A",
                  datetime(2025, 9, 2, tzinfo=TAIPEI), "Right leg cellulitis", lang="zh-HK")
    a.condition("L03.115", "Cellulitis of right lower limb", snomed="128045006", onset_day=-2)
    a.allergy(RXNORM, "7980", "penicillin G", "Anaphylaxis", criticality="high", reaction_snomed="39579001")
    a.med("723", "amoxicillin", "amoxicillin 500 MG / clavulanate 125 MG Oral Tablet",
          "1 tablet three times daily for 7 days", day=0, status="draft", intent="proposal")
    a.results(0, "10:00", wbc=13.1, neut=10.2, crp=86, cr_umol=64, na=139, k=4.0)
    a.vitals(0, "09:30", hr=96, rr=18, sbp=124, dbp=76, temp=38.3, spo2=98)
    a.note("入院記錄 Admission note", (
        "45歲女, 右小腿紅腫熱痛 2日, fever 38.3. Dx: cellulitis R leg.\n"
        "Drug allergy: 盤尼西林 PENICILLIN — anaphylaxis 2015 (需要 adrenaline, 入 ICU).\n"
        "Proposed: Augmentin 625mg TDS (pending pharmacist check)."
    ), day=0, hhmm="11:00", author="MO Dr. Ho")
    return a, a.patient("HK-7A-44012", "陳少雯")


def metformin_falling_egfr() -> Built:
    a = Admission("metformin-falling-egfr", "Nakamura-Lee, Daniel", "male", "1951-02-25", "5C",
                  datetime(2025, 10, 27, tzinfo=UTC), "Urinary tract infection; declining renal function")
    a.condition("E11.22", "Type 2 diabetes mellitus with diabetic chronic kidney disease",
                snomed="44054006", onset_day=-4000)
    a.condition("N18.4", "Chronic kidney disease, stage 4 (severe)", onset_day=-7)
    a.condition("N39.0", "Urinary tract infection, site not specified", snomed="68566005", onset_day=-1)
    a.med("6809", "metformin", "metformin hydrochloride 1000 MG Oral Tablet", "1000 mg twice daily", day=-3000)
    a.med("4821", "glipizide", "glipizide 5 MG Oral Tablet", "5 mg once daily", day=-1500)
    a.med("29046", "lisinopril", "lisinopril 10 MG Oral Tablet", "10 mg once daily", day=-2000)
    a.med("2193", "ceftriaxone", "ceftriaxone 1000 MG Injection", "1 g IV once daily", route="intravenous", day=0)
    a.results(-180, "09:00", egfr=48, cr_mg=1.5, hba1c=7.6)
    a.results(-90, "09:00", egfr=38, cr_mg=1.8)
    a.results(-7, "09:00", egfr=31, cr_mg=2.1)
    a.results(0, "10:00", egfr=26, cr_mg=2.5, k=5.1, glu_mg=212, hba1c=7.8, lactate=1.9, wbc=12.6)
    a.vitals(0, "09:00", hr=92, rr=18, sbp=134, dbp=78, temp=38.1, spo2=97)
    a.note("Admission note", (
        "74M, T2DM 11 yrs on metformin 1 g BD + glipizide, CKD progressing: eGFR 48 -> 38 -> 31 -> 26 over "
        "6 months. Admitted with UTI (dysuria, fever). Metformin dose unchanged since eGFR 48.\n"
        "Plan: IV ceftriaxone, review metformin given eGFR < 30, review glipizide (hypoglycaemia risk in CKD 4)."
    ), day=0, hhmm="11:00", author="Dr. K. Okafor")
    return a, a.patient("UK-5C-61288")


def qt_prolongation_low_k_mg() -> Built:
    a = Admission("qt-prolongation-low-k-mg", "Kuo, Li-Hua", "female", "1958-11-04", "6C",
                  datetime(2025, 8, 25, tzinfo=TAIPEI), "Pneumonia; nausea; agitation", lang="zh-TW")
    a.condition("J18.9", "Pneumonia, unspecified organism", snomed="233604007", onset_day=-1)
    a.condition("I50.9", "Heart failure, unspecified", snomed="84114007", onset_day=-900)
    a.med("82122", "levofloxacin", "levofloxacin 750 MG Oral Tablet", "750 mg once daily", day=0)
    a.med("26225", "ondansetron", "ondansetron 2 MG/ML Injectable Solution", "4 mg IV every 8 hours",
          route="intravenous", day=0)
    a.med("5093", "haloperidol", "haloperidol 5 MG/ML Injectable Solution", "2 mg IM as needed for agitation",
          route="intramuscular", day=1)
    a.med("4603", "furosemide", "furosemide 40 MG Oral Tablet", "40 mg twice daily", day=-300)
    a.results(0, "10:00", k=3.0, mg_mmol=0.58, ca_mmol=2.18, cr_mg=0.9, wbc=12.9, crp=96)
    a.results(1, "06:00", k=2.7, mg_mmol=0.52)
    a.result("qtc", 468, 0, "11:00")
    a.result("qtc", 512, 1, "09:00")
    a.vitals(0, "09:30", hr=92, rr=20, sbp=128, dbp=74, temp=37.8, spo2=95)
    a.note("病程紀錄 Progress note", (
        "67歲女性 pneumonia on levofloxacin, 嘔吐用 ondansetron, 昨晚躁動給 haloperidol 2mg IM.\n"
        "Furosemide 40mg BID 持續. K 3.0 → 2.7, Mg 0.52 mmol/L.\n"
        "ECG: QTc 468 → 512 ms. 多重 QT-prolonging drugs + hypoK/hypoMg → TdP risk.\n"
        "Plan: 補 K/Mg (IV MgSO4 2 g), 考慮換抗生素, 停 ondansetron/haloperidol, telemetry."
    ), day=1, hhmm="10:00", author="R2 Dr. Chou")
    return a, a.patient("TW-6C-099321", "郭麗華")


def postop_vte_prophylaxis() -> Built:
    a = Admission("postop-vte-prophylaxis", "Morgan, Eileen", "female", "1955-03-17", "3B",
                  datetime(2025, 11, 17, tzinfo=UTC), "Elective right total hip replacement")
    a.condition("M16.11", "Unilateral primary osteoarthritis, right hip", snomed="239872002", onset_day=-2000)
    a.condition("Z96.641", "Presence of right artificial hip joint", onset_day=0)
    a.condition("N18.4", "Chronic kidney disease, stage 4 (severe)", onset_day=-1000)
    a.med("161", "acetaminophen", "acetaminophen 500 MG Oral Tablet", "1 g four times daily", day=0)
    a.med("7804", "oxycodone", "oxycodone hydrochloride 5 MG Oral Capsule", "5 mg every 4 hours as needed",
          day=0)
    a.med("67108", "enoxaparin", "enoxaparin sodium 40 MG/0.4ML Prefilled Syringe", "40 mg SC once daily",
          route="subcutaneous", day=0, status="draft", intent="proposal")
    a.result("weight", 52, -14, "09:00")
    a.results(-14, "09:00", cr_mg=1.8, egfr=29, hb=11.9, plt=236)
    a.results(1, "06:00", cr_mg=1.9, egfr=27, hb=10.1, plt=182, k=4.7)
    a.vitals(1, "08:00", hr=84, rr=16, sbp=122, dbp=70, temp=37.2, spo2=96)
    a.note("Post-operative note", (
        "70F, day 1 after right THR (uncemented), EBL 450 mL. Weight 52 kg, CKD 4 (eGFR 27). "
        "Mobilising with physio tomorrow.\nVTE prophylaxis: proposed enoxaparin 40 mg SC daily for "
        "28 days — please confirm dose given eGFR < 30 and low body weight."
    ), day=1, hhmm="09:30", author="Orthopaedic SHO")
    return a, a.patient("UK-3B-18822")


def delirium_anticholinergic() -> Built:
    a = Admission("delirium-anticholinergic", "Ho, Chi-Keung", "male", "1939-05-09", "10A",
                  datetime(2025, 12, 15, tzinfo=TAIPEI), "Acute confusion after fall", lang="zh-HK")
    a.condition("F05", "Delirium due to known physiological condition", snomed="2776000", onset_day=0)
    a.condition("F03.90", "Unspecified dementia, unspecified severity, without behavioral disturbance, "
                "psychotic disturbance, mood disturbance, and anxiety", onset_day=-1200)
    a.condition("N40.1", "Benign prostatic hyperplasia with lower urinary tract symptoms", onset_day=-2500)
    a.med("32675", "oxybutynin", "oxybutynin chloride 5 MG Oral Tablet", "5 mg twice daily", day=-400)
    a.med("704", "amitriptyline", "amitriptyline hydrochloride 25 MG Oral Tablet", "25 mg at night", day=-600)
    a.med("3498", "diphenhydramine", "diphenhydramine hydrochloride 25 MG Oral Capsule",
          "25 mg at night as needed for sleep", day=-30, statement=True)
    a.med("2400", "chlorpheniramine", "chlorpheniramine maleate 4 MG Oral Tablet", "4 mg three times daily", day=-5)
    a.results(0, "16:00", na=133, k=4.1, glu_mg=118, crp=14, wbc=8.9, cr_mg=1.1, hb=13.0)
    a.vitals(0, "15:30", hr=88, rr=18, sbp=146, dbp=82, temp=36.9, spo2=96)
    a.result("gcs", 13, 0, "15:30")
    a.imaging("CT", "CT head without contrast", ("69536005", "Head structure"),
              "pydicom:data/test_files/CT_small.dcm", day=0, hhmm="17:00",
              conclusion="No acute intracranial haemorrhage. Generalised involutional change.")
    a.note("入院記錄 Admission note", (
        "86歲男, dementia, BPH. 今早於家中跌倒, 之後神志不清、日夜顛倒, 家人話近一週開始食 '感冒藥' (chlorpheniramine).\n"
        "Home meds: oxybutynin 5mg BD, amitriptyline 25mg nocte, diphenhydramine 睡前 PRN.\n"
        "Anticholinergic burden 高 (ACB score ≥ 9). CT brain: no ICH.\n"
        "Plan: 停 chlorpheniramine / diphenhydramine, review oxybutynin & amitriptyline, delirium bundle, "
        "檢查有無尿滯留 (bladder scan)."
    ), day=0, hhmm="18:00", author="MO Dr. Yip (geriatrics)")
    return a, a.patient("HK-10A-31877", "何志強")


SCENARIOS_B = [copd_exacerbation, hyponatraemia_thiazide_ssri, penicillin_allergy_betalactam,
               metformin_falling_egfr, qt_prolongation_low_k_mg, postop_vte_prophylaxis, delirium_anticholinergic]
__all__ = ["SCENARIOS_B", "SNOMED", "UTC"]
