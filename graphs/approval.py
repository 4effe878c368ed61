"""The ward round's approval steps: propose → approve (``interrupt``) → record_decision.

Exactly once, and never a stale decision (issue 17):

- ``approve`` pauses, and on resume only *takes* the decision (checked by
  ``agents.approvals.validate_resume``, given its ``decision_id``); it writes nothing, and nothing
  after ``interrupt`` raises: LangGraph keeps the resume value of a node that raised and hands it
  to the next resume, in place of the next clinician's decision.
- its checkpoint makes the decision durable; ``record_decision`` then audits it
  (``approval.decided``), writes what was approved to the outbox, and audits where it went
  (``approval.recorded``).
- a failure before the outbox took the write undoes the decision: a fresh attempt (new decision
  ids) and a fresh pause, with ``approval_failure`` naming the run, which reports it
  (``graphs.run``). A failure or a crash after it leaves ``record_decision`` to run again with
  the same decision ids (``graphs.run.finish_decision``); the outbox recognises them.

So a crash at any point leaves the decision undone (still pending, decidable again) or done
exactly once. ``crash_points.reached`` marks where the crash tests kill the server.
"""

from __future__ import annotations

from typing import Literal

from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt

from agents.approval_memory import (
    Settled,
    Settlement,
    decisions_text,
    left_waiting,
    remember,
    settle,
    settled_from,
)
from agents.approvals import (
    ApprovalResume,
    DecisionNotRecorded,
    RecordedDecision,
    decision_id,
    digest,
    propose,
    validate_resume,
    ward_of,
)
from agents.deps import WardRoundDeps
from core import crash_points
from core.audit import EventKind
from core.domain import Finding, PatientRecord
from core.errors import WardroundError
from core.logging import get_logger
from graphs.audit import emit
from graphs.state import DecisionUpdate, ProposeUpdate, WardRoundState

log = get_logger(__name__)
RECORD_DECISION = "record_decision"
"""The step that records a taken decision: a thread whose next step it is has a decision that a
crash or a failure after the outbox write left unfinished."""


class DecisionsNotTakenHere(WardroundError):
    """A graph served by LangGraph's own API (``langgraph dev``, Studio: ``server.studio``)
    takes no decision: that API does not carry wardround's sign-in, so it could neither check
    the approver against the ward nor audit the decision."""

    http_status = 403
    title = "Decide on wardround's API"


NOT_HERE = (
    "decisions are not taken through LangGraph's API (langgraph dev / Studio are for "
    "development: no ward access control, no audit); nothing was written and the proposals "
    "still wait. Decide on wardround's own API: POST /v1/threads/{id}/approvals, the ward page, "
    "or wardround approve --thread ID --all approve|reject"
)


class ApprovalSteps:
    """The approval steps, bound to one set of dependencies (the outbox and the clock).

    ``take_decisions=False`` (the graph served by LangGraph's API) pauses as usual, but answers
    every resume with ``DecisionsNotTakenHere`` in ``approval_failure`` and a fresh pause."""

    def __init__(self, deps: WardRoundDeps, *, take_decisions: bool = True) -> None:
        self.deps = deps
        self.take_decisions = take_decisions

    async def propose(self, state: WardRoundState) -> ProposeUpdate:
        """Propose what the rules call for and the thread has not decided on these facts; the
        answer ends with what the thread decided (``agents.approval_memory``)."""
        settlement = round_settlement(state)
        if settlement.proposals:
            await emit(
                EventKind.APPROVAL_REQUESTED,
                {"proposals": [p.model_dump() for p in settlement.proposals]},
            )
        said = decisions_text(settlement, state.get("language", "en"))
        update = ProposeUpdate(
            proposals=settlement.proposals,
            standing=settlement.standing,
            decisions=[],
            decided=None,
            approval_failure=None,
            approval_attempt=state.get("approval_attempt", 0) + 1,
        )
        if said:
            update["answer"] = f"{state.get('answer', '')}\n\n{said}".lstrip()
        return update

    @staticmethod
    def needs_approval(state: WardRoundState) -> Literal["approve", "__end__"]:
        return "approve" if state.get("proposals") else "__end__"

    async def approve(self, state: WardRoundState, config: RunnableConfig) -> DecisionUpdate:
        """Pause until a clinician on the ward decides; take the decision, write nothing."""
        ward = ward_of(dict(state))
        # the pause's value reaches clients as JSON: the proposals dumped
        answer = interrupt(
            {"proposals": [p.model_dump() for p in state["proposals"]], "ward": ward}
        )
        if not self.take_decisions:
            log.warning("approval.refused_outside_wardround_api")
            return _not_recorded(state, config, DecisionsNotTakenHere(NOT_HERE))
        try:
            decided = self._take(state, config, ApprovalResume.model_validate(answer), ward)
        except Exception as exc:  # never raised here: reported by the run that resumed
            return _not_recorded(state, config, exc)
        crash_points.reached("decision_taken")
        return {"decided": decided, "approval_failure": None}

    def _take(
        self, state: WardRoundState, config: RunnableConfig, resume: ApprovalResume, ward: str
    ) -> list[RecordedDecision]:
        pending = state["proposals"]
        validate_resume(resume, ward=ward, pending=pending)
        by_id = {p.id: p for p in pending}
        thread_id, run_id = _ids(config)
        attempt = state.get("approval_attempt", 0)
        return [
            RecordedDecision(
                **d.model_dump(),
                approver=resume.approver.id,
                approver_name=resume.approver.name,
                digest=digest(by_id[d.proposal_id].model_dump(), d.edits),
                decided_at=self.deps.clock().isoformat(),
                decision_id=decision_id(thread_id, d.proposal_id, attempt),
                run_id=run_id,
            )
            for d in resume.decisions
        ]

    async def record_decision(
        self, state: WardRoundState, config: RunnableConfig
    ) -> DecisionUpdate:
        """Audit the decision, then write what was approved to the outbox (see the module)."""
        # copies: recording fills in ``recorded_as``; the checkpointed decisions stay as taken
        decided = [d.model_copy(deep=True) for d in state.get("decided") or []]
        try:
            for d in decided:
                await emit(EventKind.APPROVAL_DECIDED, d.model_dump())
            crash_points.reached("before_outbox")
            receipts = await self._write_approved(state, config, decided)
        except Exception as exc:  # nothing was written: decide again
            return _not_recorded(state, config, exc)
        crash_points.reached("after_outbox")
        for d in decided:
            d.recorded_as = receipts.get(d.decision_id, [])
            if d.recorded_as:
                await emit(
                    EventKind.APPROVAL_RECORDED,
                    d.model_dump(include={"decision_id", "proposal_id", "recorded_as"}),
                )
        crash_points.reached("before_checkpoint")
        now = settled_from(
            decided,
            state["proposals"],
            [Finding.model_validate(f) for f in state.get("findings", [])],
        )
        return {"decisions": decided, "decided": None, "settled": remember(settled_of(state), now)}

    async def _write_approved(
        self, state: WardRoundState, config: RunnableConfig, decided: list[RecordedDecision]
    ) -> dict[str, list[str]]:
        """Where each approved decision was recorded, by decision id."""
        approved = [d for d in decided if d.decision == "approve"]
        if not approved or self.deps.outbox is None:
            return {}
        by_id = {p.id: p for p in state["proposals"]}
        thread_id, _ = _ids(config)
        items = [
            {
                "proposal": by_id[d.proposal_id].model_dump(),
                **d.model_dump(),
                "thread_id": thread_id,
            }
            for d in approved
        ]
        receipts = await self.deps.outbox.write(items)
        return {d.decision_id: r for d, r in zip(approved, receipts, strict=True)}

    @staticmethod
    def after_record(state: WardRoundState) -> Literal["approve", "__end__"]:
        """A decision that was not recorded goes back to a fresh pause."""
        return "approve" if state.get("approval_failure") else "__end__"


def settled_of(state: WardRoundState) -> list[Settled]:
    return state.get("settled") or []


def round_settlement(state: WardRoundState) -> Settlement:
    """This round's proposals against what the thread decided: the same in ``synthesize`` (the
    cards show what is proposed) and in ``propose`` (what the round waits on)."""
    record = PatientRecord.model_validate(state["record"])
    findings = [Finding.model_validate(f) for f in state.get("findings", [])]
    waiting = left_waiting(state.get("proposals") or [], state.get("decisions") or [])
    return settle(
        propose(record, findings),
        findings,
        settled_of(state),
        waiting,
        language=state.get("language", "en"),
    )


def _ids(config: RunnableConfig) -> tuple[str, str]:
    configurable = config.get("configurable") or {}
    return str(configurable.get("thread_id", "")), str(configurable.get("run_id", ""))


def _not_recorded(state: WardRoundState, config: RunnableConfig, exc: Exception) -> DecisionUpdate:
    """Undo the decision: a fresh attempt (new decision ids) and why, for the run to report."""
    known = exc if isinstance(exc, WardroundError) else None
    log.warning("approval.not_recorded", error=type(exc).__name__)
    return {
        "decided": None,
        "approval_attempt": state.get("approval_attempt", 0) + 1,
        "approval_failure": {
            "run_id": _ids(config)[1],
            "error": type(exc).__name__,
            "message": f"{type(exc).__name__}: {exc}"[:500],
            "http_status": known.http_status if known else DecisionNotRecorded.http_status,
            "title": known.title if known else DecisionNotRecorded.title,
        },
    }
