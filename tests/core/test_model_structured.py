"""Structured output with validation and one repair; the bounded tool loop."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from core.errors import ModelOutputInvalid, ToolLoopExceeded
from core.model.replies import Reply
from core.model.structured import extract_json, structured
from core.model.tools import Tool, run_tools
from core.model.transcript_server import Fault
from core.model.types import ModelCapabilities


class Triage(BaseModel):
    risk: Literal["low", "high"]
    reason: str


MSG = [{"role": "user", "content": "K 6.4 mmol/L on ramipril and spironolactone"}]
GOOD = {"risk": "high", "reason": "hyperkalaemia on two potassium-raising drugs"}


async def test_structured_uses_openai_json_schema_where_supported(scripted_model) -> None:
    server, client = scripted_model(lambda body: Reply.json(GOOD))
    result = await structured(client, MSG, Triage, name="triage")
    assert result == Triage(**GOOD)
    fmt = server.requests[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["schema"]["properties"]["risk"]["enum"] == ["low", "high"]


async def test_structured_on_llama_cpp_profile_uses_json_object_with_schema(scripted_model) -> None:
    llama = ModelCapabilities(tools=True, structured="json_object_schema")
    server, client = scripted_model(lambda body: Reply.json(GOOD), profile=llama, probe=True)
    assert (await client.capabilities()).structured == "json_object_schema"
    await structured(client, MSG, Triage, name="triage")
    fmt = server.requests[0]["response_format"]
    assert fmt == {"type": "json_object", "schema": Triage.model_json_schema()}


async def test_prompt_mode_puts_schema_in_prompt_and_parses_fenced_json(scripted_model) -> None:
    none = ModelCapabilities(tools=False, structured="prompt")
    reply = "Here you go:\n```json\n" + json.dumps(GOOD) + "\n```"
    server, client = scripted_model(lambda body: Reply.text(reply), profile=none)
    assert (await structured(client, MSG, Triage, name="triage")).risk == "high"
    assert "response_format" not in server.requests[0]
    assert "JSON schema" in server.requests[0]["messages"][-1]["content"]


async def test_invalid_json_is_repaired_once(scripted_model) -> None:
    server, client = scripted_model(lambda body: Reply.json(GOOD))
    server.inject(Fault("invalid_json"))
    assert await structured(client, MSG, Triage, name="triage") == Triage(**GOOD)
    assert len(server.requests) == 2
    repair = server.requests[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": '{"answer": "unterminated'}
    assert "not valid" in repair[-1]["content"]


async def test_still_invalid_after_repair_is_a_typed_error(scripted_model) -> None:
    server, client = scripted_model(lambda body: Reply.json({"risk": "medium", "reason": "x"}))
    with pytest.raises(ModelOutputInvalid, match=r"triage.*after one repair attempt.*risk") as info:
        await structured(client, MSG, Triage, name="triage")
    assert "medium" in info.value.raw
    assert len(server.requests) == 2


def test_extract_json_finds_the_object_inside_prose() -> None:
    assert json.loads(extract_json('Sure! {"a": {"b": 1}} hope this helps')) == {"a": {"b": 1}}


# --- tool loop ------------------------------------------------------------------------------


class PotassiumArgs(BaseModel):
    value: float


def potassium_flag(args: PotassiumArgs) -> dict[str, Any]:
    return {"flag": "HH" if args.value >= 6.0 else "N"}


TOOLS = [Tool("potassium_flag", "Flag a potassium value in mmol/L", PotassiumArgs, potassium_flag)]


def tool_then_answer(body: dict[str, Any]) -> Reply:
    last = body["messages"][-1]
    if last["role"] == "tool":
        return Reply.text("Potassium is critically high: " + last["content"])
    return Reply.tool("potassium_flag", {"value": 6.4})


async def test_tool_loop_runs_tool_and_returns_final_text(scripted_model) -> None:
    server, client = scripted_model(tool_then_answer)
    result = await run_tools(client, MSG, TOOLS, first_tool="potassium_flag")
    assert result.final_text == 'Potassium is critically high: {"flag": "HH"}'
    assert result.calls[0].result == {"flag": "HH"}
    first = server.requests[0]
    assert first["tool_choice"] == {"type": "function", "function": {"name": "potassium_flag"}}
    assert server.requests[1]["tool_choice"] == "auto"


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (Reply.tool("order_ct_scan", {}), "unknown tool 'order_ct_scan'"),
        (Reply.tool("potassium_flag", {"value": "high"}), "invalid arguments"),
        (Reply.tool("potassium_flag", "{not json"), "invalid arguments"),
    ],
)
async def test_bad_tool_calls_are_answered_with_an_error(scripted_model, call, error) -> None:
    def script(body: dict[str, Any]) -> Reply:
        last = body["messages"][-1]
        return Reply.text("gave up: " + last["content"]) if last["role"] == "tool" else call

    _, client = scripted_model(script)
    result = await run_tools(client, MSG, TOOLS)
    assert result.calls[0].error is not None
    assert error in result.calls[0].error
    assert result.final_text.startswith("gave up:")


async def test_endless_tool_loop_is_bounded(scripted_model) -> None:
    server, client = scripted_model(lambda body: Reply.tool("potassium_flag", {"value": 5.0}))
    with pytest.raises(ToolLoopExceeded, match="after 3 steps"):
        await run_tools(client, MSG, TOOLS, max_steps=3)
    assert len(server.requests) == 3


async def test_without_tool_support_the_loop_is_one_plain_call(scripted_model) -> None:
    server, client = scripted_model(
        lambda body: Reply.text("plain"), profile=ModelCapabilities(tools=False)
    )
    result = await run_tools(client, MSG, TOOLS)
    assert result.final_text == "plain"
    assert "tools" not in server.requests[0]


async def test_raw_newlines_inside_strings_need_no_repair(scripted_model) -> None:
    reply = '{"risk": "high", "reason": "K 6.4\n on ACE inhibitor"}'  # as llama.cpp emits it
    server, client = scripted_model(lambda body: Reply.text(reply))
    result = await structured(client, MSG, Triage, name="triage")
    assert result.reason == "K 6.4\n on ACE inhibitor"
    assert len(server.requests) == 1
