"""The facade streams the synthesizer's tokens, and continues threads with scope rules enforced.

The official ``openai`` client is the caller throughout.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai import AsyncOpenAI

from core.model.transcript_server import Fault
from tests.server.conftest import OTHER, OWN, OWN_TOO, PAUSING, Server, sse_events


def oai(server: Server, who: str) -> AsyncOpenAI:
    """A client over the test's transport (not closed here: the fixture owns the transport)."""
    return AsyncOpenAI(
        base_url="http://testserver/v1",
        api_key=server.tokens[who],
        http_client=server.client,
        max_retries=0,
    )


@pytest.fixture
def client(server: Server) -> AsyncOpenAI:
    return oai(server, "clinician")


async def streamed(
    client: AsyncOpenAI, question: str, **kwargs: Any
) -> tuple[list[str], dict[str, Any], str | None]:
    """(content pieces, the wardround extension, the X-Wardround-Thread header)."""
    async with client.chat.completions.with_streaming_response.create(
        model="wardround",
        messages=[{"role": "user", "content": question}],
        stream=True,
        **kwargs,
    ) as response:
        header = response.headers.get("x-wardround-thread")
        pieces, extension = [], {}
        async for chunk in await response.parse():
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
            extension = (chunk.model_extra or {}).get("wardround", extension)
    return pieces, extension, header


async def test_the_stream_carries_the_answer_as_it_is_written(client: AsyncOpenAI) -> None:
    pieces, extension, header = await streamed(
        client, "Why is the creatinine rising? Q-21", extra_body={"metadata": {"patient_id": OWN}}
    )
    # the same question answered in one block, on a thread of its own
    whole = await client.chat.completions.create(
        model="wardround",
        messages=[{"role": "user", "content": "Why is the creatinine rising? Q-21"}],
        extra_body={"metadata": {"patient_id": OWN}},
    )
    text = whole.choices[0].message.content or ""
    assert "".join(pieces) == text
    assert len(pieces) >= 3  # the synthesizer's pieces, then the findings and citations
    assert "".join(pieces[:2]) == "Answer for Q-21."[: len("".join(pieces[:2]))]
    assert len(pieces[0]) < len("Answer for Q-21.")  # streamed, not one block
    assert header == extension["thread_id"]
    assert extension["patient_id"] == OWN
    assert extension["thread_id"] != (whole.model_extra or {})["wardround"]["thread_id"]


async def test_a_new_thread_is_named_in_header_and_extension(client: AsyncOpenAI) -> None:
    raw = await client.chat.completions.with_raw_response.create(
        model="wardround",
        messages=[{"role": "user", "content": "Q-22"}],
        extra_body={"metadata": {"patient_id": OWN}},
    )
    reply = raw.parse()
    thread = raw.headers["x-wardround-thread"]
    assert thread.startswith("thread-")
    assert (reply.model_extra or {})["wardround"]["thread_id"] == thread


async def test_metadata_or_header_continues_the_thread(server: Server, client: AsyncOpenAI) -> None:
    _, first, _ = await streamed(client, "Q-23", extra_body={"metadata": {"patient_id": OWN}})
    thread = first["thread_id"]
    by_meta = await client.chat.completions.create(
        model="wardround",
        messages=[{"role": "user", "content": "Q-24"}],
        extra_body={"metadata": {"thread_id": thread}},
    )
    assert (by_meta.model_extra or {})["wardround"]["thread_id"] == thread
    _, by_header, header = await streamed(
        client, "Q-25", extra_headers={"X-Wardround-Thread": thread}
    )
    assert by_header["thread_id"] == header == thread
    read = await server.client.get(f"/v1/threads/{thread}", headers=server.auth("clinician"))
    questions = [m["content"] for m in read.json()["messages"] if m["role"] == "user"]
    assert questions == ["Q-23", "Q-24", "Q-25"]


async def test_thread_scope_is_the_threads_apis(server: Server, client: AsyncOpenAI) -> None:
    _, first, _ = await streamed(client, "Q-26", extra_body={"metadata": {"patient_id": OWN}})
    thread = first["thread_id"]
    other_ward = oai(server, "clinician_b")
    for kwargs in (
        {"extra_body": {"metadata": {"thread_id": thread}}},
        {"extra_headers": {"X-Wardround-Thread": thread}},
    ):
        with pytest.raises(openai.NotFoundError, match="no thread"):
            await other_ward.chat.completions.create(
                model="wardround", messages=[{"role": "user", "content": "Q-27"}], **kwargs
            )
    auditor = oai(server, "auditor")
    with pytest.raises(openai.PermissionDeniedError):
        await auditor.chat.completions.create(
            model="wardround",
            messages=[{"role": "user", "content": "Q-28"}],
            extra_body={"metadata": {"thread_id": thread}},
        )
    with pytest.raises(openai.NotFoundError, match="no thread"):
        await client.chat.completions.create(  # the thread is about OWN, not OWN_TOO
            model="wardround",
            messages=[{"role": "user", "content": "Q-29"}],
            extra_body={"metadata": {"thread_id": thread, "patient_id": OWN_TOO}},
        )
    with pytest.raises(openai.NotFoundError, match="no thread"):
        await client.chat.completions.create(
            model="wardround",
            messages=[{"role": "user", "content": "Q-30"}],
            extra_body={"metadata": {"thread_id": "thread-0000000000000000"}},
        )
    with pytest.raises(openai.UnprocessableEntityError, match="different thread"):
        await client.chat.completions.create(
            model="wardround",
            messages=[{"role": "user", "content": "Q-31"}],
            extra_body={"metadata": {"thread_id": thread}},
            extra_headers={"X-Wardround-Thread": "thread-other"},
        )
    with pytest.raises(openai.NotFoundError):  # a patient off the wards, named by model
        await client.chat.completions.create(
            model=f"wardround/{OTHER}", messages=[{"role": "user", "content": "Q-32"}]
        )


async def test_a_question_on_a_paused_thread_is_answered_unless_strict(server: Server) -> None:
    lin = oai(server, "clinician_7a")
    first = await lin.chat.completions.create(
        model=f"wardround/{PAUSING}",
        messages=[{"role": "user", "content": "Can we give the co-amoxiclav?"}],
    )
    extension = (first.model_extra or {})["wardround"]
    thread = {"metadata": {"thread_id": extension["thread_id"]}}
    with pytest.raises(openai.ConflictError, match="waits for a decision"):
        await lin.chat.completions.create(
            model="wardround",
            messages=[{"role": "user", "content": "and now?"}],
            extra_body=thread,
            extra_headers={"X-Wardround-Strict": "true"},
        )
    again = await lin.chat.completions.create(
        model="wardround", messages=[{"role": "user", "content": "and now?"}], extra_body=thread
    )
    after = (again.model_extra or {})["wardround"]
    assert after["thread_id"] == extension["thread_id"]
    assert [p["id"] for p in after["pending_approvals"]] == [
        p["id"] for p in extension["pending_approvals"]
    ]
    assert "Waiting for a clinician's decision" in (again.choices[0].message.content or "")


@pytest.mark.parametrize("decide_between", [False, True])
async def test_a_chat_uis_follow_up_continues_the_thread_its_reply_named(
    server: Server, decide_between: bool
) -> None:
    """Open WebUI sends the conversation and no metadata: the follow-up continues the thread
    the paused reply named, so its proposals stay one set, and a decision taken between the two
    turns settles them (no new pause, the answer says what was decided)."""
    lin = oai(server, "clinician_7a")
    question = {"role": "user", "content": "Can we give the co-amoxiclav?"}
    first = await lin.chat.completions.create(model=f"wardround/{PAUSING}", messages=[question])
    extension = (first.model_extra or {})["wardround"]
    if decide_between:
        decisions = [
            {"proposal_id": p["id"], "decision": "reject"} for p in extension["pending_approvals"]
        ]
        decided = await server.client.post(
            f"/v1/threads/{extension['thread_id']}/approvals",
            json={"decisions": decisions},
            headers={**server.auth("clinician_7a"), "Accept": "application/json"},
        )
        assert decided.status_code == 200, decided.text
    reply = {"role": "assistant", "content": first.choices[0].message.content or ""}
    follow_up = {"role": "user", "content": "And his other drugs?"}
    second = await lin.chat.completions.create(
        model=f"wardround/{PAUSING}", messages=[question, reply, follow_up]
    )
    after = (second.model_extra or {})["wardround"]
    text = second.choices[0].message.content or ""
    assert after["thread_id"] == extension["thread_id"]  # not a second paused thread
    if decide_between:
        assert after["pending_approvals"] == []
        assert "rejected by Dr Lin (u-lin)" in text
        assert [(s["proposal"]["id"], s["decision"]) for s in after["settled"]] == [
            (p["id"], "reject") for p in extension["pending_approvals"]
        ]
    else:
        assert [p["id"] for p in after["pending_approvals"]] == [
            p["id"] for p in extension["pending_approvals"]
        ]
    threads = await server.client.get(
        "/v1/threads", params={"patient_id": PAUSING}, headers=server.auth("clinician_7a")
    )
    assert len(threads.json()) == 1


async def test_a_stream_that_breaks_off_degrades_cleanly(server: Server) -> None:
    """The model's stream breaks mid-answer: the preview stops, the round degrades, the
    answer of record (rule findings, marked degraded) still arrives, on SSE and on the facade."""
    opened = await server.client.post(
        "/v1/threads", json={"patient_id": OWN}, headers=server.auth("clinician")
    )
    thread = opened.json()["id"]
    ask = {"json": {"content": "Q-33"}, "headers": server.auth("clinician")}
    normal = sse_events((await server.client.post(f"/v1/threads/{thread}/messages", **ask)).text)
    calls = len(server.model_server.requests)  # router, specialists, synthesizer (last)
    assert not any("synthesizer" in r for r in dict(normal)["answer"]["result"]["degraded_reasons"])

    def break_the_synthesizer() -> None:
        server.model_server.inject(Fault("delay", times=calls - 1, delay_s=0.0))  # pass-through
        server.model_server.inject(Fault("truncate"))

    break_the_synthesizer()
    events = sse_events((await server.client.post(f"/v1/threads/{thread}/messages", **ask)).text)
    tokens = "".join(d["text"] for name, d in events if name == "token")
    result = dict(events)["answer"]["result"]
    assert tokens
    assert "Answer for Q-33.".startswith(tokens)
    assert result["degraded"] is True
    assert any("synthesizer: StreamInterrupted" in r for r in result["degraded_reasons"])
    assert "Findings computed by rules" in result["answer"]
    assert [name for name, _ in events][-2:] == ["answer", "done"]

    break_the_synthesizer()
    pieces, extension, _ = await streamed(
        oai(server, "clinician"), "Q-34", extra_body={"metadata": {"thread_id": thread}}
    )
    text = "".join(pieces)
    assert extension["degraded"] is True
    # what was shown cannot be taken back: the answer of record follows it in full
    shown, record = text.split("\n\n", 1)
    assert "Answer for Q-34.".startswith(shown)
    assert record.startswith("Model unavailable: the findings below are computed by rules.")
    assert "StreamInterrupted" not in record
