"""Each metric on a crafted run whose answers are known by construction."""

from __future__ import annotations

from typing import Any

import pytest

from core.domain import Citation, Claim, Finding, Severity
from evals.cases import Case, ExpectedFinding
from evals.metrics import (
    case_metrics,
    finding_matches,
    forbidden_hits,
    percentile,
    shared_prefix_fraction,
    suite_metrics,
)
from graphs.result import ModelInfo, SpecialistSummary, WardRoundResult

RECORD_REFS = frozenset({"Observation/o1", "Observation/o2", "Patient/p"})

CASE = Case(
    id="crafted",
    patient="p",
    question="Why is the creatinine rising?",
    route=("history", "labs", "guideline"),
    expected_findings=(
        ExpectedFinding(kind="aki_stage", labs=("2160-0",), severity=Severity.high),
        ExpectedFinding(
            kind="interaction", drugs=("ibuprofen", "lisinopril"), severity=Severity.high
        ),
        ExpectedFinding(kind="lab_trend", labs=("2160-0",)),
    ),
    required_citations=("Observation/o1", "Observation/o9"),
    forbidden_claims=("safe to continue ibuprofen",),
)


def fhir(ref: str) -> Citation:
    return Citation.fhir(ref)


def finding(fid: str, kind: str, severity: str, **kw: Any) -> Finding:
    return Finding(
        id=fid, kind=kind, severity=Severity(severity), summary=kw.pop("summary", fid), **kw
    )


def result(**overrides: Any) -> WardRoundResult:
    base: dict[str, Any] = {
        "run_id": "r",
        "thread_id": "t",
        "patient_id": "p",
        "question": CASE.question,
        "answer": "It is SAFE to continue ibuprofen for now.",
        "language": "en",
        "degraded": False,
        "findings": [
            finding(
                "aki", "aki_stage", "high", labs=("2160-0",),
                citations=(fhir("Observation/o1"), Citation(kind="calc", ref="calc:aki_stage")),
            ),
            finding(
                "tr-cr", "lab_trend", "moderate", labs=("2160-0",),
                citations=(fhir("Observation/o1"), fhir("Observation/o2")),
            ),
            finding(
                "tr-k", "lab_trend", "moderate", labs=("2823-3",),
                citations=(fhir("Observation/o3"),),
            ),
            finding("flag-k", "lab_flag", "low", labs=("2823-3",)),
            finding(
                "m-ix", "interaction", "moderate", origin="model",
                summary="Ibuprofen with lisinopril may harm the kidney",
            ),
            finding("m-aki", "aki_stage", "critical", labs=("2160-0",), origin="model"),
        ],
        "claims": [
            Claim(text="Creatinine rose.", citations=(fhir("Observation/o1"),)),
            Claim(text="An interaction.", citations=(Citation(kind="kg", ref="kg:Drug/1"),)),
            Claim(text="Urine output was low.", supported=False),
        ],
        "specialists": [
            SpecialistSummary(name=n, summary="", findings=0, duration_ms=1.0)
            for n in ("history", "labs", "guideline")
        ],
        "route_origin": "model",
        "unsupported_citations": 1,
        "timings": {"route": 10.0, "labs": 20.0, "total": 100.0},
        "tokens": {"prompt_tokens": 400, "completion_tokens": 100, "total_tokens": 500, "calls": 4},
        "model": ModelInfo(base_url=None, name="m"),
        "turns": 1,
    }  # fmt: skip
    base.update(overrides)
    return WardRoundResult(**base)


@pytest.fixture
def crafted():
    return case_metrics(CASE, result(), record_refs=RECORD_REFS)


def test_finding_recall_and_precision_by_origin(crafted) -> None:
    assert crafted.expected == 3
    assert crafted.rule_recall == pytest.approx(2 / 3, abs=1e-4)  # aki + creatinine trend
    assert crafted.rule_precision == pytest.approx(2 / 3, abs=1e-4)  # the K trend is spurious
    assert (crafted.rule_judged, crafted.rule_true) == (3, 2)  # the lab_flag kind is not judged
    assert crafted.model_recall == pytest.approx(1 / 3, abs=1e-4)
    assert crafted.model_precision == 0.5  # the interaction is below the severity floor


def test_safety_critical_misses(crafted) -> None:
    # the interaction: only a moderate model finding, below the expected 'high'
    assert crafted.safety_critical_misses == ["interaction ibuprofen lisinopril >=high"]


def test_citation_validity(crafted) -> None:
    # checked: o1, calc, o1, o2, o3, o1 (claim); valid 5; one removed by the verifier; kg unchecked
    assert (crafted.citations_checked, crafted.citations_valid) == (6, 5)
    assert crafted.citations_removed == 1
    assert crafted.citations_unchecked == 1
    assert crafted.citation_validity == pytest.approx(5 / 7, abs=1e-4)
    assert crafted.required_citations_missing == ["Observation/o9"]


def test_claims_forbidden_route_language(crafted) -> None:
    assert crafted.unsupported_claim_rate == pytest.approx(1 / 3, abs=1e-4)
    assert crafted.forbidden_claim_hits == ["safe to continue ibuprofen"]
    assert crafted.route_correct is True
    assert crafted.language_correct is True
    assert crafted.tokens == 500
    assert crafted.model_calls == 4
    assert crafted.degraded is False


def test_shared_prefix_fraction() -> None:
    requests = [
        {"messages": [{"content": "ABCD"}, {"content": "xy"}]},
        {"messages": [{"content": "ABCD"}, {"content": "zz"}]},
    ]
    # second request repeats "ABCD" + separator: 5 of 14 characters
    assert shared_prefix_fraction(requests) == pytest.approx(5 / 14, abs=1e-4)
    assert shared_prefix_fraction([]) is None


def test_percentile_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([10.0, 30.0], 95) == 30.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0


def test_suite_aggregates(crafted) -> None:
    plain = Case(id="plain", patient="p", question="q", route=("labs", "guideline"))
    other = case_metrics(
        plain,
        result(
            degraded=True,
            claims=[],
            unsupported_citations=0,
            timings={"route": 30.0, "total": 300.0},
            tokens={"total_tokens": 1500, "calls": 2},
        ),
        record_refs=RECORD_REFS,
        requests=[{"messages": [{"content": "abc"}]}, {"messages": [{"content": "abc"}]}],
    )
    assert other.route_correct is False
    suite = suite_metrics([crafted, other])
    assert suite.cases == 2
    assert suite.expected_findings == 3
    assert suite.rule_recall == pytest.approx(2 / 3, abs=1e-4)
    assert suite.routing_accuracy == 0.5
    assert suite.degraded == 1
    assert suite.tokens_per_case == 1000.0
    assert suite.tokens_total == 2000
    assert suite.latency_ms["route"] == {"p50": 10.0, "p95": 30.0}
    assert suite.latency_ms["labs"] == {"p50": 20.0, "p95": 20.0}
    assert suite.safety_critical_misses == 1
    assert suite.forbidden_claim_hits == 1 + 0
    assert suite.required_citation_recall == 0.5
    assert suite.unsupported_claim_rate == pytest.approx(1 / 3, abs=1e-4)
    assert suite.shared_prefix_fraction == 0.5  # only the second case has requests


def test_pairwise_findings_jointly_meet_a_multi_drug_expectation() -> None:
    from evals.metrics import expected_met

    qt = ExpectedFinding(kind="interaction", drugs=("levofloxacin", "ondansetron", "haloperidol"))
    qt = qt.model_copy(update={"severity": Severity.high})
    pairs = [
        finding("a", "interaction", "high", drugs=("levofloxacin", "haloperidol")),
        finding("b", "interaction", "high", drugs=("haloperidol", "ondansetron")),
    ]
    assert expected_met(qt, pairs)
    weaker = [pairs[0], pairs[1].model_copy(update={"severity": Severity.moderate})]
    assert not expected_met(qt, weaker)  # ondansetron is only named below the floor


def test_a_finding_involves_the_labs_it_cites() -> None:
    from evals.metrics import expected_met

    want = ExpectedFinding(kind="contraindication", drugs=("metformin",), labs=("98979-8",))
    found = finding(
        "cx", "contraindication", "critical", drugs=("metformin",),
        citations=(fhir("Observation/egfr"),),
    )  # fmt: skip
    assert not expected_met(want, [found])
    assert expected_met(want, [found], {"Observation/egfr": "98979-8"})


def test_another_code_of_the_same_analyte_is_the_same_lab() -> None:
    from evals.metrics import expected_met

    # creatinine: 2160-0 (mg/dL) and its umol/L twin 14682-9 (an alias in the shipped ranges)
    want = ExpectedFinding(kind="monitoring", drugs=("furosemide",), labs=("2160-0",))
    found = finding(
        "mon", "monitoring", "info", drugs=("furosemide",), citations=(fhir("Observation/cr"),)
    )
    assert expected_met(want, [found], {"Observation/cr": "14682-9"})
    assert not expected_met(want, [found], {"Observation/cr": "2823-3"})  # potassium is not


@pytest.mark.parametrize(
    ("answer", "hit"),
    [
        ("It is SAFE to continue ibuprofen for now.", True),
        ("No, it's not safe to continue ibuprofen.", False),
        ("It is not safe to continue ibuprofen; safe to continue ibuprofen later?", True),
        ("Ibuprofen isn't safe to continue ibuprofen-wise.", False),
        ("It would never be safe to continue ibuprofen here.", False),
        ("Unsafe to continue ibuprofen.", False),  # 'unsafe' is not 'safe'
    ],
)
def test_forbidden_claims_skip_negations_and_word_fragments(answer: str, hit: bool) -> None:
    assert forbidden_hits(["safe to continue ibuprofen"], answer) == (
        ["safe to continue ibuprofen"] if hit else []
    )


def test_forbidden_claims_in_chinese_and_inside_words() -> None:
    assert forbidden_hits(["可以安全給予"], "我們可以安全給予。") == ["可以安全給予"]
    assert forbidden_hits(["可以安全給予"], "目前不可以安全給予。") == []
    assert forbidden_hits(["continue apixaban"], "Discontinue apixaban now.") == []
    assert forbidden_hits(["continue apixaban"], "Continue apixaban.") == ["continue apixaban"]


def test_a_case_kind_matches_the_finding_kinds_it_is_raised_as() -> None:
    expected = ExpectedFinding(
        kind="dose_adjustment", drugs=("enoxaparin",), labs=("98979-8",), severity=Severity.high
    )
    egfr = {"Observation/egfr": "98979-8"}
    raised = finding(
        "dose_adjustment:kg:CAUTION_IN/enoxaparin|egfr<30", "contraindication", "high",
        drugs=("enoxaparin",), citations=(fhir("Observation/egfr"),),
    )  # fmt: skip
    assert finding_matches(expected, raised, egfr)
    flag = finding("flag", "lab_flag", "high", drugs=("enoxaparin",), labs=("98979-8",))
    assert not finding_matches(expected, flag, egfr)
    adverse = ExpectedFinding(kind="adverse_effect", drugs=("sertraline",), severity=Severity.high)
    pair = finding("ix", "interaction", "high", drugs=("sertraline", "hydrochlorothiazide"))
    assert finding_matches(adverse, pair)
    assert not finding_matches(adverse, pair.model_copy(update={"severity": Severity.moderate}))
