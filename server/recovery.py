"""The start-up sweep: decisions that a crash left half-recorded are finished without waiting for
anyone to touch their thread (issue 17).

A decision is durable once the approve step's checkpoint is written; ``record_decision`` then
audits it and writes it to the outbox. A crash in between leaves the thread's next step
``record_decision`` (``graphs.run.decision_unfinished``). Any request on the thread finishes it
first (``graphs.run.finish_decision``), but a thread nobody opens again would keep an approved
write out of the outbox indefinitely. So the server, once its runtime is open, walks every thread
(newest first) and finishes each unfinished decision as its own audited run, holding the thread as
a turn would; the outbox recognises a decision id it already holds, so nothing is written twice.
It runs in the background (start-up and ``/healthz`` never wait for it), stops between threads at
shutdown, and logs what it found (``approval.sweep``: counts only).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from langchain_core.runnables import RunnableConfig

from core.logging import get_logger
from graphs.run import decision_unfinished, finish_decision
from server.deps import ServerState

log = get_logger(__name__)


@dataclass
class SweepReport:
    threads: int = 0
    """Threads looked at."""
    unfinished: int = 0
    """Threads found with a decision left half-recorded."""
    finished: int = 0
    """Of those, finished by the sweep (the rest: the outbox or the audit store still refused, or
    a request finished it first; the next touch of the thread retries)."""
    unreadable: int = 0
    """Threads whose state could not be read (logged by error type; the sweep goes on)."""


async def finish_unfinished_decisions(
    state: ServerState, stop: asyncio.Event | None = None
) -> SweepReport:
    """Finish every decision a crash left half-recorded (see the module)."""
    runtime = state.require_runtime()
    report = SweepReport()
    try:
        thread_ids = await state.threads.ids()
    except Exception as error:  # the thread table is unreadable: /readyz says so; nothing to do
        log.warning("approval.sweep_failed", error=type(error).__name__)
        return report
    for thread_id in thread_ids:
        if stop is not None and stop.is_set():
            break
        report.threads += 1
        config = RunnableConfig(configurable={"thread_id": thread_id})
        try:
            snapshot = await runtime.graph.aget_state(config)
        except Exception as error:  # one unreadable thread must not stop the sweep
            report.unreadable += 1
            log.warning("approval.sweep_unreadable", error=type(error).__name__)
            continue
        if not decision_unfinished(snapshot):
            continue
        report.unfinished += 1
        async with state.threads.writer(thread_id):
            try:  # finish_decision looks again, holding the thread: a request may have been first
                done = await finish_decision(
                    runtime.graph,
                    thread_id=thread_id,
                    model=runtime.model_info,
                    audit=runtime.audit,
                )
            except Exception as error:  # still unfinished: the next touch (or start) retries
                log.warning("approval.sweep_not_finished", error=type(error).__name__)
                continue
        report.finished += done is not None
    log.info(
        "approval.sweep",
        threads=report.threads,
        unfinished=report.unfinished,
        finished=report.finished,
        unreadable=report.unreadable,
    )
    return report
