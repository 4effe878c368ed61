"""National Early Warning Score 2 (Royal College of Physicians, 2017).

Royal College of Physicians. National Early Warning Score (NEWS) 2: Standardising the assessment
of acute-illness severity in the NHS. Updated report of a working party. London: RCP, 2017.
Chart 1 (the NEWS2 scoring system) and Chart 2 / Table 5 (thresholds and triggers).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tools.calculators.base import CalcInput, CalcResult, Calculator, Source

RCP_NEWS2_2017 = Source(
    authors="Royal College of Physicians",
    title="National Early Warning Score (NEWS) 2: standardising the assessment of "
    "acute-illness severity in the NHS",
    published="RCP working party report, Chart 1 and Chart 2",
    year=2017,
)

Consciousness = Literal["alert", "new_confusion", "voice", "pain", "unresponsive"]

# Each band is (upper bound inclusive, points), read from RCP 2017 Chart 1.
_RESPIRATION = ((8, 3), (11, 1), (20, 0), (24, 2), (float("inf"), 3))
_SPO2_SCALE_1 = ((91, 3), (93, 2), (95, 1), (float("inf"), 0))
_SPO2_SCALE_2_LOW = ((83, 3), (85, 2), (87, 1))  # then 88-92 (or >= 93 on air) scores 0
_SPO2_SCALE_2_ON_OXYGEN = ((94, 1), (96, 2), (float("inf"), 3))  # >= 93 on oxygen
_SYSTOLIC = ((90, 3), (100, 2), (110, 1), (219, 0), (float("inf"), 3))
_PULSE = ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2), (float("inf"), 3))
_TEMPERATURE = ((35.0, 3), (36.0, 1), (38.0, 0), (39.0, 1), (float("inf"), 2))


def _band(value: float, bands: tuple[tuple[float, int], ...]) -> int:
    return next(points for upper, points in bands if value <= upper)


class News2Input(CalcInput):
    """Observations for one NEWS2 score."""

    respiration_rate: int = Field(ge=0, le=80, description="breaths per minute")
    spo2: int = Field(ge=40, le=100, description="oxygen saturation, %")
    spo2_scale: Literal[1, 2] = Field(
        default=1,
        description="2 only for hypercapnic respiratory failure with a prescribed 88-92% target",
    )
    on_oxygen: bool = Field(description="any supplemental oxygen (True) or room air (False)")
    systolic_bp: int = Field(ge=30, le=300, description="systolic blood pressure, mmHg")
    pulse: int = Field(ge=20, le=300, description="heart rate, beats per minute")
    consciousness: Consciousness = Field(
        description="ACVPU: alert, new_confusion, voice, pain or unresponsive"
    )
    temperature: float = Field(ge=25, le=45, description="temperature, degrees Celsius")


def _spo2_points(params: News2Input) -> int:
    if params.spo2_scale == 1:
        return _band(params.spo2, _SPO2_SCALE_1)
    if params.spo2 <= 87:
        return _band(params.spo2, _SPO2_SCALE_2_LOW)
    if params.spo2 <= 92 or not params.on_oxygen:
        return 0
    return _band(params.spo2, _SPO2_SCALE_2_ON_OXYGEN)


def _components(params: News2Input) -> dict[str, float]:
    return {
        "respiration_rate": _band(params.respiration_rate, _RESPIRATION),
        "spo2": _spo2_points(params),
        "air_or_oxygen": 2 if params.on_oxygen else 0,
        "systolic_bp": _band(params.systolic_bp, _SYSTOLIC),
        "pulse": _band(params.pulse, _PULSE),
        "consciousness": 0 if params.consciousness == "alert" else 3,
        # Chart 1 bands are in 0.1 degC steps: round so 36.04 is not between bands.
        "temperature": _band(round(params.temperature, 1), _TEMPERATURE),
    }


def _risk(total: int, red: bool) -> tuple[str, str]:
    """RCP 2017 Chart 2: clinical risk and response by aggregate score."""
    if total >= 7:
        return "high", "emergency response: urgent assessment by a team with critical care skills"
    if total >= 5:
        return "medium", "key threshold: urgent review by a clinician competent in acute illness"
    if red:
        return "low-medium", "a single parameter scores 3: urgent ward-based response"
    if total >= 1:
        return "low", "ward-based response: assessment by a registered nurse"
    return "low", "continue routine monitoring (minimum 12-hourly)"


def news2(params: News2Input) -> CalcResult:
    points = _components(params)
    total = int(sum(points.values()))
    red = any(p == 3 for p in points.values())
    category, response = _risk(total, red)
    warnings = []
    if params.spo2_scale == 2:
        warnings.append("SpO2 scale 2 applies only to a prescribed 88-92% target")
    return CalcResult(
        calculator="news2",
        value=total,
        unit="{score}",
        category=category,
        interpretation=f"NEWS2 {total} ({category} clinical risk): {response}",
        components=points,
        inputs=params.model_dump(mode="json"),
        warnings=tuple(warnings),
        source=RCP_NEWS2_2017.cite(),
    )


NEWS2_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator(
        "news2",
        "National Early Warning Score 2 from one set of vital signs, with clinical response.",
        News2Input,
        news2,
        RCP_NEWS2_2017,
    ),
)
