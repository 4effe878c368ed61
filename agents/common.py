"""Small helpers every specialist uses: decode the task, turn model key points into claims."""

from __future__ import annotations

from typing import Any

# typing's TypedDict gives pydantic (and so LangGraph Studio's input schema) nothing on 3.11
from typing_extensions import TypedDict

from agents.report import ModelNote
from core.domain import Citation, CitationKind, Claim, Finding, PatientRecord


class SpecialistTask(TypedDict):
    """What a specialist is asked to do: the payload ``route`` sends it (LangGraph ``Send``), and
    the input of its subgraph (``graphs.specialists``)."""

    specialist: str
    question: str
    language: str
    """'en' or 'zh-TW': the specialist writes in the question's language."""
    record: dict[str, Any]
    """The parsed ``PatientRecord``, dumped (``record_of`` turns it back)."""
    context: str
    """The shared patient context block, first and byte-identical in every prompt."""
    deadline_at: float
    """Epoch seconds after which model steps are abandoned (the round deadline)."""


def record_of(task: SpecialistTask) -> PatientRecord:
    return PatientRecord.model_validate(task["record"])


def citation_for(ref: str) -> Citation:
    ref = ref.strip().strip("[]")
    kind: CitationKind = "fhir"
    if ref.startswith("kg:"):
        kind = "kg"
    elif ref.startswith("image:"):
        kind = "image"
    elif ref.startswith("calc:"):
        kind = "calc"
    return Citation(kind=kind, ref=ref)


def claims_of(note: ModelNote | None) -> list[Claim]:
    if note is None:
        return []
    return [
        Claim(text=p.text, citations=tuple(citation_for(c) for c in p.citations if c.strip()))
        for p in note.key_points
    ]


DIGEST_ITEMS = 10
HEADINGS = {
    "en": ("Findings computed by rules (not by the model):", "Degraded mode"),
    "zh-TW": ("規則計算的發現（非模型生成）：", "降級模式"),
}
"""Per answer language: the heading of the rules' findings listed under every answer, and the
word that opens a degraded answer."""
DIGEST_CHARS = 200


def findings_digest(findings: list[Finding], limit: int = DIGEST_ITEMS) -> str:
    """The most severe findings, briefly, for a prompt: short prompts keep CPU models usable.

    Every finding still reaches the answer verbatim; this only bounds what the model reads.
    """
    if not findings:
        return "(no rule-based findings)"
    ranked = sorted(findings, key=lambda f: -f.severity.rank)
    lines = [
        f"- [{f.severity.value}] {f.summary[:DIGEST_CHARS]} "
        f"(cite: {', '.join(c.ref for c in f.citations[:4])})"
        for f in ranked[:limit]
    ]
    if len(ranked) > limit:
        lines.append(f"- ... and {len(ranked) - limit} less severe findings")
    return "\n".join(lines)
