"""The Kidney Failure Risk Equation (4 variables), 2- and 5-year kidney failure.

risk = 1 - S0 ** exp(-0.2201 (age/10 - 7.036) + 0.2467 (male - 0.5642)
                     - 0.5567 (eGFR/5 - 7.222) + 0.4510 (ln ACR mg/g - 5.137))
(Tangri 2011, JAMA 305:1553, Table 3 model 3), with baseline survival S0 0.9750 (2 years) and
0.9240 (5 years) in North America and 0.9832 / 0.9365 outside it (the recalibration of Tangri
2016, JAMA 315:164).
"""

from __future__ import annotations

from math import exp, log
from typing import Literal

from pydantic import Field

from tools.calculators.base import CalcInput
from tools.prognosis.base import Prognosis, not_applied, percent
from tools.units import Sex

TANGRI_2011 = (
    "Tangri N, Stevens LA, Griffith J, et al. A predictive model for progression of chronic "
    "kidney disease to kidney failure. JAMA 2011;305:1553-1559"
)
TANGRI_2016 = (
    "Tangri N, Grams ME, Levey AS, et al. Multinational assessment of accuracy of equations for "
    "predicting risk of kidney failure: a meta-analysis. JAMA 2016;315:164-174"
)
COHORT = (
    "derived in 3449 adults with CKD G3-G5 referred to nephrology in Canada, validated in 4942 "
    "(Tangri 2011); validated in 721 357 people with CKD G3-G5 in 31 cohorts from 30 countries, "
    "recalibrated outside North America (Tangri 2016)"
)
OUTCOME = "kidney failure (dialysis or kidney transplant)"
# Baseline survival by (region, years): Tangri 2011 (North America) and 2016 (elsewhere).
_BASELINE = {
    ("north_american", 2): 0.9750,
    ("north_american", 5): 0.9240,
    ("non_north_american", 2): 0.9832,
    ("non_north_american", 5): 0.9365,
}
# ACR mg/mmol -> mg/g: 1 mmol creatinine = 113.12 mg (C4H7N3O), so x 1000 / 113.12 = x 8.84.
_MG_PER_MMOL_CREATININE = 113.12


class KfreInput(CalcInput):
    age: float = Field(ge=0, le=125, description="age in years")
    sex: Sex = Field(description="'female' or 'male'")
    egfr: float = Field(gt=0, le=200, description="eGFR, mL/min/1.73 m2")
    acr: float = Field(gt=0, le=100000, description="urine albumin-creatinine ratio")
    acr_unit: Literal["mg/g", "mg/mmol"] = Field(default="mg/mmol", description="'mg/mmol' (UK)")
    region: Literal["north_american", "non_north_american"] = Field(
        default="non_north_american", description="which baseline survival applies"
    )
    on_dialysis: bool = Field(default=False, description="kidney failure already treated")

    def acr_mg_g(self) -> float:
        if self.acr_unit == "mg/g":
            return self.acr
        return self.acr * 1000.0 / _MG_PER_MMOL_CREATININE


def _outside_population(params: KfreInput) -> str | None:
    # Tangri 2011/2016: adults with CKD G3-G5 (eGFR 10-59) not yet on kidney replacement therapy.
    if params.on_dialysis:
        return "the patient is on dialysis: the equation predicts reaching it"
    if params.age < 18:
        return f"age {params.age:g}: the equation is for adults"
    if params.egfr >= 60:
        return f"eGFR {params.egfr:g}: validated for CKD G3-G5 (eGFR < 60) only"
    if params.egfr < 10:
        return f"eGFR {params.egfr:g}: below the cohorts' range (10-59)"
    return None


def kfre(params: KfreInput, years: Literal[2, 5]) -> Prognosis:
    """2- or 5-year probability of kidney failure, or why it does not apply."""
    name = f"kfre_4_variable_{years}_year"
    source = f"{TANGRI_2011}; {TANGRI_2016}"
    reason = _outside_population(params)
    if reason:
        return not_applied(name, OUTCOME, f"{years} years", reason, cohort=COHORT, source=source)
    male = 1.0 if params.sex == "male" else 0.0
    linear = (
        -0.2201 * (params.age / 10 - 7.036)
        + 0.2467 * (male - 0.5642)
        - 0.5567 * (params.egfr / 5 - 7.222)
        + 0.4510 * (log(params.acr_mg_g()) - 5.137)
    )
    risk = 1.0 - _BASELINE[(params.region, years)] ** exp(linear)
    region = params.region.replace("_", " ")
    return Prognosis(
        model=name,
        outcome=OUTCOME,
        horizon=f"{years} years",
        probability=risk,
        statement=f"{percent(risk)} risk of kidney failure within {years} years (KFRE 4-variable, "
        f"{region} calibration; Tangri 2011/2016)",
        cohort=COHORT,
        inputs=params.model_dump(mode="json"),
        source=source,
    )
