"""What the router and the synthesizer know of a thread's earlier questions.

A follow-up ("And the potassium?", "那鉀呢？") means little without what came before it. The last
``MAX_TURNS`` turns of the thread (each question, and its answer's prose, without the findings
listing, cut to ``ANSWER_CHARS``) go into
the router's and the synthesizer's user message: after the shared patient context, which stays
first and byte-identical in every prompt for the server's prefix cache, and before the new
question. The specialists get the new question only: their deterministic tools read the record,
not the conversation, and their prompts stay short. A thread's first question gets exactly the
prompt it got before threads had memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NotRequired

# typing's TypedDict gives pydantic (and so LangGraph Studio's input schema) nothing on 3.11
from typing_extensions import TypedDict

from agents.common import HEADINGS

MAX_TURNS = 3
"""Earlier turns shown (the most recent ones)."""
ANSWER_CHARS = 400
"""Each earlier answer is cut to this many characters."""


class ThreadTurn(TypedDict):
    """One question on a thread and its answer (``run_id``: the run that answered it; turns
    held outside the thread, such as a chat client's history, have none)."""

    question: str
    answer: str
    run_id: NotRequired[str]


def earlier_turns(turns: Sequence[ThreadTurn]) -> str:
    """The block that precedes the new question ('' on a thread's first question)."""
    recent = [t for t in turns if t.get("question")][-MAX_TURNS:]
    if not recent:
        return ""
    lines = ["Earlier in this thread (oldest first):"]
    for turn in recent:
        answer = " ".join(_prose(str(turn.get("answer") or "")).split())
        if len(answer) > ANSWER_CHARS:
            answer = answer[: ANSWER_CHARS - 1].rstrip() + "…"
        lines += [f"Q: {turn['question']}", f"A: {answer or '(no answer)'}"]
    return "\n".join(lines) + "\n\n"


def _prose(answer: str) -> str:
    """The answer without the rules' findings listed under it (the new round lists the findings
    afresh); the whole answer when there is nothing before the listing."""
    prose = answer
    for rules_heading, _ in HEADINGS.values():
        prose = prose.split(rules_heading, 1)[0]
    return prose.strip() or answer
