"""Synthesizer: one answer for the ward team, in the question's language, findings by severity.

The model writes the prose; it cannot remove or downgrade a rule finding: the rule findings
follow the prose as problem cards by tier (``agents.cards``: Act now and Review with every
finding and its citations, For information collapsed); every finding stays in the result. A
verifier keeps only citations that resolve to the record, the KG facts the round used, or an
image; a claim left with a citation that does not resolve loses it and is marked
``supported: false``.

The model's reply streams: the ``answer`` field's text goes out on LangGraph's custom stream as it
is written (``{"kind": "answer_delta", "text": ...}``; ``{"kind": "answer_restart"}`` when a repair
starts over), so a reader sees the answer grow before the round ends. What streamed is a preview:
the node's ``answer`` (validated, with the cards appended) is the answer of record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from langgraph.config import get_stream_writer
from pydantic import BaseModel, Field

from agents.cards import Card, cards_block
from agents.cards.words import frame
from agents.common import DIGEST_CHARS, claims_of, findings_digest
from agents.consult import LANGUAGE_NAMES, consult_structured
from agents.conversation import ThreadTurn, earlier_turns
from agents.deps import WardRoundDeps
from agents.record_status import deceased_line
from agents.report import KeyPoint, ModelNote, SpecialistReport
from core.domain import Claim, Finding, PatientRecord
from core.model.structured import Preview


class Synthesis(BaseModel):
    answer: str = Field(description="the answer to the question, a short paragraph", max_length=900)
    claims: list[KeyPoint] = Field(default_factory=list, max_length=5)


def ranked(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first; a deceased patient is said before anything else."""
    return sorted(
        findings, key=lambda f: (f.kind != "deceased", -f.severity.rank, f.origin != "rule", f.id)
    )


def known_refs(record: PatientRecord, findings: Iterable[Finding]) -> frozenset[str]:
    refs = set(record.refs())
    for f in findings:
        refs.update(c.ref for c in f.citations)
    for study in record.imaging:
        refs.update(f"image:{study.ref}#{i}" for i in range(len(study.dicom_files)))
    return frozenset(refs)


def verify_claims(claims: Iterable[Claim], known: frozenset[str]) -> tuple[list[Claim], int]:
    """Drop citations that do not resolve; a claim that lost one is ``supported=False``."""
    verified, rejected = [], 0
    for claim in claims:
        good = tuple(c for c in claim.citations if c.ref in known)
        lost = len(claim.citations) - len(good)
        rejected += lost
        verified.append(claim.model_copy(update={"citations": good, "supported": lost == 0}))
    return verified, rejected


SYNTHESIS_FINDINGS = 12
ANSWER_DELTA = "answer_delta"
ANSWER_RESTART = "answer_restart"


class AnswerStream:
    """Passes the streamed answer on as its final, stripped form will read.

    The answer of record is ``answer.strip()``: leading whitespace is never passed on and
    whitespace is held back until more text follows it, so the deltas add up to exactly the
    stripped answer when the reply is valid.
    """

    def __init__(self, write: Callable[[Any], None]) -> None:
        self._write = write
        self._started = False
        self._held = ""

    def text(self, delta: str) -> None:
        if not self._started:
            delta = delta.lstrip()
            if not delta:
                return
            self._started = True
        body = delta.rstrip()
        if not body:
            self._held += delta
            return
        self._write({"kind": ANSWER_DELTA, "text": self._held + body})
        self._held = delta[len(body) :]

    def restart(self) -> None:
        self._started, self._held = False, ""
        self._write({"kind": ANSWER_RESTART})

    def preview(self) -> Preview:
        return Preview(field="answer", on_text=self.text, on_restart=self.restart)


def answer_preview() -> Preview | None:
    """A preview feeding the running graph's custom stream; None outside a graph run."""
    try:
        write = get_stream_writer()
    except RuntimeError:  # called outside a graph (a tool, a test): nobody to stream to
        return None
    return AnswerStream(write).preview()


def synthesis_messages(
    context: str,
    question: str,
    language: str,
    reports: list[SpecialistReport],
    findings: list[Finding],
    *,
    earlier: Sequence[ThreadTurn] = (),
) -> list[dict[str, str]]:
    notes = [f"- {r.specialist}: {r.summary[:DIGEST_CHARS]}" for r in reports]
    lang = LANGUAGE_NAMES.get(language, "English")
    return [
        {"role": "system", "content": context},
        {
            "role": "system",
            "content": "Role: synthesizer. Answer the ward team's question in one short "
            f"paragraph in {lang}, most severe findings first, citing reference ids.",
        },
        {
            "role": "user",
            "content": "Findings:\n"
            + findings_digest(findings, limit=SYNTHESIS_FINDINGS)
            + "\nSpecialist notes:\n"
            + "\n".join(notes)
            + "\n\n"
            + earlier_turns(earlier)
            + f"Question: {question}",
        },
    ]


def degraded_summary(
    reports: Sequence[SpecialistReport], cards: Sequence[Card], language: str
) -> str:
    """What the specialists found, without the model: their notes in English; in another
    language the notes a model wrote in it, and the rules' counts framed in that language (the
    specialists' own rule-only summaries are English)."""
    if language == "en":
        return " ".join(r.summary for r in reports if r.summary)
    written = [r.summary for r in reports if r.summary and r.model_calls > 0]
    counted = frame(language)["counted"].format(
        findings=sum(len(c.finding_ids) for c in cards),
        cards=len(cards),
        act_now=sum(1 for c in cards if c.tier == "act_now"),
    )
    return " ".join([*written, counted])


async def synthesize(
    deps: WardRoundDeps,
    *,
    context: str,
    question: str,
    language: str,
    record: PatientRecord,
    reports: list[SpecialistReport],
    findings: list[Finding],
    cards: Sequence[Card],
    deadline_at: float,
    earlier: Sequence[ThreadTurn] = (),
) -> tuple[str, list[Claim], int, str | None]:
    """(answer, verified claims, rejected citation count, degraded reason or None); ``earlier``
    is the thread's previous turns (``agents.conversation``). The degraded reason goes to the
    result and the audit trail; the answer says only that the model was unavailable."""
    order = ranked(findings)
    messages = synthesis_messages(context, question, language, reports, order, earlier=earlier)
    result = await consult_structured(
        deps,
        messages,
        Synthesis,
        name="synthesizer",
        deadline_at=deadline_at,
        max_tokens=500,
        preview=answer_preview(),
    )
    block = cards_block(cards, language)
    if result.value is None:
        prose = f"{frame(language)['degraded']} {degraded_summary(reports, cards, language)}"
        first = deceased_line(record, language)
        return "\n\n".join(p for p in (first, prose, block) if p), [], 0, result.degraded_reason
    claims = claims_of(ModelNote(summary="", key_points=result.value.claims))
    for report in reports:
        claims.extend(report.key_points)
    verified, rejected = verify_claims(claims, known_refs(record, order))
    answer = "\n\n".join(
        p for p in (deceased_line(record, language), result.value.answer.strip(), block) if p
    )
    return answer, verified, rejected, None
