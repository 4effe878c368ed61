"""Deterministic clinical calculators: typed functions, a registry, tool schemas for the model.

Call a calculator directly with its input model::

    from tools.calculators import EgfrInput, egfr_ckd_epi_2021
    egfr_ckd_epi_2021(EgfrInput(creatinine=106, creatinine_unit="umol/L", age=67, sex="female"))

or by name with raw parameters (the CLI, agents and model tool calls do this)::

    calculate("egfr_ckd_epi_2021", {"creatinine": 1.2, "age": 67, "sex": "female"})

Bad input (unknown parameter or unit, impossible value) raises ``core.errors.InvalidInput``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import InvalidInput
from tools.calculators.acid_base import ACID_BASE_CALCULATORS
from tools.calculators.admission import ADMISSION_CALCULATORS
from tools.calculators.aki import AKI_CALCULATORS, AkiInput, CreatinineSample, aki_stage
from tools.calculators.aki_urine import UrineOutputPeriod
from tools.calculators.base import CalcInput, CalcResult, Calculator, ParamInfo, Source
from tools.calculators.bedside import BEDSIDE_CALCULATORS
from tools.calculators.bleeding import BLEEDING_CALCULATORS
from tools.calculators.body import (
    BODY_CALCULATORS,
    AncInput,
    BodySizeInput,
    anc,
    bmi,
    bsa_du_bois,
    bsa_mosteller,
)
from tools.calculators.body_weight import BODY_WEIGHT_CALCULATORS
from tools.calculators.chemistry import (
    CHEMISTRY_CALCULATORS,
    AlbuminGapInput,
    CalciumInput,
    ElectrolyteInput,
    GlucoseSodiumInput,
    anion_gap,
    anion_gap_albumin_corrected,
    corrected_calcium,
    sodium_corrected_hillier,
    sodium_corrected_katz,
)
from tools.calculators.conversions import CONVERSION_CALCULATORS
from tools.calculators.fluids import FLUID_CALCULATORS
from tools.calculators.lipids import LIPID_CALCULATORS
from tools.calculators.liver import (
    LIVER_CALCULATORS,
    ChildPughInput,
    MeldNaInput,
    child_pugh,
    meld_na,
)
from tools.calculators.liver_fibrosis import LIVER_FIBROSIS_CALCULATORS
from tools.calculators.news2 import NEWS2_CALCULATORS, News2Input, news2
from tools.calculators.osmolality import (
    OSMOLALITY_CALCULATORS,
    OsmolalGapInput,
    OsmolalityInput,
    osmolal_gap,
    serum_osmolality,
)
from tools.calculators.qtc import QTC_CALCULATORS, QtcInput, qtc_bazett, qtc_fridericia
from tools.calculators.renal import (
    RENAL_CALCULATORS,
    CockcroftGaultInput,
    EgfrInput,
    cockcroft_gault,
    egfr_ckd_epi_2021,
)
from tools.calculators.renal_excretion import RENAL_EXCRETION_CALCULATORS
from tools.calculators.risk import RISK_CALCULATORS
from tools.calculators.sepsis import SEPSIS_CALCULATORS, Curb65Input, QsofaInput, curb65, qsofa
from tools.calculators.severity import SEVERITY_CALCULATORS
from tools.calculators.thrombosis import (
    THROMBOSIS_CALCULATORS,
    Cha2ds2VascInput,
    HasBledInput,
    WellsPeInput,
    cha2ds2_vasc,
    has_bled,
    wells_pe,
)
from tools.calculators.vte import VTE_CALCULATORS

CALCULATORS: dict[str, Calculator[Any]] = {
    calc.name: calc
    for group in (
        RENAL_CALCULATORS,
        AKI_CALCULATORS,
        CHEMISTRY_CALCULATORS,
        OSMOLALITY_CALCULATORS,
        NEWS2_CALCULATORS,
        SEPSIS_CALCULATORS,
        THROMBOSIS_CALCULATORS,
        QTC_CALCULATORS,
        LIVER_CALCULATORS,
        BODY_CALCULATORS,
        BODY_WEIGHT_CALCULATORS,
        FLUID_CALCULATORS,
        LIPID_CALCULATORS,
        BEDSIDE_CALCULATORS,
        RISK_CALCULATORS,
        BLEEDING_CALCULATORS,
        VTE_CALCULATORS,
        SEVERITY_CALCULATORS,
        CONVERSION_CALCULATORS,
        LIVER_FIBROSIS_CALCULATORS,
        RENAL_EXCRETION_CALCULATORS,
        ACID_BASE_CALCULATORS,
        ADMISSION_CALCULATORS,
    )
    for calc in group
}


def get_calculator(name: str) -> Calculator[Any]:
    try:
        return CALCULATORS[name]
    except KeyError:
        known = ", ".join(sorted(CALCULATORS))
        raise InvalidInput(f"unknown calculator {name!r}; known: {known}") from None


def calculate(name: str, params: Mapping[str, object]) -> CalcResult:
    """Run the named calculator on raw parameters; InvalidInput on anything wrong."""
    return get_calculator(name).run(params)


def tool_schemas() -> list[dict[str, Any]]:
    """Every calculator as an OpenAI-style function tool, for the model's ``tools``."""
    return [calc.tool_schema() for calc in CALCULATORS.values()]


__all__ = [
    "CALCULATORS",
    "AkiInput",
    "AlbuminGapInput",
    "AncInput",
    "BodySizeInput",
    "CalcInput",
    "CalcResult",
    "CalciumInput",
    "Calculator",
    "Cha2ds2VascInput",
    "ChildPughInput",
    "CockcroftGaultInput",
    "CreatinineSample",
    "Curb65Input",
    "EgfrInput",
    "ElectrolyteInput",
    "GlucoseSodiumInput",
    "HasBledInput",
    "MeldNaInput",
    "News2Input",
    "OsmolalGapInput",
    "OsmolalityInput",
    "ParamInfo",
    "QsofaInput",
    "QtcInput",
    "Source",
    "UrineOutputPeriod",
    "WellsPeInput",
    "aki_stage",
    "anc",
    "anion_gap",
    "anion_gap_albumin_corrected",
    "bmi",
    "bsa_du_bois",
    "bsa_mosteller",
    "calculate",
    "cha2ds2_vasc",
    "child_pugh",
    "cockcroft_gault",
    "corrected_calcium",
    "curb65",
    "egfr_ckd_epi_2021",
    "get_calculator",
    "has_bled",
    "meld_na",
    "news2",
    "osmolal_gap",
    "qsofa",
    "qtc_bazett",
    "qtc_fridericia",
    "serum_osmolality",
    "sodium_corrected_hillier",
    "sodium_corrected_katz",
    "tool_schemas",
    "wells_pe",
]
