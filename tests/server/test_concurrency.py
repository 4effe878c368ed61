"""Twenty threads at once over two patients: every answer belongs to its own question."""

from __future__ import annotations

import asyncio

from tests.server.conftest import OWN, OWN_TOO, Server, sse_events

N = 20


async def _one(server: Server, n: int) -> tuple[int, str, dict[str, object]]:
    patient = OWN if n % 2 else OWN_TOO
    opened = await server.client.post(
        "/v1/threads", json={"patient_id": patient}, headers=server.auth("clinician")
    )
    thread = opened.json()["id"]
    response = await server.client.post(
        f"/v1/threads/{thread}/messages",
        json={"content": f"What matters most today? Q-{n}"},
        headers=server.auth("clinician"),
    )
    events = sse_events(response.text)
    answer = dict(events)["answer"]["result"]
    # the streamed pieces of the answer belong to this round too, none to another
    answer["streamed"] = "".join(d["text"] for name, d in events if name == "token")
    return n, thread, answer


async def test_concurrent_threads_do_not_cross_talk(server: Server) -> None:
    results = await asyncio.gather(*(_one(server, n) for n in range(N)))
    assert len({thread for _, thread, _ in results}) == N
    for n, thread, result in results:
        assert result["thread_id"] == thread
        assert result["patient_id"] == (OWN if n % 2 else OWN_TOO)
        assert result["question"] == f"What matters most today? Q-{n}"
        assert str(result["answer"]).startswith(f"Answer for Q-{n}.")
        assert result["streamed"] == f"Answer for Q-{n}."
        assert result["turns"] == 1
    # the model saw each patient's record in its own round: one context per patient
    contexts = {
        r["messages"][0]["content"]
        for r in server.model_server.requests
        if r["response_format"]["json_schema"]["name"] != "router"  # the router sees no record
    }
    assert len(contexts) == 2
