"""The card metrics on crafted cards whose answers are known by construction."""

from __future__ import annotations

from core.domain import Finding, Severity
from evals.card_metrics import card_metrics, duplicates_left
from evals.cases import Case, ExpectedFinding

CASE = Case(
    id="crafted",
    patient="p",
    question="Is it safe to continue ibuprofen?",
    expected_findings=(
        ExpectedFinding(kind="aki_stage", labs=("2160-0",), severity=Severity.high),
        ExpectedFinding(kind="contraindication", drugs=("ibuprofen",), severity=Severity.high),
        ExpectedFinding(kind="lab_flag", labs=("2823-3",)),
    ),
    not_in_act_now=("kdigo-ckd-2024-statin",),
)


def finding(fid: str, kind: str, severity: Severity, **more: tuple[str, ...]) -> Finding:
    return Finding(id=fid, kind=kind, severity=severity, summary=fid, **more)  # type: ignore[arg-type]


AKI = finding("aki_stage", "aki_stage", Severity.high, labs=("2160-0",))
NSAID = finding("cx:nsaid", "contraindication", Severity.critical, drugs=("ibuprofen",))
STATIN = finding("recommendation:kg:Recommendation/kdigo-ckd-2024-statin", "recommendation",
                 Severity.info)  # fmt: skip
K_FLAG = finding("k", "lab_flag", Severity.low, labs=("2823-3",))
CREAT = finding("creat", "lab_flag", Severity.low, labs=("14682-9",))  # creatinine, in umol/L


def test_act_now_precision_recall_and_the_must_not_list() -> None:
    cards = [("act_now", [NSAID]), ("act_now", [STATIN]), ("review", [AKI, K_FLAG])]
    m = card_metrics(CASE, "x" * 120, cards, findings_total=4, lab_of_ref={})
    assert (m.cards_act_now, m.cards_total, m.findings_merged) == (2, 3, 1)
    assert m.act_now_precision == 0.5  # the statin card matches nothing expected
    assert (m.safety_expected, m.safety_in_act_now) == (2, 1)  # the AKI waits in Review
    assert m.act_now_safety_recall == 0.5
    assert m.not_in_act_now_hits == ["kdigo-ckd-2024-statin"]
    assert m.answer_chars == 120


def test_a_drug_or_an_analyte_in_two_cards_is_a_duplicate() -> None:
    assert duplicates_left([[NSAID, AKI], [K_FLAG]]) == 0
    again = finding("ix", "interaction", Severity.high, drugs=("Ibuprofen", "lisinopril"))
    assert duplicates_left([[NSAID], [again]]) == 1
    # creatinine in mg/dL and in umol/L is one analyte
    creat_mg = finding("creat2", "lab_trend", Severity.moderate, labs=("2160-0",))
    assert duplicates_left([[CREAT], [creat_mg]]) == 1
    assert duplicates_left([[CREAT, creat_mg]]) == 0
