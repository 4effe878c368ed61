"""What every prognostic model returns: a sourced probability, or why it was not applied."""

from __future__ import annotations

from pydantic import Field, JsonValue

from core.domain import Citation, Frozen


class Prognosis(Frozen):
    """One validated model's answer for one patient."""

    model: str = Field(description="registry-style name, e.g. 'kfre_4_variable'")
    outcome: str = Field(
        description="what is predicted, e.g. 'kidney failure (dialysis or transplant)'"
    )
    horizon: str = Field(description="e.g. '2 years', 'per year', '30 days'")
    applied: bool = True
    probability: float | None = Field(default=None, description="0-1; None when not applied")
    statement: str = Field(description="the sentence a ward reads, with the number and its source")
    cohort: str = Field(description="where the model was derived and validated")
    inputs: dict[str, JsonValue] = Field(default_factory=dict, description="the inputs used")
    missing: tuple[str, ...] = Field(default=(), description="inputs imputed or not available")
    not_applied_reason: str = ""
    source: str = Field(description="citation of the published model or table")
    evidence: tuple[str, ...] = Field(default=(), description="record refs the inputs came from")

    def citation(self) -> Citation:
        label = f"{self.model}: {self.statement}"[:160]
        return Citation(kind="calc", ref=f"prognosis:{self.model}", label=label)


def not_applied(
    model: str, outcome: str, horizon: str, reason: str, *, cohort: str, source: str
) -> Prognosis:
    """The answer for a patient outside the model's population: the reason, never a number."""
    return Prognosis(
        model=model,
        outcome=outcome,
        horizon=horizon,
        applied=False,
        statement=f"{model} not applied: {reason}",
        cohort=cohort,
        not_applied_reason=reason,
        source=source,
    )


def percent(probability: float) -> str:
    return f"{probability * 100:.1f}%"
