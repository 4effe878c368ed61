"""The shape of each curated record in ``data/kg``; every fact must name its ``source``."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kg.models import ContraLevel, Level, Severity

_NONEMPTY = Field(min_length=3)
ICD_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
LOINC = re.compile(r"^[0-9]{1,7}-[0-9]$")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bounds(_Record):
    analyte: str
    lt: float | None = None
    le: float | None = None
    gt: float | None = None
    ge: float | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> Bounds:
        if all(b is None for b in (self.lt, self.le, self.gt, self.ge)):
            raise ValueError("a lab criterion needs at least one of lt, le, gt, ge")
        return self


class DrugRecord(_Record):
    name: str = Field(min_length=2)
    rxcui: str | None = Field(default=None, pattern=r"^[0-9]+$")
    atc: list[str]
    classes: list[str]
    synonyms: list[str] = []
    brands: list[str] = []
    acb: int = Field(0, ge=0, le=3)
    source: str = _NONEMPTY

    @field_validator("atc")
    @classmethod
    def _atc_codes(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if not re.fullmatch(r"[A-V][0-9]{2}[A-Z]{2}[0-9]{2}", code):
                raise ValueError(f"not an ATC level-5 code: {code!r}")
        return codes


class ClassRecord(_Record):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str
    kind: Literal["pharmacologic", "allergy", "risk"]
    terms: list[str] = []
    source: str = _NONEMPTY


class CrossReactRecord(_Record):
    from_class: str = Field(alias="from")
    to_class: str = Field(alias="to")
    level: Level
    risk: str = _NONEMPTY
    management: str = _NONEMPTY
    source: str = _NONEMPTY


class InteractionRecord(_Record):
    a: str
    b: str
    severity: Severity
    mechanism: str = _NONEMPTY
    effect: str = _NONEMPTY
    management: str = _NONEMPTY
    source: str = _NONEMPTY
    requires_any: list[str] = []


class ManifestRecord(_Record):
    """When an interaction's effect shows in a result (``interaction_manifests.yaml``)."""

    a: str
    b: str
    lab: Bounds
    unit: str = Field(min_length=1)
    meaning: str = _NONEMPTY
    source: str = _NONEMPTY


class ContraRecord(_Record):
    drug: str | None = None
    drug_class: str | None = Field(default=None, alias="class")
    level: ContraLevel
    condition: str | None = None
    lab: Bounds | None = None
    pregnancy: bool = False
    reason: str = _NONEMPTY
    management: str = ""
    source: str = _NONEMPTY

    @model_validator(mode="after")
    def _one_subject_one_target(self) -> ContraRecord:
        if (self.drug is None) == (self.drug_class is None):
            raise ValueError("give exactly one of drug, class")
        targets = [self.condition is not None, self.lab is not None, self.pregnancy]
        if sum(targets) != 1:
            raise ValueError("give exactly one of condition, lab, pregnancy: true")
        if self.condition is not None and not ICD_CODE.match(self.condition):
            raise ValueError(f"not an ICD-10-CM code or prefix: {self.condition!r}")
        return self


class MonitoringRecord(_Record):
    drug: str | None = None
    drug_class: str | None = Field(default=None, alias="class")
    loinc: str = Field(pattern=LOINC.pattern)
    test: str
    frequency: str = _NONEMPTY
    rationale: str = _NONEMPTY
    source: str = _NONEMPTY
    when: list[str] = Field(
        default=[],
        description="ICD-10-CM codes or prefixes: the requirement holds only for a patient with "
        "one of them (steroid glucose checks in diabetes; potassium during a DKA insulin "
        "infusion); empty: always",
    )

    @model_validator(mode="after")
    def _one_subject(self) -> MonitoringRecord:
        if (self.drug is None) == (self.drug_class is None):
            raise ValueError("give exactly one of drug, class")
        bad = [code for code in self.when if not ICD_CODE.match(code)]
        if bad:
            raise ValueError(f"not ICD-10-CM codes or prefixes: {bad}")
        return self


class LabTestRecord(_Record):
    loinc: str = Field(pattern=LOINC.pattern)
    name: str
    analyte: str | None = None
    unit: str
    factor: float = Field(1.0, gt=0, description="value in this unit x factor = analyte unit")
    low: float | None = None
    high: float | None = None
    source: str = _NONEMPTY


class GuidelineRecord(_Record):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    org: str
    title: str
    year: int = Field(ge=1990, le=2030)
    version: str
    url: str
    source: str = _NONEMPTY


class RecommendationRecord(_Record):
    id: str = Field(pattern=r"^[a-z0-9.-]+$")
    guideline: str
    text: str = Field(min_length=10)
    strength: str
    evidence: str
    conditions: list[str] = []
    labs: list[Bounds] = []
    source: str = _NONEMPTY

    @model_validator(mode="after")
    def _has_criteria(self) -> RecommendationRecord:
        if not self.conditions and not self.labs:
            raise ValueError("a recommendation needs conditions or labs it applies to")
        for code in self.conditions:
            if not ICD_CODE.match(code):
                raise ValueError(f"not an ICD-10-CM code or prefix: {code!r}")
        return self
