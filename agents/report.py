"""What a specialist hands back: its findings, its model-written notes, and how it went."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.domain import Claim, Finding


# Length bounds are part of the JSON schema the server constrains decoding with: they let a small
# model that would ramble close its JSON within a reply-token cap, and they suit the brief notes
# a ward team reads.
class KeyPoint(BaseModel):
    """A model-written statement with the reference ids it rests on."""

    text: str = Field(description="one sentence", max_length=240)
    citations: list[str] = Field(
        default_factory=list,
        max_length=4,
        description="reference ids from the record, e.g. Observation/obs-1",
    )


class ModelNote(BaseModel):
    """The structured reply every specialist asks its model for."""

    summary: str = Field(description="two or three sentences for the ward team", max_length=600)
    key_points: list[KeyPoint] = Field(default_factory=list, max_length=4)


class SpecialistReport(BaseModel):
    specialist: str
    summary: str = ""
    findings: list[Finding] = Field(default_factory=list)
    key_points: list[Claim] = Field(default_factory=list)
    degraded_reason: str | None = None
    """Set when the model part did not run or failed; the deterministic part always runs."""
    duration_ms: float = 0.0
    model_calls: int = 0
