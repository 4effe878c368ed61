"""The official openai client against the facade, streaming and not."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest
from openai import AsyncOpenAI

from tests.server.conftest import OTHER, OWN, Server


@pytest.fixture
async def client(server: Server) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(
        base_url="http://testserver/v1",
        api_key=server.tokens["clinician"],
        http_client=server.client,
        max_retries=0,
    ) as oai:
        yield oai


async def test_models_list_the_callers_patients(client: AsyncOpenAI) -> None:
    models = await client.models.list()
    ids = [m.id for m in models.data]
    assert ids[0] == "wardround"
    assert f"wardround/{OWN}" in ids
    assert f"wardround/{OTHER}" not in ids  # not on this clinician's wards


async def test_the_model_name_picks_the_patient(client: AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(
        model=f"wardround/{OWN}", messages=[{"role": "user", "content": "Q-11"}]
    )
    assert (reply.model_extra or {})["wardround"]["patient_id"] == OWN
    with pytest.raises(openai.NotFoundError):  # off the wards, whichever way it is named
        await client.chat.completions.create(
            model=f"wardround/{OTHER}", messages=[{"role": "user", "content": "Q-12"}]
        )


async def test_chat_completion(client: AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(
        model="wardround",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "earlier"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "Why is the creatinine rising? Q-5"},
        ],
        metadata={"patient_id": OWN},
    )
    text = reply.choices[0].message.content or ""
    assert text.startswith("Answer for Q-5.")
    assert "Citations:" in text
    assert reply.choices[0].finish_reason == "stop"
    extra = (reply.model_extra or {})["wardround"]
    assert extra["patient_id"] == OWN
    assert {"aki_stage"} <= {f["kind"] for f in extra["findings"]}
    # the text lists the cards by tier, Act now first; the extension carries them
    assert text.index("Act now\n") < text.index("Review\n") < text.index("For information")
    assert extra["cards"][0]["tier"] == "act_now"
    assert extra["cards"][0]["summary"] in text
    assert extra["claims"]
    assert reply.usage is not None
    assert reply.usage.total_tokens > 0


async def test_chat_completion_stream_with_header(client: AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model="wardround",
        messages=[{"role": "user", "content": "Summarise Q-6"}],
        stream=True,
        extra_headers={"X-Wardround-Patient": OWN},
    )
    text, extension = "", None
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        extension = (chunk.model_extra or {}).get("wardround", extension)
    assert text.startswith("Answer for Q-6.")
    assert extension is not None
    assert extension["patient_id"] == OWN


async def test_continue_a_thread(client: AsyncOpenAI) -> None:
    first = await client.chat.completions.create(
        model="wardround",
        messages=[{"role": "user", "content": "Q-1"}],
        metadata={"patient_id": OWN},
    )
    thread = (first.model_extra or {})["wardround"]["thread_id"]
    second = await client.chat.completions.create(
        model="wardround",
        messages=[{"role": "user", "content": "Q-2"}],
        metadata={"thread_id": thread},
    )
    assert (second.model_extra or {})["wardround"]["thread_id"] == thread


async def test_a_chat_uis_history_gives_a_new_thread_its_context(
    client: AsyncOpenAI, server: Server
) -> None:
    """A chat UI sends the whole conversation and no thread id: the new thread starts with the
    earlier question and answer, which the router and synthesizer then see; a continued thread
    uses its own turns, not the history the client resends."""
    history = [
        {"role": "system", "content": "You are a ward assistant."},
        {"role": "user", "content": "Why is the creatinine rising? Q-41"},
        {"role": "assistant", "content": "Answer for Q-41. NSAID plus ACE inhibitor."},
        {"role": "user", "content": "And the potassium? Q-42"},
    ]
    reply = await client.chat.completions.create(
        model="wardround", messages=history, metadata={"patient_id": OWN}
    )
    assert (reply.choices[0].message.content or "").startswith("Answer for Q-42.")
    bodies = server.model_server.requests
    synthesizer = next(
        b for b in reversed(bodies) if b["response_format"]["json_schema"]["name"] == "synthesizer"
    )
    prompt = synthesizer["messages"][-1]["content"]
    assert "Q: Why is the creatinine rising? Q-41" in prompt
    assert "A: Answer for Q-41. NSAID plus ACE inhibitor." in prompt
    assert prompt.endswith("Question: And the potassium? Q-42")
    assert "You are a ward assistant" not in prompt  # system messages are not turns
    thread = (reply.model_extra or {})["wardround"]["thread_id"]
    read = await server.client.get(f"/v1/threads/{thread}", headers=server.auth("clinician"))
    asked = [m["content"] for m in read.json()["messages"] if m["role"] == "user"]
    assert asked == ["Why is the creatinine rising? Q-41", "And the potassium? Q-42"]

    again = await client.chat.completions.create(
        model="wardround",
        messages=[*history, {"role": "user", "content": "Anything else? Q-43"}],
        metadata={"thread_id": thread},
    )
    assert (again.choices[0].message.content or "").startswith("Answer for Q-43.")
    read = await server.client.get(f"/v1/threads/{thread}", headers=server.auth("clinician"))
    asked = [m["content"] for m in read.json()["messages"] if m["role"] == "user"]
    assert asked == [  # the resent history was not added twice
        "Why is the creatinine rising? Q-41",
        "And the potassium? Q-42",
        "Anything else? Q-43",
    ]


async def test_errors_surface_as_openai_errors(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        await client.chat.completions.create(
            model="wardround",
            messages=[{"role": "user", "content": "Q-3"}],
            metadata={"patient_id": OTHER},  # off this clinician's wards: 404
        )
    with pytest.raises(openai.NotFoundError, match="gpt-4o"):
        await client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "x"}],
            metadata={"patient_id": OWN},
        )
