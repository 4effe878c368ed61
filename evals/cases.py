"""Eval cases and suites, read from ``evals/cases/<suite>.yaml``.

A suite file::

    name: core
    description: ...
    cases:
      - id: aki-on-ckd-why-creatinine
        patient: aki-on-ckd             # a scenario patient (data/patients/<id>.json)
        question: "..."
        language: en | zh-TW            # the language the answer must be in
        route: [history, labs, guideline]   # specialists the question needs (optional)
        expected_findings:              # what the round must raise
          - {kind: aki_stage, labs: ["2160-0"], severity: high}
          - {kind: interaction, drugs: [ibuprofen, lisinopril, furosemide], severity: high}
        required_citations: ["Observation/aki-on-ckd-obs-19"]
        forbidden_claims: ["safe to continue ibuprofen"]
        not_in_act_now: ["kdigo-ckd-2024-statin"]   # finding-id fragments Act now must not hold

Expected findings name drugs by ingredient name (matched case-insensitively against the finding's
drugs and its summary) and labs by LOINC code. ``severity`` is a floor: a finding at least that
severe matches. A finding is safety-critical when marked so or when its severity is high or
critical.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from core.domain import Severity
from core.errors import DataFileError

CASES_DIR = Path(__file__).resolve().parent / "cases"
Specialist = Literal["history", "labs", "imaging", "guideline"]


class ExpectedFinding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    drugs: tuple[str, ...] = ()
    labs: tuple[str, ...] = ()
    severity: Severity | None = None
    safety_critical: bool | None = None
    note: str = ""

    @property
    def is_safety_critical(self) -> bool:
        if self.safety_critical is not None:
            return self.safety_critical
        return self.severity is not None and self.severity.rank >= Severity.high.rank

    def describe(self) -> str:
        parts = [self.kind, *self.drugs, *self.labs]
        if self.severity is not None:
            parts.append(f">={self.severity.value}")
        return " ".join(parts)


class Case(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    patient: str
    question: str
    language: Literal["en", "zh-TW"] = "en"
    route: tuple[Specialist, ...] | None = None
    expected_findings: tuple[ExpectedFinding, ...] = ()
    required_citations: tuple[str, ...] = ()
    forbidden_claims: tuple[str, ...] = ()
    not_in_act_now: tuple[str, ...] = ()
    """Fragments of finding ids no Act-now card may hold (``evals.card_metrics``)."""
    tags: tuple[str, ...] = ()


class Suite(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    cases: tuple[Case, ...] = Field(min_length=1)


def suite_names(cases_dir: Path = CASES_DIR) -> list[str]:
    return sorted(p.stem for p in cases_dir.glob("*.yaml"))


def load_suite(name: str, cases_dir: Path = CASES_DIR) -> Suite:
    path = cases_dir / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(suite_names(cases_dir)) or "none"
        raise DataFileError(f"no suite {name!r} (known: {known})", file=str(path))
    try:
        suite = Suite.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValueError) as err:
        raise DataFileError(f"invalid suite: {err}", file=str(path)) from err
    ids = [c.id for c in suite.cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise DataFileError(f"duplicate case ids: {duplicates}", file=str(path))
    return suite


def find_case(case_id: str, cases_dir: Path = CASES_DIR) -> Case:
    for name in suite_names(cases_dir):
        for case in load_suite(name, cases_dir).cases:
            if case.id == case_id:
                return case
    raise DataFileError(f"no case {case_id!r} in any suite", file=str(cases_dir))
