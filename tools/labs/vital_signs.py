"""Vital signs are NEWS2 parameters, not lab results: each is shown with the points it scores.

The shipped "ranges" for respiration rate, SpO2, systolic pressure, pulse and temperature are the
NEWS2 bands (RCP 2017, chart 1), so a systolic of 105 is not "low against 111-219": it scores 1
point in NEWS2. The points come from the NEWS2 calculator itself, every other parameter held at a
value that scores 0.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from core.errors import InvalidInput
from tools.calculators.news2 import News2Input, news2

# LOINC of each NEWS2 parameter (after tools.resolve.labs: 2708-6 SpO2 is 59408-5, oral
# temperature 8331-1 is 8310-5) -> the calculator's field.
NEWS2_PARAMETERS = {
    "9279-1": "respiration_rate",
    "59408-5": "spo2",
    "8480-6": "systolic_bp",
    "8867-4": "pulse",
    "8310-5": "temperature",
}
# Each scores 0 in RCP NEWS2 2017 chart 1 (RR 12-20, SpO2 >= 96 on air, SBP 111-219, pulse 51-90,
# alert, temperature 36.1-38.0).
_SCORES_ZERO: dict[str, Any] = {
    "respiration_rate": 16, "spo2": 97, "spo2_scale": 1, "on_oxygen": False,
    "systolic_bp": 120, "pulse": 70, "consciousness": "alert", "temperature": 37.0,
}  # fmt: skip


def news2_points(loinc: str, value: float) -> int | None:
    """The NEWS2 points this one vital sign scores, or ``None`` when it is not a NEWS2
    parameter (or not a value NEWS2 can score)."""
    field = NEWS2_PARAMETERS.get(loinc)
    if field is None:
        return None
    reading = value if field == "temperature" else round(value)
    try:
        return int(news2(News2Input(**{**_SCORES_ZERO, field: reading})).value)
    except (InvalidInput, ValidationError):
        return None
