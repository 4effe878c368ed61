"""Shared helpers of point scores: weighted criteria, the result every point score returns, and
criteria left out counting as absent (the result says so)."""

from __future__ import annotations

from collections.abc import Mapping

from tools.calculators.base import CalcInput, CalcResult, Source


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


def weighted_points(params: CalcInput, weights: Mapping[str, float]) -> dict[str, float]:
    """Each criterion's points from a published points table: its weight if present, else 0."""
    return {name: float(weight * getattr(params, name)) for name, weight in weights.items()}


def point_score(
    calculator: str,
    params: CalcInput,
    points: dict[str, float],
    source: Source,
    *,
    category: str,
    interpretation: str,
    conversions: tuple[str, ...] = (),
) -> CalcResult:
    """The result of a point score: the sum of ``points``, each criterion's points as components,
    and a warning naming the yes/no criteria that were not given (scored as absent)."""
    return CalcResult(
        calculator=calculator,
        value=int(sum(points.values())),
        unit="{score}",
        category=category,
        interpretation=interpretation,
        components=points,
        inputs=params.model_dump(mode="json"),
        conversions=conversions,
        warnings=assumed_absent(params, boolean_fields(params)),
        source=source.cite(),
    )
