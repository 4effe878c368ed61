"""Published outcome tables of the ward's risk scores: the rate the derivation cohort showed.

Each table maps a score (as our calculators compute it) to the event rate the source reports,
with the cohort it came from. Scores beyond the table's rows, or patients outside the cohort,
get no number.
"""

from __future__ import annotations

from tools.prognosis.base import Prognosis, not_applied, percent

# Lip GY et al., Chest 2010;137:263-272, adjusted stroke rate (%/year) by CHA2DS2-VASc, as
# tabulated in the ESC 2010 AF guideline (Camm AJ et al., Eur Heart J 2010;31:2369-2429, Table 8).
_CHA2DS2_VASC = (0.0, 1.3, 2.2, 3.2, 4.0, 6.7, 9.8, 9.6, 6.7, 15.2)
LIP_2010 = "Lip GY et al. Chest 2010;137:263-272; ESC AF guideline 2010 (Camm AJ et al.), Table 8"
LIP_COHORT = "Euro Heart Survey for AF: 1084 patients not on anticoagulation, followed 1 year"

# Pisters R et al., Chest 2010;138:1093-1100, major bleeds per 100 patient-years by HAS-BLED
# (validation cohort; scores above 5 had too few patients to report).
_HAS_BLED = (1.13, 1.02, 1.88, 3.74, 8.70, 12.50)
PISTERS_2010 = "Pisters R et al. Chest 2010;138:1093-1100"
PISTERS_COHORT = "Euro Heart Survey for AF: 3978 patients with 1-year follow-up"

# Lim WS et al., Thorax 2003;58:377-382: 30-day mortality by CURB-65 (derivation + validation).
_CURB65 = (0.7, 2.1, 9.2, 14.5, 40.0, 57.0)
LIM_2003 = "Lim WS et al. Thorax 2003;58:377-382"
LIM_COHORT = (
    "1068 adults admitted with community-acquired pneumonia in the UK, New Zealand and the "
    "Netherlands (derivation and validation)"
)

# Wiesner R et al., Gastroenterology 2003;124:91-96: 3-month mortality by MELD band in 3437
# adults with chronic liver disease listed for transplant (UNOS).
_MELD = ((9, 1.9), (19, 6.0), (29, 19.6), (39, 52.6), (99, 71.3))
WIESNER_2003 = "Wiesner R et al. Gastroenterology 2003;124:91-96"
WIESNER_COHORT = "3437 adults with chronic liver disease on the UNOS transplant waiting list"

# Barbar S et al., J Thromb Haemost 2010;8:2450-2457: VTE within 90 days without prophylaxis,
# Padua >= 4 (high risk) 11.0%, < 4 (low risk) 0.3%.
BARBAR_2010 = "Barbar S et al. J Thromb Haemost 2010;8:2450-2457"
BARBAR_COHORT = "1180 adult medical inpatients in Padua, Italy, followed 90 days"


def _check_adult(
    name: str, outcome: str, horizon: str, age: float | None, **kw: str
) -> Prognosis | None:
    if age is not None and age < 18:
        return not_applied(name, outcome, horizon, f"age {age:g}: derived in adults", **kw)
    return None


def cha2ds2_vasc_stroke_rate(
    score: int, *, atrial_fibrillation: bool, age: float | None = None
) -> Prognosis:
    """Annual stroke rate by CHA2DS2-VASc, in non-valvular AF without anticoagulation."""
    name, outcome, horizon = "cha2ds2_vasc_stroke_rate", "stroke or thromboembolism", "per year"
    kw = {"cohort": LIP_COHORT, "source": LIP_2010}
    if not atrial_fibrillation:
        return not_applied(name, outcome, horizon, "no atrial fibrillation is recorded", **kw)
    if refusal := _check_adult(name, outcome, horizon, age, **kw):
        return refusal
    rate = _CHA2DS2_VASC[min(score, 9)] / 100
    return Prognosis(
        model=name,
        outcome=outcome,
        horizon=horizon,
        probability=rate,
        statement=f"CHA2DS2-VASc {score}: adjusted stroke rate {percent(rate)} a year without "
        "anticoagulation (Lip 2010)",
        cohort=LIP_COHORT,
        inputs={"cha2ds2_vasc": score},
        source=LIP_2010,
    )


def has_bled_bleeding_rate(score: int, *, anticoagulated: bool) -> Prognosis:
    """Major bleeds per 100 patient-years by HAS-BLED, in AF (Pisters 2010)."""
    name, outcome, horizon = "has_bled_bleeding_rate", "major bleeding", "per year"
    kw = {"cohort": PISTERS_COHORT, "source": PISTERS_2010}
    if score >= len(_HAS_BLED):
        return not_applied(
            name, outcome, horizon, f"HAS-BLED {score}: too few patients above 5 for a rate", **kw
        )
    rate = _HAS_BLED[score] / 100
    note = "" if anticoagulated else " (no anticoagulant is recorded)"
    return Prognosis(
        model=name,
        outcome=outcome,
        horizon=horizon,
        probability=rate,
        statement=f"HAS-BLED {score}: {_HAS_BLED[score]:.2f} major bleeds per 100 patient-years "
        f"in AF (Pisters 2010){note}",
        cohort=PISTERS_COHORT,
        inputs={"has_bled": score, "anticoagulated": anticoagulated},
        source=PISTERS_2010,
    )


def curb65_mortality(score: int, *, age: float | None = None) -> Prognosis:
    """30-day mortality by CURB-65 in community-acquired pneumonia (Lim 2003)."""
    name, outcome, horizon = "curb65_mortality", "death", "30 days"
    kw = {"cohort": LIM_COHORT, "source": LIM_2003}
    if refusal := _check_adult(name, outcome, horizon, age, **kw):
        return refusal
    rate = _CURB65[min(score, 5)] / 100
    return Prognosis(
        model=name,
        outcome=outcome,
        horizon=horizon,
        probability=rate,
        statement=f"CURB-65 {score}: 30-day mortality {percent(rate)} in community-acquired "
        "pneumonia (Lim 2003)",
        cohort=LIM_COHORT,
        inputs={"curb65": score},
        source=LIM_2003,
    )


def meld_mortality(
    meld: float, *, score_name: str = "MELD", on_dialysis: bool = False
) -> Prognosis:
    """3-month mortality by MELD band in chronic liver disease (Wiesner 2003).

    The bands were reported for MELD; given MELD-Na (``score_name``), the statement says so.
    """
    name, outcome, horizon = "meld_3_month_mortality", "death", "3 months"
    rate = next(r for upper, r in _MELD if meld <= upper) / 100
    band = next(f"<= {u}" if u == 9 else f"{u - 9}-{u}" for u, _ in _MELD if meld <= u)
    band = ">= 40" if meld >= 40 else band
    return Prognosis(
        model=name,
        outcome=outcome,
        horizon=horizon,
        probability=rate,
        statement=f"{score_name} {meld:g} (band {band}): 3-month mortality {percent(rate)} on the "
        "transplant waiting list (Wiesner 2003"
        + (", whose bands are for MELD)" if score_name != "MELD" else ")"),
        cohort=WIESNER_COHORT,
        inputs={score_name: meld, "on_dialysis": on_dialysis},
        source=WIESNER_2003,
    )


def padua_vte_risk(score: int, *, on_prophylaxis: bool = False) -> Prognosis:
    """90-day VTE risk by Padua band, without prophylaxis (Barbar 2010)."""
    name, outcome, horizon = "padua_vte_risk", "venous thromboembolism", "90 days"
    high = score >= 4
    rate = 0.110 if high else 0.003
    note = "; thromboprophylaxis is recorded, which lowers it" if on_prophylaxis else ""
    return Prognosis(
        model=name,
        outcome=outcome,
        horizon=horizon,
        probability=rate,
        statement=f"Padua {score} ({'high' if high else 'low'} risk): {percent(rate)} VTE within "
        f"90 days without prophylaxis (Barbar 2010){note}",
        cohort=BARBAR_COHORT,
        inputs={"padua": score, "on_prophylaxis": on_prophylaxis},
        source=BARBAR_2010,
    )
