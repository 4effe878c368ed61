"""Reading runs back: paged run summaries and one run as a tree of steps.

A summary says how its run ended (``outcome``), worked out in the same aggregate query from the
run's terminal events, so it can be filtered on before paging.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Connection, Select, case, func, select

from core.audit.errors import AuditRunNotFound
from core.audit.events import RUN_FAILED, AuditEvent, EventKind, canonical_json, format_ts, parse_ts
from core.audit.rows import from_row
from core.audit.schema import events

MAX_PAGE = 500

RunOutcome = Literal["answered", "paused_for_approval", "failed", "unfinished"]
"""How a run ended, from its trail (these names are part of the API: keep them stable).

* ``answered``: it wrote ``request.answered`` with the answer.
* ``paused_for_approval``: it wrote ``request.answered`` with ``pending_approval: true``: the
  round stopped to wait for a clinician's decision. The decision, when it comes, is a later run
  on the same thread (``approval.decided``); this run's outcome stays what it was.
* ``failed``: it raised before answering and ended with an ``error`` event whose ``where`` is
  ``RUN_FAILED`` (the exception's class is in ``payload.error.type``).
* ``unfinished``: neither: still under way, or the process died mid-run.

Should a trail hold both an answer and a run failure (no writer does that), the later one wins.
"""


class RunSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    thread_id: str | None
    patient_id: str | None
    principal_id: str | None
    started_at: datetime
    ended_at: datetime
    first_seq: int
    last_seq: int
    events: int
    errors: int
    outcome: RunOutcome = Field(description="how the run ended; see ``RunOutcome``")
    question: str = Field(
        default="", description="what the run was asked (or, for a resume, the decisions made)"
    )


class RunPage(BaseModel):
    """Newest runs first; pass ``next_cursor`` back as ``cursor`` for the next page."""

    model_config = ConfigDict(frozen=True)

    runs: list[RunSummary]
    next_cursor: str | None = None


class RunNode(BaseModel):
    event: AuditEvent
    children: list[RunNode] = []


class RunTree(BaseModel):
    """A run as recorded: roots are events without a parent in the run (request, top nodes)."""

    run_id: str
    events: int
    roots: list[RunNode]


def _payload_has(member: dict[str, object]) -> ColumnElement[bool]:
    """True when the stored payload holds ``member`` (one key and its scalar value).

    Payloads are stored as canonical JSON text (``core.audit.events``; the hashes are computed
    over it, so its form cannot drift), so a member is matched on its exact bytes: no JSON
    parsing, the same SQL on SQLite and PostgreSQL, and a payload edited into invalid JSON (which
    ``verify`` reports) does not make the run list fail. A string value cannot fake a member:
    quotes inside strings are escaped. Used only on the flat payloads ``graphs.run`` writes at a
    run's end, where no nested object could hold the same member. (SQLite's LIKE ignores ASCII
    case, PostgreSQL's does not; no writer varies the case of these keys and values.)
    """
    text = canonical_json(member).decode("utf-8")[1:-1]  # '"key":value' without the braces
    return events.c.payload.contains(text, autoescape=True)


def _outcome() -> ColumnElement[str]:
    """``RunOutcome`` of each run, as an aggregate over its events (see ``RunOutcome``)."""
    c = events.c
    answered = c.kind == EventKind.REQUEST_ANSWERED.value
    answered_seq = func.max(case((answered, c.seq)))
    paused_seq = func.max(case((answered & _payload_has({"pending_approval": True}), c.seq)))
    failed = (c.kind == EventKind.ERROR.value) & _payload_has({"where": RUN_FAILED})
    failed_seq = func.max(case((failed, c.seq)))
    return case(
        (failed_seq > func.coalesce(answered_seq, 0), "failed"),
        (paused_seq == answered_seq, "paused_for_approval"),
        (answered_seq.is_not(None), "answered"),
        else_="unfinished",
    )


def _summary_query() -> Select[tuple[object, ...]]:
    c = events.c
    return (
        select(
            c.run_id,
            func.max(c.thread_id).label("thread_id"),
            func.max(c.patient_id).label("patient_id"),
            func.max(c.principal_id).label("principal_id"),
            func.min(c.ts).label("started_at"),
            func.max(c.ts).label("ended_at"),
            func.min(c.seq).label("first_seq"),
            func.max(c.seq).label("last_seq"),
            func.count().label("events"),
            func.sum(case((c.kind == EventKind.ERROR.value, 1), else_=0)).label("errors"),
            _outcome().label("outcome"),
        )
        .where(c.run_id.is_not(None))
        .group_by(c.run_id)
    )


def query_runs(
    conn: Connection,
    *,
    patient: str | None = None,
    principal: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    outcome: RunOutcome | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> RunPage:
    c = events.c
    stmt = _summary_query()
    if patient is not None:
        stmt = stmt.where(c.run_id.in_(select(c.run_id).where(c.patient_id == patient)))
    if principal is not None:
        stmt = stmt.where(c.run_id.in_(select(c.run_id).where(c.principal_id == principal)))
    if since is not None:
        stmt = stmt.having(func.min(c.ts) >= format_ts(since))
    if until is not None:
        stmt = stmt.having(func.min(c.ts) < format_ts(until))
    if outcome is not None:
        stmt = stmt.having(_outcome() == outcome)
    if cursor is not None:
        stmt = stmt.having(func.min(c.seq) < int(cursor))
    limit = max(1, min(limit, MAX_PAGE))
    rows = conn.execute(stmt.order_by(func.min(c.seq).desc()).limit(limit + 1)).all()
    asked = _questions(conn, [str(row.run_id) for row in rows[:limit]])
    summaries = [
        RunSummary.model_validate(
            {
                **row._mapping,
                "started_at": parse_ts(row.started_at),
                "ended_at": parse_ts(row.ended_at),
                "errors": int(row.errors or 0),
                "question": asked.get(str(row.run_id), ""),
            }
        )
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    return RunPage(runs=summaries, next_cursor=str(summaries[-1].first_seq) if more else None)


def _questions(conn: Connection, run_ids: list[str]) -> dict[str, str]:
    """Each run's request as a line: the question, or the decisions a resume carried."""
    c = events.c
    rows = conn.execute(
        select(c.run_id, c.payload).where(
            c.run_id.in_(run_ids), c.kind == EventKind.REQUEST_RECEIVED.value
        )
    )
    asked: dict[str, str] = {}
    for run_id, payload in rows:
        try:
            request = json.loads(payload)
        except (TypeError, ValueError):  # an edited payload: ``verify`` names it
            continue
        if isinstance(request, dict) and request.get("question"):
            asked[str(run_id)] = str(request["question"])[:300]
        elif isinstance(request, dict) and request.get("decisions"):
            decided = [
                str(d.get("decision", "?")) for d in request["decisions"] if isinstance(d, dict)
            ]
            asked[str(run_id)] = "decisions: " + ", ".join(decided)
    return asked


def query_run(conn: Connection, run_id: str) -> RunTree:
    rows = conn.execute(select(events).where(events.c.run_id == run_id).order_by(events.c.seq))
    recorded = [from_row(row) for row in rows]
    if not recorded:
        raise AuditRunNotFound(f"no audit events for run {run_id}")
    return RunTree(run_id=run_id, events=len(recorded), roots=build_tree(recorded))


def build_tree(recorded: list[AuditEvent]) -> list[RunNode]:
    """Attach each event under its parent; orphans and anything caught in a cycle become roots."""
    nodes = {e.event_id: RunNode(event=e) for e in recorded}
    roots: list[RunNode] = []
    for e in recorded:
        parent = nodes.get(e.parent_id) if e.parent_id else None
        (parent.children if parent is not None else roots).append(nodes[e.event_id])
    reached: set[str] = set()
    _mark(roots, reached)
    for e in recorded:  # a parent cycle (only a forged parent_id makes one): cut it at its first
        if e.event_id not in reached:
            node = nodes[e.event_id]
            nodes[str(e.parent_id)].children.remove(node)
            roots.append(node)
            _mark([node], reached)
    roots.sort(key=lambda n: n.event.seq)
    return roots


def _mark(start: list[RunNode], reached: set[str]) -> None:
    stack = list(start)
    while stack:
        node = stack.pop()
        reached.add(node.event.event_id)
        stack.extend(n for n in node.children if n.event.event_id not in reached)
