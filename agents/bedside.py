"""What the record says at the bedside for NEWS2: supplemental oxygen and level of consciousness.

Oxygen is read from what was charted near the observations (RCP NEWS2 2017, chart 1: "air or
oxygen?"): an inhaled oxygen flow rate above 0 (LOINC 3151-8) or an inspired oxygen fraction
above air's 21% (LOINC 3150-0) is supplemental oxygen; 21% or "room air" is not; a named delivery
device (nasal cannula, mask...) is. Consciousness is read from ACVPU/AVPU (LOINC 67775-7 "Level
of responsiveness" and its answers: LA9340-6 Alert, LA6560-2 Confused, LA17108-4 Verbal,
LA17107-6 Painful, LA9343-0 Unresponsive) as charted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.domain import Citation, Observation, PatientRecord
from tools.calculators.news2 import Consciousness

OXYGEN_FLOW = "3151-8"  # LOINC Inhaled oxygen flow rate
INSPIRED_OXYGEN = "3150-0"  # LOINC Inhaled oxygen concentration
ACVPU = "67775-7"  # LOINC Level of responsiveness
AIR_FIO2 = 21.0  # % oxygen in air (RCP NEWS2 2017: "air" is FiO2 21%)
NEAR = timedelta(hours=12)
_DEVICES = ("cannula", "prongs", "mask", "venturi", "high flow", "high-flow", "cpap", "niv")
# ACVPU answers as charted (LOINC answer display, or the letter), in NEWS2's words.
_ACVPU: tuple[tuple[tuple[str, ...], Consciousness], ...] = (
    (("alert", "a"), "alert"),
    (("confused", "new confusion", "c"), "new_confusion"),
    (("verbal", "voice", "responds to voice", "v"), "voice"),
    (("painful", "pain", "responds to pain", "p"), "pain"),
    (("unresponsive", "u"), "unresponsive"),
)


@dataclass(frozen=True)
class Charted:
    """One bedside fact read from the record, with what says so."""

    value: str
    evidence: str
    citation: Citation


def _near(observations: list[Observation], at: datetime | None) -> list[Observation]:
    if at is None:
        return observations
    return [o for o in observations if o.effective is not None and abs(o.effective - at) <= NEAR]


def _closest(observations: list[Observation], at: datetime | None) -> Observation | None:
    if not observations:
        return None
    if at is None:
        return max(observations, key=lambda o: o.effective.timestamp() if o.effective else 0.0)
    return min(observations, key=lambda o: abs((o.effective - at).total_seconds()))  # type: ignore[operator]


def _oxygen_reading(obs: Observation) -> bool | None:
    """True on oxygen, False on air, None when this observation does not say."""
    text = obs.value_text.lower()
    if "room air" in text or text.strip() == "air":
        return False
    if obs.loinc == OXYGEN_FLOW and obs.value is not None:
        return obs.value > 0
    if obs.loinc == INSPIRED_OXYGEN and obs.value is not None:
        return obs.value > AIR_FIO2
    if "oxygen" in obs.display.lower() and any(d in text for d in _DEVICES):
        return True
    return None


def supplemental_oxygen(record: PatientRecord, at: datetime | None) -> Charted | None:
    """Whether the patient was on oxygen near ``at``, from the closest charted reading."""
    said = [o for o in record.observations if _oxygen_reading(o) is not None]
    obs = _closest(_near(said, at), at)
    if obs is None:
        return None
    shown = f"{obs.value:g} {obs.unit}".strip() if obs.value is not None else obs.value_text
    on = bool(_oxygen_reading(obs))
    return Charted("oxygen" if on else "air", f"{obs.display} {shown}", Citation.fhir(obs.ref))


def charted_consciousness(record: PatientRecord, at: datetime | None) -> Charted | None:
    """ACVPU as charted near ``at`` (LOINC 67775-7), in NEWS2's words."""
    charted = [o for o in record.observations if o.loinc == ACVPU and o.value_text]
    obs = _closest(_near(charted, at), at)
    if obs is None:
        return None
    answer = obs.value_text.strip().lower()
    for words, level in _ACVPU:
        if answer in words or answer.startswith(words[0]):
            return Charted(level, f"ACVPU {obs.value_text}", Citation.fhir(obs.ref))
    return None
