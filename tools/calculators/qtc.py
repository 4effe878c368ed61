"""Heart-rate corrected QT interval: Bazett, Fridericia, Framingham, Hodges, Rautaharju."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, Self

from pydantic import Field, model_validator

from core.errors import InvalidInput
from tools.calculators.base import CalcInput, CalcResult, Calculator, Source
from tools.units import Sex

BAZETT_1920 = Source(
    authors="Bazett HC",
    title="An analysis of the time-relations of electrocardiograms",
    published="Heart 7:353-370",
    year=1920,
)
FRIDERICIA_1920 = Source(
    authors="Fridericia LS",
    title="Die Systolendauer im Elektrokardiogramm bei normalen Menschen und bei Herzkranken",
    published="Acta Med Scand 53:469-486",
    year=1920,
)
SAGIE_1992 = Source(
    authors="Sagie A, Larson MG, Goldberg RJ, Bengtson JR, Levy D",
    title="An improved method for adjusting the QT interval for heart rate (the Framingham "
    "Heart Study)",
    published="Am J Cardiol 70:797-801",
    year=1992,
)
HODGES_1983 = Source(
    authors="Hodges M, Salerno D, Erlien D",
    title="Bazett's QT correction reviewed: evidence that a linear QT correction for heart "
    "rate is better",
    published="J Am Coll Cardiol 1:694 (abstract)",
    year=1983,
)
RAUTAHARJU_2014 = Source(
    authors="Rautaharju PM, Mason JW, Akiyama T",
    title="New age- and sex-specific criteria for QT prolongation based on rate correction "
    "formulas that minimize bias at the upper normal limits",
    published="Int J Cardiol 174:535-540",
    year=2014,
)
Method = Literal["bazett", "fridericia", "framingham", "hodges", "rautaharju"]
_SOURCES = {
    "bazett": BAZETT_1920,
    "fridericia": FRIDERICIA_1920,
    "framingham": SAGIE_1992,
    "hodges": HODGES_1983,
    "rautaharju": RAUTAHARJU_2014,
}
# Prolonged QTc: > 450 ms men, > 460 ms women (Rautaharju PM et al., AHA/ACCF/HRS
# recommendations for the standardization of the ECG, part IV, Circulation 2009;119:e241-e250);
# > 500 ms marks high torsades risk (Drew BJ et al., AHA/ACCF scientific statement,
# Circulation 2010;121:1047-1060).
_PROLONGED = {"male": 450.0, "female": 460.0}
_HIGH_RISK = 500.0


class QtcInput(CalcInput):
    qt_ms: float = Field(ge=150, le=800, description="measured QT interval, ms")
    heart_rate: float | None = Field(default=None, ge=20, le=300, description="beats/min")
    rr_ms: float | None = Field(
        default=None, ge=200, le=3000, description="RR interval, ms (instead of heart_rate)"
    )
    sex: Sex | None = Field(default=None, description="for the prolongation threshold")

    @model_validator(mode="after")
    def _one_rate(self) -> Self:
        if (self.heart_rate is None) == (self.rr_ms is None):
            raise ValueError("give exactly one of heart_rate or rr_ms")
        return self

    def rr_seconds(self) -> float:
        if self.rr_ms is not None:
            return self.rr_ms / 1000.0
        if self.heart_rate is None:  # unreachable after _one_rate; keeps the type narrow
            raise InvalidInput("qtc: give heart_rate or rr_ms")
        return 60.0 / self.heart_rate


def corrected_qt(qt_ms: float, rr: float, method: Method) -> float:
    """QTc in ms from QT (ms) and RR (s) by the named formula (see each source)."""
    heart_rate = 60.0 / rr
    if method == "bazett":
        return qt_ms / float(rr**0.5)  # QT / RR^(1/2)
    if method == "fridericia":
        return qt_ms / float(rr ** (1 / 3))  # QT / RR^(1/3)
    if method == "framingham":
        return qt_ms + 154.0 * (1.0 - rr)  # Sagie 1992: QT + 0.154 s x (1 - RR)
    if method == "hodges":
        return qt_ms + 1.75 * (heart_rate - 60.0)  # Hodges 1983: QT + 1.75 x (HR - 60)
    return qt_ms * (120.0 + heart_rate) / 180.0  # Rautaharju 2014: QT x (120 + HR) / 180


def _whole_ms(qtc: float) -> float:
    """Whole milliseconds, halves rounded up as ECG reports do (440.5 -> 441, not 440)."""
    return float(Decimal(qtc).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _qtc(params: QtcInput, method: Method) -> CalcResult:
    rr = params.rr_seconds()
    source = _SOURCES[method]
    qtc = corrected_qt(params.qt_ms, rr, method)
    limit = _PROLONGED[params.sex] if params.sex else _PROLONGED["male"]
    if qtc > _HIGH_RISK:
        band = "markedly prolonged"
    elif qtc > limit:
        band = "prolonged"
    else:
        band = "normal"
    warnings = []
    if params.sex is None:
        warnings.append("sex not given: the male threshold (450 ms) was used")
    if method == "bazett" and not 0.6 <= rr <= 1.0:
        warnings.append("Bazett over-corrects above 100/min and under-corrects below 60/min")
    return CalcResult(
        calculator=f"qtc_{method}",
        value=_whole_ms(qtc),
        unit="ms",
        category=band,
        interpretation=f"QTc ({method.title()}) {qtc:.0f} ms: {band} (> {limit:g} ms prolonged, "
        f"> {_HIGH_RISK:g} ms high risk of torsades)",
        components={"rr_seconds": round(rr, 3)},
        inputs=params.model_dump(mode="json"),
        warnings=tuple(warnings),
        source=source.cite(),
    )


def qtc_bazett(params: QtcInput) -> CalcResult:
    return _qtc(params, "bazett")


def qtc_fridericia(params: QtcInput) -> CalcResult:
    return _qtc(params, "fridericia")


def qtc_framingham(params: QtcInput) -> CalcResult:
    return _qtc(params, "framingham")


def qtc_hodges(params: QtcInput) -> CalcResult:
    return _qtc(params, "hodges")


def qtc_rautaharju(params: QtcInput) -> CalcResult:
    return _qtc(params, "rautaharju")


QTC_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator(
        "qtc_bazett",
        "QT corrected for heart rate, Bazett (QT / sqrt(RR)).",
        QtcInput,
        qtc_bazett,
        BAZETT_1920,
    ),
    Calculator(
        "qtc_fridericia",
        "QT corrected for heart rate, Fridericia (QT / cube root of RR).",
        QtcInput,
        qtc_fridericia,
        FRIDERICIA_1920,
    ),
    Calculator(
        "qtc_hodges",
        "QT corrected for heart rate, Hodges (QT + 1.75 x (HR - 60)).",
        QtcInput,
        qtc_hodges,
        HODGES_1983,
    ),
    Calculator(
        "qtc_framingham",
        "QT corrected for heart rate, Framingham (QT + 154 x (1 - RR)).",
        QtcInput,
        qtc_framingham,
        SAGIE_1992,
    ),
    Calculator(
        "qtc_rautaharju",
        "QT corrected for heart rate, Rautaharju (QT x (120 + HR) / 180).",
        QtcInput,
        qtc_rautaharju,
        RAUTAHARJU_2014,
    ),
)
