"""``Recorder``: how graphs, agents, tools and the server write to the audit store.

One recorder per run, bound to its ids::

    recorder = store.recorder(run_id=run_id, thread_id=thread_id, patient_id=patient_id,
                              principal_id=principal.id)
    await recorder.emit(EventKind.REQUEST_RECEIVED, {"question": question})
    async with recorder.node("lab_interpreter") as node:          # node.started ... node.finished
        async with recorder.span(EventKind.MODEL_CALL, {"request": body}) as call:
            reply = await client.chat(...)
            call.record(response=reply, tokens=usage)             # one model.call event at exit
        node.record(findings=len(findings))

Nesting is implicit: an event emitted inside a ``span``/``node`` gets that step as ``parent_id``
(tracked per asyncio task with a context variable, so parallel specialists do not mix). A span's
``event_id`` is allocated when it opens, so its children can point at it although the span's own
event is appended when it closes, with its timing. A step that raises is still recorded, with the
exception's type and message in ``payload["error"]``, and the exception propagates.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from core.audit.errors import InvalidAuditEvent
from core.audit.events import EventDraft, EventKind

if TYPE_CHECKING:
    from core.audit.store import AuditStore

_open_step: ContextVar[tuple[str | None, str] | None] = ContextVar(
    "wardround_audit_open_step", default=None
)
"""(run_id, event_id) of the innermost open span or node in this task."""


@dataclass
class Step:
    """An open span or node: its ``event_id`` (parent of what happens inside) and its payload."""

    event_id: str
    payload: dict[str, Any] = field(default_factory=dict)

    def record(self, **fields: Any) -> None:
        """Add results to the event written when the step closes."""
        self.payload.update(fields)


class Recorder:
    """Writes events bound to one run's ids. Cheap to create; safe to share between tasks."""

    def __init__(
        self,
        store: AuditStore,
        *,
        run_id: str | None = None,
        thread_id: str | None = None,
        patient_id: str | None = None,
        principal_id: str | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.thread_id = thread_id
        self.patient_id = patient_id
        self.principal_id = principal_id

    def current_parent(self) -> str | None:
        """The innermost open step of this run in the current task, if any."""
        step = _open_step.get()
        return step[1] if step is not None and step[0] == self.run_id else None

    async def emit(
        self,
        kind: EventKind | str,
        payload: Mapping[str, Any] | None = None,
        *,
        parent_id: str | None = None,
        duration_ms: float | None = None,
        event_id: str | None = None,
    ) -> str:
        """Append one event; returns its ``event_id``."""
        draft = self._draft(kind, payload, parent_id, duration_ms, event_id)
        event = await self.store.append(draft)
        return event.event_id

    def emit_sync(
        self,
        kind: EventKind | str,
        payload: Mapping[str, Any] | None = None,
        *,
        parent_id: str | None = None,
        duration_ms: float | None = None,
    ) -> str:
        """``emit`` for synchronous code in a worker thread (``asyncio.to_thread`` copies the
        context, so the parent step is the one open where the thread was started): the knowledge
        graph's queries are synchronous and run there. Blocks on the database write."""
        draft = self._draft(kind, payload, parent_id, duration_ms, None)
        return self.store.append_sync(draft).event_id

    def _draft(
        self,
        kind: EventKind | str,
        payload: Mapping[str, Any] | None,
        parent_id: str | None,
        duration_ms: float | None,
        event_id: str | None,
    ) -> EventDraft:
        try:
            return EventDraft(
                kind=kind,
                run_id=self.run_id,
                thread_id=self.thread_id,
                patient_id=self.patient_id,
                principal_id=self.principal_id,
                parent_id=parent_id if parent_id is not None else self.current_parent(),
                payload=dict(payload or {}),
                duration_ms=duration_ms,
                event_id=event_id or str(uuid.uuid4()),
            )
        except ValidationError as exc:
            # Field names and reasons only: the offending values may be patient data.
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in exc.errors(include_input=False, include_url=False)
            )
            raise InvalidAuditEvent(f"invalid audit event: {problems}") from exc

    @asynccontextmanager
    async def span(
        self,
        kind: EventKind | str,
        payload: Mapping[str, Any] | None = None,
        *,
        parent_id: str | None = None,
    ) -> AsyncIterator[Step]:
        """Time a step and append ONE event of ``kind`` when it ends (model/tool call, KG query)."""
        parent = parent_id if parent_id is not None else self.current_parent()
        step = Step(event_id=str(uuid.uuid4()), payload=dict(payload or {}))
        async with self._open(step, kind, parent_id=parent, event_id=step.event_id):
            yield step

    @asynccontextmanager
    async def node(
        self, name: str, payload: Mapping[str, Any] | None = None
    ) -> AsyncIterator[Step]:
        """A graph node: ``node.started`` on entry, ``node.finished`` (its child) on exit."""
        started_id = await self.emit(EventKind.NODE_STARTED, {"node": name, **(payload or {})})
        step = Step(event_id=started_id, payload={"node": name})
        async with self._open(step, EventKind.NODE_FINISHED, parent_id=started_id):
            yield step

    @asynccontextmanager
    async def _open(
        self,
        step: Step,
        closing_kind: EventKind | str,
        *,
        parent_id: str | None,
        event_id: str | None = None,
    ) -> AsyncIterator[None]:
        """Hold ``step`` open as the parent of what happens inside, then append ``closing_kind``
        with its payload, its duration and (if the body raised) the exception's type and message."""
        started = time.perf_counter()
        token = _open_step.set((self.run_id, step.event_id))
        try:
            yield
        except BaseException as exc:
            step.record(error={"type": type(exc).__name__, "message": str(exc)})
            raise
        finally:
            _open_step.reset(token)
            await self.emit(
                closing_kind,
                step.payload,
                parent_id=parent_id,
                duration_ms=_ms_since(started),
                event_id=event_id,
            )


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)
