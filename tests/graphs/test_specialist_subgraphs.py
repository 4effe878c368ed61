"""Each specialist is a compiled subgraph (tools → model → report) checkpointed after each step."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from graphs.checkpoint import serde
from graphs.run import ask
from graphs.ward_round import SPECIALISTS, build_ward_round
from tests.conftest import DepsFactory
from tests.graphs.test_ward_round import NOW, ward_model


def test_every_specialist_is_a_subgraph_of_three_steps(round_deps: DepsFactory) -> None:
    graph = build_ward_round(round_deps())
    nodes = set(graph.get_graph(xray=1).nodes)
    for name in SPECIALISTS:
        assert {f"{name}:tools", f"{name}:model", f"{name}:report"} <= nodes, name


async def test_each_step_of_a_specialist_is_checkpointed(
    patients, scripted_model, round_deps: DepsFactory
) -> None:
    _, client = scripted_model(ward_model)
    saver = InMemorySaver(serde=serde())
    deps = round_deps(patients=patients, model=client, clock=lambda: NOW)
    result = await ask(build_ward_round(deps, saver), patient_id="aki-demo", question="Why?")
    config: dict[str, Any] = {"configurable": {"thread_id": result.thread_id}}
    steps: dict[str, set[str]] = {}
    for saved in saver.list(config):
        ns = saved.config["configurable"].get("checkpoint_ns", "")
        if not ns:
            continue
        specialist = ns.split(":", 1)[0]
        writes = (saved.metadata or {}).get("writes") or {}
        steps.setdefault(specialist, set()).update(writes)
        for key in ("gathered", "explained"):
            if key in saved.checkpoint["channel_values"]:
                steps[specialist].add(f"has:{key}")
    # the router chose history and labs; guideline always runs
    for name in ("history", "labs", "guideline"):
        assert name in steps, (name, sorted(steps))
        assert "has:gathered" in steps[name]  # the deterministic half survives in a checkpoint
    assert "has:explained" in steps["labs"]
    labs = next(r for r in result.specialists if r.name == "labs")
    assert labs.findings > 0
