"""Every log line of a round can be found together: ``run_id``, ``thread_id`` and a pseudonymous
``patient_key`` are bound for the length of the run, and only for it."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from langgraph.checkpoint.memory import InMemorySaver
from structlog.testing import capture_logs

from core.logging import get_logger, pseudonym
from core.model.transcript_server import Fault
from graphs.checkpoint import serde
from graphs.run import ask
from graphs.ward_round import build_ward_round
from tests.conftest import DepsFactory
from tests.graphs.test_ward_round import NOW, ward_model

PATIENT = "aki-demo"
CAPTURED = [structlog.contextvars.merge_contextvars]
"""The application's first processor: the bound run ids join each line."""


async def test_model_calls_and_retries_carry_the_run(
    patients: Any, scripted_model: Any, round_deps: DepsFactory
) -> None:
    server, client = scripted_model(ward_model)
    server.inject(Fault(kind="status", status=503))  # the first call is retried
    deps = round_deps(patients=patients, model=client, clock=lambda: NOW)
    graph = build_ward_round(deps, InMemorySaver(serde=serde()))
    with capture_logs(processors=CAPTURED) as logs:
        result = await ask(graph, patient_id=PATIENT, question="Why is the creatinine rising?")
        get_logger("after").info("after.the.run")
    run_lines = [e for e in logs if e["event"].startswith(("model.", "ward_round."))]
    events = {e["event"] for e in run_lines}
    assert {"model.call", "model.retry", "ward_round.started", "ward_round.finished"} <= events
    for line in run_lines:
        assert line["run_id"] == result.run_id, line
        assert line["thread_id"] == result.thread_id, line
        assert line["patient_key"] == pseudonym(PATIENT), line
        assert PATIENT not in map(str, line.values()), line  # the raw id never
    [after] = [e for e in logs if e["event"] == "after.the.run"]
    assert "run_id" not in after  # unbound when the run ended


async def test_concurrent_runs_keep_their_own_ids(
    patients: Any, scripted_model: Any, round_deps: DepsFactory
) -> None:
    _, client = scripted_model(ward_model)
    deps = round_deps(patients=patients, model=client, clock=lambda: NOW)
    graph = build_ward_round(deps, InMemorySaver(serde=serde()))
    with capture_logs(processors=CAPTURED) as logs:
        one, two = await asyncio.gather(
            ask(graph, patient_id=PATIENT, question="Why is the creatinine rising?"),
            ask(graph, patient_id=PATIENT, question="Is the potassium safe?"),
        )
    calls = [e for e in logs if e["event"] == "model.call"]
    by_run = {run.run_id: run.thread_id for run in (one, two)}
    assert {c["run_id"] for c in calls} == set(by_run)
    assert all(by_run[c["run_id"]] == c["thread_id"] for c in calls)
