"""Prognosis with published, validated models only (ARCHITECTURE.md section 10).

Each model returns a :class:`Prognosis`: the outcome, its horizon, the published probability (or
rate) with its source, the cohort the model was derived and validated in, the inputs it used and
those imputed or missing. A patient outside the model's population (age, eGFR range, dialysis)
gets a Prognosis with ``applied=False`` and the reason, never a number.
"""

from __future__ import annotations

from tools.prognosis.base import Prognosis, not_applied
from tools.prognosis.kidney import KfreInput, kfre
from tools.prognosis.tables import (
    cha2ds2_vasc_stroke_rate,
    curb65_mortality,
    has_bled_bleeding_rate,
    meld_mortality,
    padua_vte_risk,
)

__all__ = [
    "KfreInput",
    "Prognosis",
    "cha2ds2_vasc_stroke_rate",
    "curb65_mortality",
    "has_bled_bleeding_rate",
    "kfre",
    "meld_mortality",
    "not_applied",
    "padua_vte_risk",
]
