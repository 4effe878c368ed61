"""Router: which specialists does this question need?

A small structured model call decides; a deterministic keyword rule (English and Traditional
Chinese) is the fallback when the model is missing or fails. The safety-net specialists (labs,
guideline) always run: their deterministic findings must reach every answer.

The router's model sees **no text from the record** (issue 17: an instruction planted in a note
changed the real model's choice of specialists): only ``record_facts``, counts of each kind of
data the record holds, computed here from the parsed record, then the thread's earlier
*questions* (a clinician's words, not the answers, which may quote the record) and the question.
The shared patient context (notes, problem and medication names) goes to the specialists and the
synthesizer only, fenced as data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from agents.consult import consult_structured
from agents.conversation import MAX_TURNS, ThreadTurn
from agents.deps import WardRoundDeps

SpecialistName = Literal["history", "labs", "imaging", "guideline"]
ALL: tuple[SpecialistName, ...] = ("history", "labs", "imaging", "guideline")
ALWAYS: tuple[SpecialistName, ...] = ("labs", "guideline")

KEYWORDS: dict[SpecialistName, tuple[str, ...]] = {
    "history": ("history", "summary", "summar", "background", "timeline", "病史", "摘要", "經過"),
    "imaging": (
        "x-ray", "xray", "cxr", "radiograph", "ct", "mri", "scan", "image", "imaging", "film",
        "影像", "x光", "胸片", "電腦斷層",
    ),
}  # fmt: skip
_CJK = re.compile(r"[\u3400-\u9fff]")


class RouteDecision(BaseModel):
    specialists: list[SpecialistName] = Field(description="specialists needed for the question")


def language_of(question: str) -> str:
    return "zh-TW" if _CJK.search(question) else "en"


def keyword_route(question: str, has_imaging: bool) -> list[SpecialistName]:
    q = question.lower()
    chosen = set(ALWAYS)
    for name, words in KEYWORDS.items():
        if any(re.search(rf"(?<![a-z]){re.escape(w)}", q) for w in words):
            chosen.add(name)
    if "history" not in chosen and len(chosen) == len(ALWAYS):
        chosen.add("history")  # a general question gets the summary too
    if not has_imaging:
        chosen.discard("imaging")
    return [n for n in ALL if n in chosen]


ROUTER_PROMPT = (
    "Role: router. Choose which specialists are needed to answer the question: history "
    "(problems, medications, notes), labs (results and trends), imaging (radiology images), "
    "guideline (drug safety, interactions, guideline advice). You are told what kinds of data "
    "the record holds (counts), not the record itself."
)
RECORD_KINDS: tuple[tuple[str, str], ...] = (
    ("problems", "problems"),
    ("medications", "medications"),
    ("allergies", "allergies"),
    ("observations", "results"),
    ("notes", "notes"),
    ("imaging", "imaging studies"),
    ("encounters", "encounters"),
)
"""The record's lists (``PatientRecord`` fields, as dumped into the round's state) and their names
in the router's facts."""


def record_facts(record: Mapping[str, Any]) -> str:
    """What the router knows of the record: how many of each kind of data it holds, and whether
    the patient is recorded as deceased. Numbers and fixed words only, never the record's text."""
    lines = ["Record holds:"]
    for field, name in RECORD_KINDS:
        items = record.get(field) or ()
        lines.append(f"- {name}: {len(items) if isinstance(items, Sequence) else 0}")
    patient = record.get("patient") or {}
    if isinstance(patient, Mapping) and patient.get("deceased"):
        lines.append("- the patient is recorded as deceased")
    return "\n".join(lines)


def earlier_questions(turns: Sequence[ThreadTurn]) -> str:
    """The thread's last questions, oldest first ('' on a first question): the clinician's own
    words. Earlier answers are left out: they may quote the record."""
    asked = [str(t["question"]) for t in turns if t.get("question")][-MAX_TURNS:]
    if not asked:
        return ""
    return "\n".join(["Earlier questions in this thread (oldest first):", *asked]) + "\n\n"


def router_messages(
    record: Mapping[str, Any], question: str, earlier: Sequence[ThreadTurn] = ()
) -> list[dict[str, str]]:
    """The router's whole model request: its role, the record's facts, the question."""
    history = earlier_questions(earlier)
    return [
        {"role": "system", "content": ROUTER_PROMPT},
        {"role": "system", "content": record_facts(record)},
        {"role": "user", "content": f"{history}Question: {question}" if history else question},
    ]


async def route(
    deps: WardRoundDeps,
    record: Mapping[str, Any],
    question: str,
    has_imaging: bool,
    deadline_at: float,
    *,
    earlier: Sequence[ThreadTurn] = (),
) -> tuple[list[SpecialistName], str]:
    """The specialists to run, and whether the 'model' or the 'rule' chose them. ``record``: the
    parsed record as in the round's state (only its counts reach the model, ``record_facts``);
    ``earlier``: the thread's previous turns, so a follow-up can be routed."""
    messages = router_messages(record, question, earlier)
    decision = await consult_structured(
        deps, messages, RouteDecision, name="router", deadline_at=deadline_at, max_tokens=60
    )
    if decision.value is None:
        return keyword_route(question, has_imaging), "rule"
    chosen = set(decision.value.specialists) | set(ALWAYS)
    if not has_imaging:
        chosen.discard("imaging")
    return [n for n in ALL if n in chosen], "model"
