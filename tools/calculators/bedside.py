"""Bedside scores: Glasgow Coma Scale, SIRS criteria, PERC rule, Centor (McIsaac), FeverPAIN."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tools.calculators.base import CalcInput, CalcResult, Calculator, Source
from tools.calculators.criteria import assumed_absent, boolean_fields, point_score

TEASDALE_1974 = Source(
    authors="Teasdale G, Jennett B",
    title="Assessment of coma and impaired consciousness. A practical scale",
    published="Lancet 2(7872):81-84",
    year=1974,
)
BONE_1992 = Source(
    authors="Bone RC, Balk RA, Cerra FB, et al. (ACCP/SCCM Consensus Conference)",
    title="Definitions for sepsis and organ failure and guidelines for the use of innovative "
    "therapies in sepsis",
    published="Chest 101:1644-1655",
    year=1992,
)
KLINE_2004 = Source(
    authors="Kline JA, Mitchell AM, Kabrhel C, Richman PB, Courtney DM",
    title="Clinical criteria to prevent unnecessary diagnostic testing in emergency department "
    "patients with suspected pulmonary embolism",
    published="J Thromb Haemost 2:1247-1255",
    year=2004,
)
MCISAAC_1998 = Source(
    authors="McIsaac WJ, White D, Tannenbaum D, Low DE",
    title="A clinical score to reduce unnecessary antibiotic use in patients with sore throat",
    published="CMAJ 158:75-83",
    year=1998,
)
LITTLE_2013 = Source(
    authors="Little P, Hobbs FD, Moore M, et al.",
    title="Clinical score and rapid antigen detection test to guide antibiotic use for sore "
    "throats: randomised controlled trial of PRISM (primary care streptococcal management)",
    published="BMJ 347:f5806",
    year=2013,
)


class GcsInput(CalcInput):
    eye: int = Field(ge=1, le=4, description="4 spontaneous, 3 to sound, 2 to pain, 1 none")
    verbal: int = Field(ge=1, le=5, description="5 oriented, 4 confused, 3 words, 2 sounds, 1 none")
    motor: int = Field(
        ge=1,
        le=6,
        description="6 obeys, 5 localises, 4 withdraws, 3 abnormal flexion, 2 extension, 1 none",
    )


def glasgow_coma_scale(params: GcsInput) -> CalcResult:
    """GCS = eye (1-4) + verbal (1-5) + motor (1-6) (Teasdale & Jennett 1974)."""
    total = params.eye + params.verbal + params.motor
    # Head injury severity bands: <= 8 severe, 9-12 moderate, 13-15 mild.
    band = "severe (<= 8)" if total <= 8 else "moderate (9-12)" if total <= 12 else "mild (13-15)"
    return CalcResult(
        calculator="glasgow_coma_scale",
        value=total,
        unit="{score}",
        category=band,
        interpretation=f"GCS {total} (E{params.eye} V{params.verbal} M{params.motor}): {band}"
        + ("; a GCS of 8 or less: consider airway protection" if total <= 8 else ""),
        components={"eye": params.eye, "verbal": params.verbal, "motor": params.motor},
        inputs=params.model_dump(mode="json"),
        source=TEASDALE_1974.cite(),
    )


class SirsInput(CalcInput):
    temperature: float = Field(ge=25, le=45, description="temperature, degrees Celsius")
    heart_rate: float = Field(ge=20, le=300, description="beats/min")
    respiration_rate: float = Field(ge=2, le=80, description="breaths/min")
    paco2_mmhg: float | None = Field(default=None, ge=5, le=200, description="PaCO2, mmHg")
    wbc: float = Field(ge=0, le=500, description="white cell count, 10^9/L")
    band_forms_percent: float | None = Field(default=None, ge=0, le=100, description="bands, %")


def sirs(params: SirsInput) -> CalcResult:
    """One point each: T > 38 or < 36 C; HR > 90; RR > 20 or PaCO2 < 32 mmHg; WBC > 12 or
    < 4 x 10^9/L or > 10% bands (Bone 1992, ACCP/SCCM)."""
    points = {
        "temperature": float(params.temperature > 38 or params.temperature < 36),
        "heart_rate": float(params.heart_rate > 90),
        "respiration": float(params.respiration_rate > 20 or (params.paco2_mmhg or 99.0) < 32),
        "white_cells": float(
            params.wbc > 12 or params.wbc < 4 or (params.band_forms_percent or 0.0) > 10
        ),
    }
    met = int(sum(points.values()))
    return CalcResult(
        calculator="sirs",
        value=met,
        unit="{criteria}",
        category="SIRS" if met >= 2 else "no SIRS",
        interpretation=f"{met} of 4 SIRS criteria"
        + (
            "; SIRS (>= 2); Sepsis-3 defines sepsis by organ dysfunction (SOFA)" if met >= 2 else ""
        ),
        components=points,
        inputs=params.model_dump(mode="json"),
        warnings=tuple(
            f"{name} not given"
            for name in ("paco2_mmhg", "band_forms_percent")
            if getattr(params, name) is None
        ),
        source=BONE_1992.cite(),
    )


class PercInput(CalcInput):
    age: float = Field(ge=0, le=125, description="age in years")
    heart_rate: float = Field(ge=20, le=300, description="beats/min")
    spo2: float = Field(ge=40, le=100, description="oxygen saturation on air, %")
    unilateral_leg_swelling: bool = False
    haemoptysis: bool = False
    recent_surgery_or_trauma: bool = Field(default=False, description="within 4 weeks")
    previous_dvt_pe: bool = False
    hormone_use: bool = Field(default=False, description="oral contraceptives, HRT, oestrogen")


def perc(params: PercInput) -> CalcResult:
    """PERC: age >= 50, HR >= 100, SpO2 < 95%, and five yes/no criteria (Kline 2004)."""
    points = {
        "age_50_or_over": float(params.age >= 50),
        "heart_rate_100_or_over": float(params.heart_rate >= 100),
        "spo2_below_95": float(params.spo2 < 95),
        **{name: float(getattr(params, name)) for name in boolean_fields(params)},
    }
    met = int(sum(points.values()))
    return CalcResult(
        calculator="perc",
        value=met,
        unit="{criteria}",
        category="PERC negative" if met == 0 else "PERC positive",
        interpretation=(
            "PERC negative: with low pretest probability, PE is ruled out without D-dimer"
            if met == 0
            else f"{met} PERC criteria met: PE is not ruled out by PERC"
        ),
        components=points,
        inputs=params.model_dump(mode="json"),
        warnings=(
            "only for a low clinical (gestalt) probability of PE",
            *assumed_absent(params, boolean_fields(params)),
        ),
        source=KLINE_2004.cite(),
    )


class CentorInput(CalcInput):
    age: float = Field(ge=3, le=125, description="age in years (the score is from 3 years)")
    tonsillar_exudate_or_swelling: bool = False
    tender_anterior_nodes: bool = Field(default=False, description="tender/swollen, anterior")
    temperature_over_38: bool = False
    cough_absent: bool = False


def centor_mcisaac(params: CentorInput) -> CalcResult:
    """Centor criteria + age (3-14: +1, 15-44: 0, >= 45: -1) (McIsaac 1998)."""
    age_points = 1.0 if params.age < 15 else 0.0 if params.age < 45 else -1.0
    points = {"age": age_points}
    points.update({name: float(getattr(params, name)) for name in boolean_fields(params)})
    total = int(sum(points.values()))
    # McIsaac 1998: <= 1 no culture or antibiotic; 2-3 culture; >= 4 culture or treat.
    advice = (
        "no throat culture or antibiotic"
        if total <= 1
        else "throat culture; treat if positive"
        if total <= 3
        else "culture and treat if positive, or treat empirically"
    )
    return point_score(
        "centor_mcisaac",
        params,
        points,
        MCISAAC_1998,
        category="",
        interpretation=f"McIsaac (modified Centor) {total}: {advice}",
    )


class FeverPainInput(CalcInput):
    fever_past_24h: bool = False
    purulence: bool = Field(default=False, description="pus on the tonsils")
    attended_within_3_days: bool = Field(default=False, description="symptom onset <= 3 days")
    inflamed_tonsils: bool = Field(default=False, description="severely inflamed tonsils")
    no_cough_or_coryza: bool = False


def feverpain(params: FeverPainInput) -> CalcResult:
    """One point per criterion, 0-5 (Little 2013); NICE NG84 uses 0-1, 2-3, >= 4."""
    points = {name: float(getattr(params, name)) for name in boolean_fields(params)}
    total = int(sum(points.values()))
    advice = (
        "no antibiotic"
        if total <= 1
        else "consider a back-up antibiotic"
        if total <= 3
        else "consider an immediate or back-up antibiotic"
    )
    return point_score(
        "feverpain",
        params,
        points,
        LITTLE_2013,
        category="",
        interpretation=f"FeverPAIN {total}: {advice} (NICE NG84 2018)",
    )


BEDSIDE_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator(
        "glasgow_coma_scale",
        "Glasgow Coma Scale from eye, verbal and motor responses.",
        GcsInput,
        glasgow_coma_scale,
        TEASDALE_1974,
    ),
    Calculator("sirs", "SIRS criteria (ACCP/SCCM 1992).", SirsInput, sirs, BONE_1992),
    Calculator("perc", "PERC rule for pulmonary embolism.", PercInput, perc, KLINE_2004),
    Calculator(
        "centor_mcisaac",
        "Centor score modified by McIsaac for streptococcal pharyngitis.",
        CentorInput,
        centor_mcisaac,
        MCISAAC_1998,
    ),
    Calculator(
        "feverpain",
        "FeverPAIN score for streptococcal pharyngitis.",
        FeverPainInput,
        feverpain,
        LITTLE_2013,
    ),
)
