"""A thread's earlier turns, as the router and the synthesizer see them (after the shared patient
context, before the new question); a first question's prompts are unchanged. The graph-level
test (a follow-up on a thread) is in tests/graphs/test_ward_round.py."""

from __future__ import annotations

from typing import Any

from agents.conversation import ANSWER_CHARS, MAX_TURNS, earlier_turns
from agents.synthesizer import synthesis_messages


def turn(n: int, answer: str = "") -> dict[str, Any]:
    return {"run_id": f"run-{n}", "question": f"question {n}?", "answer": answer or f"answer {n}."}


def test_a_first_question_has_no_earlier_block() -> None:
    assert earlier_turns([]) == ""
    first = synthesis_messages("CTX", "Why?", "en", [], [])
    assert first[-1]["content"].endswith("Specialist notes:\n\n\nQuestion: Why?")


def test_the_last_turns_oldest_first_with_long_answers_cut() -> None:
    turns = [turn(n) for n in range(1, 6)]
    turns[-1] = turn(5, "x" * (ANSWER_CHARS * 2))
    block = earlier_turns(turns)
    assert block.startswith("Earlier in this thread (oldest first):\n")
    assert block.endswith("\n\n")
    asked = [line for line in block.splitlines() if line.startswith("Q: ")]
    assert asked == [f"Q: question {n}?" for n in range(6 - MAX_TURNS, 6)]
    last_answer = block.rstrip("\n").splitlines()[-1]
    assert last_answer == "A: " + "x" * (ANSWER_CHARS - 1) + "…"


def test_the_block_sits_between_the_notes_and_the_question() -> None:
    messages = synthesis_messages("CTX", "And the potassium?", "en", [], [], earlier=[turn(1)])
    assert messages[0] == {"role": "system", "content": "CTX"}  # the shared prefix, unchanged
    user = messages[-1]["content"]
    assert user.index("Specialist notes:") < user.index("Q: question 1?")
    assert user.index("A: answer 1.") < user.index("Question: And the potassium?")


def test_an_earlier_answer_is_its_prose_without_the_findings_listing() -> None:
    listed = "Stop the ibuprofen.\n\nFindings computed by rules (not by the model):\n1. [HIGH] x"
    assert "A: Stop the ibuprofen." in earlier_turns([turn(1, listed)])
    assert "[HIGH]" not in earlier_turns([turn(1, listed)])
    zh = "停用布洛芬。\n\n規則計算的發現（非模型生成）：\n1. [HIGH] x"
    assert "A: 停用布洛芬。" in earlier_turns([turn(1, zh)])
    only_listing = "Findings computed by rules (not by the model):\n1. [HIGH] x"
    assert "A: Findings computed by rules" in earlier_turns([turn(1, only_listing)])
