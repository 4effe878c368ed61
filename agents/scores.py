"""Bedside scores from the latest vital signs: NEWS2 and qSOFA.

Consciousness (ACVPU) and mentation are rarely coded observations; when they are absent the
patient is taken as alert, which makes each score a lower bound, and the finding says so.
Supplemental oxygen is inferred from an inhaled-oxygen observation. SpO2 scale 1 is used: scale 2
needs a clinician's prescribed 88-92% target (RCP NEWS2 2017, chart 1), which a record rarely codes.
"""

from __future__ import annotations

from core.domain import Citation, Finding, Observation, PatientRecord, Severity
from core.errors import InvalidInput
from core.logging import get_logger
from tools.calculators.news2 import News2Input, news2
from tools.calculators.sepsis import QsofaInput, qsofa

log = get_logger(__name__)

# LOINC vital signs: RR 9279-1, SpO2 59408-5 / 2708-6, SBP 8480-6, HR 8867-4, temperature 8310-5,
# inhaled oxygen flow 3151-8 / inhaled O2 concentration 3150-0.
VITALS = {
    "9279-1": "rr",
    "59408-5": "spo2",
    "2708-6": "spo2",
    "8480-6": "sbp",
    "8867-4": "hr",
    "8310-5": "temp",
}
OXYGEN = {"3151-8", "3150-0"}
_NEWS2_SEVERITY = {"low": Severity.low, "low-medium": Severity.moderate, "medium": Severity.high}
ASSUMED = "consciousness not recorded: taken as alert (score is a lower bound)"


def drawn_together(
    record: PatientRecord, names: dict[str, str], *, units: tuple[str, ...] | None = None
) -> list[dict[str, Observation]]:
    """Sets of numeric results taken at the same moment that hold every name in ``names``.

    ``names`` maps LOINC to the name a calculator expects; ``units`` restricts accepted units.
    """
    sets: dict[object, dict[str, Observation]] = {}
    for obs in record.observations:
        name = names.get(obs.loinc)
        if name is None or obs.value is None or obs.effective is None:
            continue
        if units is None or obs.unit in units:
            sets.setdefault(obs.effective, {})[name] = obs
    wanted = set(names.values())
    return [drawn for drawn in sets.values() if set(drawn) == wanted]


def latest_vitals(record: PatientRecord) -> dict[str, Observation]:
    latest: dict[str, Observation] = {}
    for obs in sorted(
        record.observations, key=lambda o: o.effective.timestamp() if o.effective else 0
    ):
        name = VITALS.get(obs.loinc)
        if name and obs.value is not None:
            latest[name] = obs
    return latest


def _cites(vitals: dict[str, Observation], keys: tuple[str, ...]) -> tuple[Citation, ...]:
    return tuple(Citation.fhir(vitals[k].ref) for k in keys)


def _value(vitals: dict[str, Observation], key: str) -> float:
    value = vitals[key].value
    assert value is not None  # latest_vitals keeps numeric observations only
    return value


def news2_finding(record: PatientRecord) -> Finding | None:
    v = latest_vitals(record)
    keys = ("rr", "spo2", "sbp", "hr", "temp")
    if not all(k in v for k in keys):
        return None
    on_oxygen = any(o.loinc in OXYGEN and (o.value or 0) > 0 for o in record.observations)
    try:
        result = news2(
            News2Input(
                respiration_rate=round(_value(v, "rr")), spo2=round(_value(v, "spo2")),
                spo2_scale=1, on_oxygen=on_oxygen, systolic_bp=round(_value(v, "sbp")),
                pulse=round(_value(v, "hr")), consciousness="alert", temperature=_value(v, "temp"),
            )
        )  # fmt: skip
    except InvalidInput as err:
        log.warning("rules.news2.skipped", reason=str(err)[:200])
        return None
    severity = (
        Severity.critical
        if result.category == "high"
        else _NEWS2_SEVERITY.get(result.category, Severity.low)
    )
    return Finding(
        id="news2",
        kind="score",
        severity=severity,
        summary=f"{result.interpretation} ({ASSUMED})",
        labs=tuple(v[k].loinc for k in keys),
        citations=(*_cites(v, keys), result.citation()),
        source=result.source,
    )


def qsofa_finding(record: PatientRecord) -> Finding | None:
    """The highest qSOFA among the sets of RR and SBP recorded together (the admission's worst)."""
    best = None
    rr_sbp = {loinc: name for loinc, name in VITALS.items() if name in ("rr", "sbp")}
    for v in drawn_together(record, rr_sbp):
        result = qsofa(
            QsofaInput(
                respiration_rate=round(_value(v, "rr")),
                systolic_bp=round(_value(v, "sbp")),
                altered_mentation=False,
            )
        )
        if best is None or result.value > best[0].value:
            best = (result, v)
    if best is None or best[0].value < 2:
        return None
    result, v = best
    when = v["rr"].effective.isoformat() if v["rr"].effective else "?"
    return Finding(
        id="qsofa",
        kind="score",
        severity=Severity.high,
        summary=f"{result.interpretation} at {when} (mentation not recorded: a lower bound)",
        labs=(v["rr"].loinc, v["sbp"].loinc),
        citations=(*_cites(v, ("rr", "sbp")), result.citation()),
        source=result.source,
    )
