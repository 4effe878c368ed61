"""Router: which specialists does this question need?

A small structured model call decides; a deterministic keyword rule (English and Traditional
Chinese) is the fallback when the model is missing or fails. The safety-net specialists (labs,
guideline) always run: their deterministic findings must reach every answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from agents.consult import consult_structured
from agents.conversation import earlier_turns
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
    "guideline (drug safety, interactions, guideline advice)."
)


async def route(
    deps: WardRoundDeps,
    context: str,
    question: str,
    has_imaging: bool,
    deadline_at: float,
    *,
    earlier: Sequence[Mapping[str, Any]] = (),
) -> tuple[list[SpecialistName], str]:
    """The specialists to run, and whether the 'model' or the 'rule' chose them. ``earlier``:
    the thread's previous turns (``agents.conversation``), so a follow-up can be routed."""
    history = earlier_turns(earlier)
    messages = [
        {"role": "system", "content": context},
        {"role": "system", "content": ROUTER_PROMPT},
        {"role": "user", "content": f"{history}Question: {question}" if history else question},
    ]
    decision = await consult_structured(
        deps, messages, RouteDecision, name="router", deadline_at=deadline_at, max_tokens=60
    )
    if decision.value is None:
        return keyword_route(question, has_imaging), "rule"
    chosen = set(decision.value.specialists) | set(ALWAYS)
    if not has_imaging:
        chosen.discard("imaging")
    return [n for n in ALL if n in chosen], "model"
