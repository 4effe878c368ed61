"""What the knowledge graph answers with: typed, citable facts.

Every fact carries ``id`` (a stable KG id that agents cite, e.g.
``kg:INTERACTS_WITH/warfarin|clarithromycin`` or ``kg:Drug/11289``) and ``source`` (the label
section, guideline or paper the fact was taken from). The verifier in ``graphs`` checks citations
against :meth:`kg.store.GraphStore.existing_facts`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

Severity = Literal["contraindicated", "major", "moderate", "minor"]
Level = Literal["contraindicated", "caution"]
ContraLevel = Literal["contraindicated", "dose-adjust", "caution"]
"""'dose-adjust': the drug may continue, but its dose must change at this threshold."""


class _Fact(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(description="stable KG id, usable as a citation")
    source: str = Field(description="where the fact comes from (label section, guideline, paper)")


class DrugRef(_Fact):
    """One drug ingredient node; ``matched`` is the caller's text that resolved to it."""

    rxcui: str | None = Field(description="RxNorm ingredient CUI (None where not verified)")
    name: str
    atc: list[str] = Field(default_factory=list)
    classes: list[str] = Field(default_factory=list, description="DrugClass ids (slugs)")
    anticholinergic_burden: int = Field(0, description="ACB scale score 0-3")
    matched: str = Field("", description="the input name or code that resolved to this drug")
    matched_as: Literal["name", "synonym", "brand", "rxcui", "atc", ""] = Field(
        "", description="what the input was to this drug: its name, a synonym, a brand, a code"
    )


class DrugResolution(BaseModel):
    model_config = ConfigDict(frozen=True)

    resolved: list[DrugRef]
    unresolved: list[str] = Field(description="inputs that matched no drug: never dropped")


class Threshold(BaseModel):
    """A lab threshold as data: the fact applies when every bound that is set holds."""

    model_config = ConfigDict(frozen=True)

    analyte: str = Field(description="analyte key, e.g. egfr, potassium, qtc")
    lt: float | None = None
    le: float | None = None
    gt: float | None = None
    ge: float | None = None
    unit: str = ""

    def holds(self, value: float) -> bool:
        return (
            (self.lt is None or value < self.lt)
            and (self.le is None or value <= self.le)
            and (self.gt is None or value > self.gt)
            and (self.ge is None or value >= self.ge)
        )

    def describe(self) -> str:
        parts = [
            f"{sym} {bound:g}"
            for sym, bound in (("<", self.lt), ("≤", self.le), (">", self.gt), ("≥", self.ge))
            if bound is not None
        ]
        return f"{self.analyte} {' and '.join(parts)} {self.unit}".strip()


class Manifest(BaseModel):
    """When an interaction's effect shows in a result: a lab criterion, what it means, its source
    (``data/kg/interaction_manifests.yaml``)."""

    model_config = ConfigDict(frozen=True)

    threshold: Threshold
    meaning: str
    source: str


class Interaction(_Fact):
    """A clinically significant drug-drug interaction between two of the queried drugs."""

    drug_a: str = Field(description="KG id of the first drug")
    drug_b: str = Field(description="KG id of the second drug")
    drug_a_name: str
    drug_b_name: str
    severity: Severity
    mechanism: str
    effect: str
    management: str
    requires_any: list[str] = Field(
        default_factory=list,
        description="a third drug that must also be present (e.g. the 'triple whammy' diuretic)",
    )
    also_present: list[str] = Field(
        default_factory=list, description="KG ids of the queried drugs that met requires_any"
    )
    manifest: Manifest | None = Field(
        default=None, description="the result that shows the effect is under way, if known"
    )


class Contraindication(_Fact):
    """A drug contraindicated in, or needing caution with, a condition, lab value or state."""

    drug: str = Field(description="KG id of the drug")
    drug_name: str
    level: ContraLevel
    kind: Literal["condition", "lab", "pregnancy", "allergy"]
    reason: str
    management: str = ""
    condition_code: str | None = Field(None, description="ICD-10-CM code/prefix of the fact")
    matched_condition: str | None = Field(None, description="the patient's code that matched")
    threshold: Threshold | None = None
    loinc: str | None = Field(None, description="LOINC of the patient's lab that matched")
    observed: float | None = Field(None, description="the patient's value that crossed it")


class AllergyConflict(_Fact):
    """A drug that matches, or may cross-react with, a recorded allergy."""

    drug: str
    drug_name: str
    allergy: str = Field(description="the recorded allergy, as given")
    allergen_class: str = Field(description="DrugClass id of the allergy")
    relation: Literal["same_drug", "same_class", "cross_reactive"]
    level: Level
    risk: str
    management: str

    def as_contraindication(self) -> Contraindication:
        return Contraindication(
            id=self.id,
            source=self.source,
            drug=self.drug,
            drug_name=self.drug_name,
            level=self.level,
            kind="allergy",
            reason=f"recorded allergy '{self.allergy}' ({self.relation}): {self.risk}",
            management=self.management,
        )


class AllergyReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    conflicts: list[AllergyConflict]
    unresolved: list[str] = Field(description="allergies that matched no drug or allergy class")


class Monitoring(_Fact):
    drug: str
    drug_name: str
    loinc: str
    test: str
    frequency: str
    rationale: str
    when_conditions: tuple[str, ...] = Field(
        default=(),
        description="ICD-10-CM codes or prefixes the requirement is limited to; empty: always",
    )

    @field_validator("when_conditions", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        """The graph stores the list ';'-joined (a missing property reads as none)."""
        if value is None:
            return ()
        if isinstance(value, str):
            return tuple(code for code in value.split(";") if code)
        return value

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Without ``when_conditions`` when there are none: a requirement for everyone dumps as
        it did before the field existed (recorded KG answers in evals/golden stay comparable)."""
        data: dict[str, Any] = handler(self)
        if not self.when_conditions:
            data.pop("when_conditions", None)
        return data

    def applies_to(self, icd_codes: Iterable[str]) -> bool:
        """Whether a patient with these ICD-10-CM codes is one the requirement is for."""
        if not self.when_conditions:
            return True
        return any(code.startswith(self.when_conditions) for code in icd_codes)


class GuidelineRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    org: str
    title: str
    year: int
    version: str
    url: str


class Recommendation(_Fact):
    text: str
    strength: str
    evidence: str
    guideline: GuidelineRef
    matched_conditions: list[str] = Field(default_factory=list)
    matched_labs: list[str] = Field(default_factory=list, description="LOINC codes that met it")


class PhenotypeMatch(_Fact):
    """A disease ranked by how many of the query phenotypes it is annotated with."""

    disease: str = Field(description="OMIM:... or ORPHA:...")
    name: str
    matched: list[str] = Field(description="query HPO ids the disease explains")
    score: float = Field(description="matched / queried")
    annotated: int = Field(description="how many phenotypes the disease is annotated with")


class LabTest(_Fact):
    loinc: str
    name: str
    analyte: str | None = None
    unit: str = Field(description="the unit thresholds in the KG use for this code (UCUM)")
    si_unit: str | None = None
    conventional_unit: str | None = None
    si_factor: float | None = Field(None, description="conventional x factor = SI")
    low: float | None = None
    high: float | None = None


class GraphStats(BaseModel):
    model_config = ConfigDict(frozen=True)

    backend: str
    content_version: str | None
    nodes: dict[str, int]
    relationships: dict[str, int]
