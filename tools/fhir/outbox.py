"""Approved writes to a FHIR R4 server (``WARDROUND_OUTBOX=fhir`` with ``WARDROUND_FHIR_URL``).

What a clinician approved in one decision is sent as **one transaction Bundle**, so it is recorded
whole or not at all:

- ``activate_order``: the drafted ``MedicationRequest`` is read and written back with status
  ``active``; ``hold_medication``: the ``MedicationRequest``/``MedicationStatement`` with status
  ``on-hold``. Each update is a ``PUT`` guarded by ``If-Match`` on the version read, so a record
  that changed since (another clinician, another system) fails the whole transaction (HTTP 412)
  instead of being overwritten. A resource already in a final state (stopped, completed,
  cancelled, entered-in-error) is refused here, before anything is sent.
- ``adjust_dose``: wardround does not rewrite dosage structures; it posts a ``Task`` (intent
  ``order``) asking for the new dose, focused on the order, with the approver's edits.
- every write carries a ``Provenance``: the approver as author, wardround as the assembling
  device, the proposal's reasons, and as entities the approval's digest
  (``agents.approvals.digest``), the decision id, the thread id and the run id.

Exactly once: before writing, each decision's Provenance is looked up by its decision id
(``Provenance?entity:identifier=urn:wardround:decision|<id>``); a decision found there (the same
decision replayed after a crash between the write and the checkpoint) is not written again, and
its earlier locations are returned. A ``Task`` carries the decision id as its identifier too, and
every create is conditional on it (``ifNoneExist``: ``identifier=`` for the Task,
``entity:identifier=`` for the Provenance), so the server itself refuses a second copy of a
decision that reaches it twice. A status change to the status the resource already has (an order
some other route activated, or a write of ours whose answer was lost) writes no new version.

**A lost answer** (the transaction was sent, then the connection failed, timed out, or a gateway
answered 502/503/504: the server may have committed it): the decision ids are looked up again
before anything is concluded. Found: the write happened, and its locations are returned. Not
found: nothing was recorded (``FhirWriteFailed``). The lookup failing too: the outcome is unknown
(``FhirWriteUnknown``, HTTP 504): the approval stays pending like any failure, and the message
tells the clinician to check the record before deciding again, because a new decision has a new
id: a status change is then recognised by its status, but a second dose-change ``Task`` would be
posted.

A failed write raises ``FhirWriteFailed`` and nothing is recorded: the approval stays pending and
can be decided again. A recorded one returns the locations the server gave each write (with their
versions), which the approval's audit event keeps (``recorded_as``). The caller owns the
``httpx.AsyncClient`` (auth headers, timeouts).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import httpx

from core.errors import WardroundError
from core.logging import get_logger

log = get_logger(__name__)

FINAL_STATES = frozenset({"stopped", "completed", "cancelled", "entered-in-error", "not-taken"})
NEW_STATUS = {"activate_order": "active", "hold_medication": "on-hold"}
WRITABLE_TYPES = frozenset({"MedicationRequest", "MedicationStatement"})
DIGEST_SYSTEM = "urn:wardround:approval-digest"
DECISION_SYSTEM = "urn:wardround:decision"
THREAD_SYSTEM = "urn:wardround:thread"
RUN_SYSTEM = "urn:wardround:run"


class FhirWriteFailed(WardroundError):
    """The FHIR server did not record the approved writes (nothing was recorded)."""

    http_status = 502
    title = "FHIR write failed"


class FhirWriteUnknown(FhirWriteFailed):
    """The transaction was sent, its answer lost, and the server cannot be asked whether it took
    it: the writes may or may not be recorded."""

    http_status = 504
    title = "FHIR write outcome unknown"


NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Failures before the request left: nothing can have been recorded."""
AMBIGUOUS_STATUSES = frozenset({502, 503, 504})
"""A gateway's answers: the FHIR server behind it may have committed the transaction."""


class FhirOutbox:
    """An ``agents.approvals.Outbox`` that records approved writes on a FHIR R4 server."""

    def __init__(self, base_url: str, http_client: httpx.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http_client

    async def write(self, items: Sequence[dict[str, Any]]) -> list[list[str]]:
        """Record ``items`` in one transaction; per item, the locations the server gave its
        writes (``MedicationRequest/x/_history/4``, ``Provenance/p1/_history/1``)."""
        earlier = [await self._recorded(item) for item in items]
        todo = [item for item, found in zip(items, earlier, strict=True) if found is None]
        fresh = iter(await self._transaction(todo) if todo else [])
        return [found if found is not None else next(fresh) for found in earlier]

    async def _recorded(self, item: dict[str, Any]) -> list[str] | None:
        """Where this decision was recorded before (a replay after a crash), or None.

        Every write carries a Provenance whose entity names the decision id, so one search on
        ``entity:identifier`` finds it."""
        if not item.get("decision_id"):
            return None
        query = {"entity:identifier": f"{DECISION_SYSTEM}|{item['decision_id']}"}
        response = await self._send("GET", f"{self.base_url}/Provenance", params=query)
        if response.status_code != 200:
            raise FhirWriteFailed(f"cannot look up earlier writes: {_problem(response)}")
        found = [e.get("resource") or {} for e in response.json().get("entry") or []]
        if not found:
            return None
        log.info("fhir.outbox.replay_recognised", writes=len(found))
        targets = [str(t.get("reference", "")) for p in found for t in p.get("target") or []]
        return targets + [f"Provenance/{p.get('id', '')}" for p in found]

    async def _transaction(self, items: Sequence[dict[str, Any]]) -> list[list[str]]:
        per_item = [await self._entries(item) for item in items]
        entries = [entry for group in per_item for entry in group]
        if not entries:
            return [[] for _ in items]
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        try:
            response = await self._http.request(
                "POST", self.base_url, headers={"Accept": "application/fhir+json"}, json=bundle
            )
        except NOT_SENT as exc:
            raise FhirWriteFailed(f"FHIR server unreachable: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:  # sent, perhaps taken: ask before concluding
            return await self._after_lost_answer(items, type(exc).__name__)
        if response.status_code in AMBIGUOUS_STATUSES:
            return await self._after_lost_answer(items, _problem(response))
        if response.status_code not in (200, 201):
            raise FhirWriteFailed(f"transaction refused: {_problem(response)}")
        locations = [
            str((e.get("response") or {}).get("location") or "")
            for e in (response.json().get("entry") or [])
        ]
        if len(locations) != len(entries):
            raise FhirWriteFailed(
                f"transaction-response has {len(locations)} entries for {len(entries)} writes"
            )
        log.info("fhir.outbox.written", entries=len(entries))
        receipts, start = [], 0
        for group in per_item:
            receipts.append(locations[start : start + len(group)])
            start += len(group)
        return receipts

    async def _after_lost_answer(
        self, items: Sequence[dict[str, Any]], why: str
    ) -> list[list[str]]:
        """The transaction's answer was lost (``why``): were its decisions recorded?"""
        log.warning("fhir.outbox.answer_lost", items=len(items))
        try:
            found = [await self._recorded(item) for item in items]
        except FhirWriteFailed as error:
            raise FhirWriteUnknown(
                f"the transaction's answer was lost ({why}) and the FHIR server cannot say "
                f"whether it took it ({error}): check the patient's record before deciding again"
            ) from error
        if all(f is not None for f in found):
            log.info("fhir.outbox.lost_answer_recovered", items=len(items))
            return [f for f in found if f is not None]
        if any(f is not None for f in found):  # a transaction is whole: a server fault
            raise FhirWriteUnknown(f"the transaction's answer was lost ({why}); only part is found")
        raise FhirWriteFailed(f"transaction not recorded: {why}")

    async def _entries(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        proposal = item["proposal"]
        target = str(proposal["target"])
        kind = proposal["kind"]
        if kind == "adjust_dose":
            task = _task(target, proposal, item)
            provenance = _provenance(task["id"], proposal, item, "Task")
            return [_post(task, _task_exists(item)), _post(provenance, _provenance_exists(item))]
        if kind not in NEW_STATUS:
            raise FhirWriteFailed(f"{proposal['id']}: no FHIR write for a {kind!r} proposal")
        resource, version = await self._read(target)
        status = str(resource.get("status", ""))
        if status in FINAL_STATES:
            raise FhirWriteFailed(f"{target} is {status}: not changed to {NEW_STATUS[kind]}")
        rtype = target.partition("/")[0]
        provenance = _post(_provenance(target, proposal, item, rtype), _provenance_exists(item))
        if status == NEW_STATUS[kind]:  # already so: the decision is recorded, no new version
            log.info("fhir.outbox.status_already_set", kind=kind)
            return [provenance]
        request = {"method": "PUT", "url": target}
        if version:
            request["ifMatch"] = f'W/"{version}"'
        put = {
            "fullUrl": f"{self.base_url}/{target}",
            "resource": {**resource, "status": NEW_STATUS[kind]},
            "request": request,
        }
        return [put, provenance]

    async def _read(self, target: str) -> tuple[dict[str, Any], str]:
        rtype, _, rid = target.partition("/")
        if rtype not in WRITABLE_TYPES or not rid:
            raise FhirWriteFailed(f"{target}: wardround writes only {sorted(WRITABLE_TYPES)}")
        response = await self._send("GET", f"{self.base_url}/{target}")
        if response.status_code != 200:
            raise FhirWriteFailed(f"cannot read {target}: {_problem(response)}")
        resource: dict[str, Any] = response.json()
        return resource, str((resource.get("meta") or {}).get("versionId") or "")

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(
                method, url, headers={"Accept": "application/fhir+json"}, **kwargs
            )
        except httpx.HTTPError as exc:
            raise FhirWriteFailed(f"FHIR server unreachable: {type(exc).__name__}") from exc


def _post(resource: dict[str, Any], if_none_exist: str = "") -> dict[str, Any]:
    """A create; conditional (``ifNoneExist``, a search) when the decision has an id."""
    request = {"method": "POST", "url": resource["resourceType"]}
    if if_none_exist:
        request["ifNoneExist"] = if_none_exist
    return {
        "fullUrl": f"urn:uuid:{resource['id']}",
        "resource": {k: v for k, v in resource.items() if k != "id"},
        "request": request,
    }


def _task_exists(item: dict[str, Any]) -> str:
    decision = item.get("decision_id")
    return f"identifier={DECISION_SYSTEM}|{decision}" if decision else ""


def _provenance_exists(item: dict[str, Any]) -> str:
    decision = item.get("decision_id")
    return f"entity:identifier={DECISION_SYSTEM}|{decision}" if decision else ""


def _task(target: str, proposal: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    edits = item.get("edits") or {}
    note = f" Approver's edits: {edits}." if edits else ""
    return {
        "resourceType": "Task",
        "id": str(uuid.uuid4()),
        "status": "requested",
        "intent": "order",
        "focus": {"reference": target},
        "description": f"{proposal['summary']}.{note}",
        "authoredOn": item["decided_at"],
        "requester": {"display": item["approver"]},
        **_identifier(item),
    }


def _identifier(item: dict[str, Any]) -> dict[str, Any]:
    decision = item.get("decision_id")
    return {"identifier": [{"system": DECISION_SYSTEM, "value": decision}]} if decision else {}


def _provenance(
    target: str, proposal: dict[str, Any], item: dict[str, Any], what: str
) -> dict[str, Any]:
    """Who approved the write and why; ``target`` is the changed resource or a new one's id."""
    reference = target if "/" in target else f"urn:uuid:{target}"
    return {
        "resourceType": "Provenance",
        "id": str(uuid.uuid4()),
        "target": [{"reference": reference}],
        "recorded": item["decided_at"],
        "agent": [
            {"type": _agent_type("author"), "who": {"display": item["approver"]}},
            {"type": _agent_type("assembler"), "who": {"display": "wardround"}},
        ],
        "reason": [{"text": f"{proposal['summary']} ({what}); because {proposal['because']}"}],
        "entity": [
            {"role": "source", "what": {"identifier": {"system": system, "value": value}}}
            for system, value in (
                (DIGEST_SYSTEM, item["digest"]),
                (DECISION_SYSTEM, item.get("decision_id")),
                (THREAD_SYSTEM, item.get("thread_id")),
                (RUN_SYSTEM, item.get("run_id")),
            )
            if value
        ],
    }


def _agent_type(code: str) -> dict[str, Any]:
    system = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
    return {"coding": [{"system": system, "code": code}]}


def _problem(response: httpx.Response) -> str:
    """The status and the OperationOutcome's diagnostics, if any."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    issues = body.get("issue") if isinstance(body, dict) else None
    said = "; ".join(str(i.get("diagnostics") or i.get("code")) for i in issues or [])
    return f"HTTP {response.status_code}" + (f" ({said})" if said else "")
