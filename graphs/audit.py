"""Audit hooks for a ward round: the run's ``Recorder`` travels in a context variable.

``graphs.run.ask`` binds a recorder for the run; graph nodes, specialists and the model client's
observer find it here. Context variables follow asyncio tasks, so parallel specialists (and
concurrent runs in the server) each write to their own run. Without a recorder every hook is a
no-op: tests and tools can run the graph without an audit store.

What lands in the run's tree (``GET /v1/audit/runs/{id}``, the ``/audit`` viewer)::

    request.received
    node.started (load_record, route, history, labs, guideline, synthesize...)
      ├─ model.call            every call, full request and response (``record_model_call``)
      ├─ tool.call             each tool call the model made, with its result (``record_tool_call``)
      ├─ kg.query              every knowledge-graph query (``record_kg_query``)
      ├─ finding.produced / degraded / citation.verified / citation.rejected
      └─ node.finished         the node's timing and summary
    approval.requested / approval.decided
    request.answered

``record_model_call``, ``record_tool_call`` and ``audited_graph_store`` are attached once, where the
round's dependencies are built (``server.wiring.build_deps``, which every entry point shares).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any

from core.audit import EventKind, Recorder, Step
from core.model.types import ModelCall
from kg.observed import KgQuery, ObservedGraphStore, observe
from kg.store import GraphStore

_recorder: ContextVar[Recorder | None] = ContextVar("wardround_run_recorder", default=None)


@contextmanager
def recording(recorder: Recorder | None) -> Iterator[None]:
    token = _recorder.set(recorder)
    try:
        yield
    finally:
        _recorder.reset(token)


@asynccontextmanager
async def audited_node(name: str) -> AsyncIterator[Step | None]:
    recorder = _recorder.get()
    if recorder is None:
        yield None
        return
    async with recorder.node(name) as step:
        yield step


async def emit(kind: EventKind, payload: dict[str, Any]) -> None:
    recorder = _recorder.get()
    if recorder is not None:
        await recorder.emit(kind, payload)


def record_model_call(call: ModelCall) -> Awaitable[str] | None:
    """A ``ModelClient`` observer: every call, with its full request and response, audited."""
    recorder = _recorder.get()
    if recorder is None:
        return None
    payload: dict[str, Any] = {
        "request": call.request,
        "response": call.response,
        "chunks": len(call.chunks),
        "usage": call.usage,
        "attempts": call.attempts,
        "error": call.error,
    }
    return recorder.emit(EventKind.MODEL_CALL, payload, duration_ms=call.duration_ms)


def record_tool_call(record: Any, duration_ms: float) -> Awaitable[str] | None:
    """A ``ModelClient`` tool observer: each tool the model called, its arguments and result."""
    recorder = _recorder.get()
    if recorder is None:
        return None
    result = record.result
    if hasattr(result, "model_dump"):
        result = result.model_dump(mode="json")
    payload: dict[str, Any] = {
        "tool": record.name,
        "call_id": record.id,
        "arguments": record.arguments,
        "result": result,
        "error": record.error,
    }
    return recorder.emit(EventKind.TOOL_CALL, payload, duration_ms=round(duration_ms, 3))


# --- knowledge-graph queries as audit events ----------------------------------------------------

MAX_RECORDED_ROWS = 200
"""A ``kg.query`` event keeps at most this many result rows (ids and row count are complete)."""
PATIENT_ID_MASK = "[PATIENT-ID]"


def record_kg_query(query: KgQuery) -> None:
    """A graph-store observer (``kg.observed``): during a recorded run, every named query is a
    ``kg.query`` audit event: query name, parameters, result ids, row count, the rows themselves
    (what the agent saw; each fact carries its ``source``), duration and any error.

    The event nests under the step that asked (the specialist's tools step): KG queries run in a
    worker thread (``asyncio.to_thread`` copies the context), so the run's recorder and open step
    are visible there, and the event is written synchronously with ``Recorder.emit_sync``.
    Without a recorder (tests, tools, the CLI's ``kg query``) nothing is written.

    Parameters are drug names and codes, ICD-10-CM/LOINC/HPO codes, lab values and KG ids, never
    patient identifiers; as a second line of defence any string containing the run's patient id
    is masked before it is written.
    """
    recorder = _recorder.get()
    if recorder is None:
        return
    parameters = query.parameters
    if query.name == "query_readonly":
        parameters = {"cypher": parameters["cypher"], "params": parameters["params"] or {}}
    payload: dict[str, Any] = {
        "query": query.name,
        "backend": query.backend,
        "parameters": _mask_patient(parameters, recorder.patient_id),
    }
    if query.error is not None:
        payload["error"] = {"type": type(query.error).__name__, "message": str(query.error)[:500]}
    else:
        payload.update(_result_fields(query.result))
    recorder.emit_sync(EventKind.KG_QUERY, payload, duration_ms=query.duration_ms)


def audited_graph_store(store: GraphStore | None) -> ObservedGraphStore | None:
    """The runtime's graph store with ``record_kg_query`` listening, applied once where the
    dependencies are built (``None`` stays ``None``; applying it twice changes nothing)."""
    return None if store is None else observe(store, record_kg_query)


def _result_fields(result: Any) -> dict[str, Any]:
    """Row count, result ids and (capped) rows of a query's answer, whatever its shape."""
    if isinstance(result, set | frozenset):
        ids = sorted(str(x) for x in result)
        return {"rows": len(ids), "result_ids": ids, "results": ids[:MAX_RECORDED_ROWS]}
    extra: dict[str, Any] = {}
    if hasattr(result, "resolved"):  # DrugResolution
        items, extra["unresolved"] = list(result.resolved), list(result.unresolved)
    elif hasattr(result, "conflicts"):  # AllergyReport
        items, extra["unresolved"] = list(result.conflicts), list(result.unresolved)
    elif isinstance(result, list):
        items = result
    else:
        items = [] if result is None else [result]
    ids = [i.id if hasattr(i, "id") else i.get("id") for i in items if _has_id(i)]
    return {
        "rows": len(items),
        "result_ids": [str(i) for i in ids],
        "results": items[:MAX_RECORDED_ROWS],
        "truncated": len(items) > MAX_RECORDED_ROWS,
        **extra,
    }


def _has_id(item: Any) -> bool:
    value = getattr(item, "id", None) if not isinstance(item, dict) else item.get("id")
    return isinstance(value, str)


def _mask_patient(value: Any, patient_id: str | None) -> Any:
    if not patient_id:
        return value
    if isinstance(value, str):
        return value.replace(patient_id, PATIENT_ID_MASK)
    if isinstance(value, dict):
        return {k: _mask_patient(v, patient_id) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_patient(v, patient_id) for v in value]
    return value
