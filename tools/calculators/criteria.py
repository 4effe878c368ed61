"""Shared helpers of point scores: criteria left out count as absent, and the result says so."""

from __future__ import annotations

from tools.calculators.base import CalcInput


def assumed_absent(params: CalcInput, criteria: tuple[str, ...]) -> tuple[str, ...]:
    """A warning naming the yes/no criteria that were not given (and so scored as absent)."""
    missing = [name for name in criteria if name not in params.model_fields_set]
    if not missing:
        return ()
    return ("not given, scored as absent: " + ", ".join(missing),)


def boolean_fields(params: CalcInput) -> tuple[str, ...]:
    """The input model's yes/no criteria, in declaration order."""
    return tuple(
        name for name, field in type(params).model_fields.items() if field.annotation is bool
    )
