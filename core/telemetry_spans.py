"""A recorded run as OpenTelemetry spans, following the GenAI semantic conventions (Development
status; names as of semantic-conventions v1.37+, where ``gen_ai.provider.name`` replaced
``gen_ai.system``). Pure data here: ``core.telemetry`` hands the result to the OTel SDK.

=====================  ===================================  ==========  ==========================
audit step             span name                            span kind   key attributes
=====================  ===================================  ==========  ==========================
the run                ``invoke_workflow ward_round``       INTERNAL    gen_ai.operation.name,
                                                                        gen_ai.workflow.name,
                                                                        gen_ai.conversation.id
agent node             ``invoke_agent {node}``              INTERNAL    gen_ai.agent.name,
(route, specialists,                                                    gen_ai.provider.name
synthesize)
other node             ``{node}`` (load_record, propose…)   INTERNAL    wardround.node
model.call             ``chat {gen_ai.request.model}``      CLIENT      gen_ai.request.model,
                                                                        gen_ai.response.model,
                                                                        gen_ai.usage.input_tokens,
                                                                        gen_ai.usage.output_tokens
tool.call              ``execute_tool {tool}``              INTERNAL    gen_ai.tool.name
kg.query               ``execute_tool kg.{query}``          CLIENT      gen_ai.tool.type=datastore,
                                                                        db.system.name,
                                                                        db.operation.name,
                                                                        db.response.returned_rows
=====================  ===================================  ==========  ==========================

Findings, citation verdicts, approvals and degraded-mode events become span events (kind and
severity only). What is never exported: the patient id, names, questions, notes, prompts,
responses, KG parameters and rows. With ``WARDROUND_OTEL_EXPORT_CONTENT=true`` the model calls'
messages go out as ``gen_ai.input.messages``/``gen_ai.output.messages`` (JSON), after every string
has had the patient's id, name and identifiers replaced by ``[REDACTED]``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from core.audit import EventKind, RunNode, RunTree

PROVIDER = "openai"
"""``gen_ai.provider.name``: every model is reached over the OpenAI-compatible protocol."""
AGENT_NODES = frozenset({"route", "history", "labs", "imaging", "guideline", "synthesize"})
REDACTED = "[REDACTED]"
AttributeValue = str | int | float | bool | list[str]
SpanKind = Literal["internal", "client"]


@dataclass
class SpanSpec:
    name: str
    kind: SpanKind
    start: datetime
    end: datetime
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    events: list[tuple[str, datetime, dict[str, AttributeValue]]] = field(default_factory=list)
    error: str | None = None
    children: list[SpanSpec] = field(default_factory=list)


def run_spans(tree: RunTree, *, content: bool, redact_terms: Sequence[str] = ()) -> SpanSpec:
    """The run as one ``invoke_workflow`` span holding the steps' spans."""
    first = tree.roots[0].event
    last = max((_end_of(n) for n in tree.roots), default=first.ts)
    root = SpanSpec(
        name="invoke_workflow ward_round",
        kind="internal",
        start=min(n.event.ts for n in tree.roots),
        end=last,
        attributes={
            "gen_ai.operation.name": "invoke_workflow",
            "gen_ai.workflow.name": "ward_round",
            "wardround.run_id": tree.run_id,
            "wardround.events": tree.events,
        },
    )
    if first.thread_id:
        root.attributes["gen_ai.conversation.id"] = first.thread_id
    if first.principal_id:
        root.attributes["wardround.principal_id"] = first.principal_id  # staff, not patient
    terms = sorted({t for t in redact_terms if t and len(t) > 1}, key=len, reverse=True)
    _attach(root, tree.roots, content, terms)
    return root


def _attach(parent: SpanSpec, nodes: list[RunNode], content: bool, terms: list[str]) -> None:
    for node in nodes:
        spec = _span_of(node, content, terms)
        if spec is None:
            _as_event(parent, node)
            continue
        parent.children.append(spec)
        children = [c for c in node.children if c.event.kind != EventKind.NODE_FINISHED]
        _attach(spec, children, content, terms)


def _span_of(node: RunNode, content: bool, terms: list[str]) -> SpanSpec | None:
    e = node.event
    if e.kind == EventKind.NODE_STARTED:
        return _node_span(node)
    if e.kind not in (EventKind.MODEL_CALL, EventKind.TOOL_CALL, EventKind.KG_QUERY):
        return None
    start = e.ts - _duration(e.duration_ms)
    p = e.payload
    if e.kind == EventKind.MODEL_CALL:
        spec = _model_span(p, start, e.ts, content, terms)
    elif e.kind == EventKind.TOOL_CALL:
        tool = str(p.get("name") or p.get("tool") or "tool")
        spec = SpanSpec(
            name=f"execute_tool {tool}",
            kind="internal",
            start=start,
            end=e.ts,
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool},
        )
    else:
        spec = _kg_span(p, start, e.ts)
    if p.get("error"):
        spec.error = _error_type(p["error"])
    return spec


def _node_span(node: RunNode) -> SpanSpec:
    e = node.event
    name = str(e.payload.get("node", "node"))
    finished = next(
        (c.event for c in node.children if c.event.kind == EventKind.NODE_FINISHED), None
    )
    spec = SpanSpec(
        name=f"invoke_agent {name}" if name in AGENT_NODES else name,
        kind="internal",
        start=e.ts,
        end=finished.ts if finished is not None else _end_of(node),
        attributes={"wardround.node": name},
    )
    if name in AGENT_NODES:
        spec.attributes.update(
            {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": name,
                "gen_ai.provider.name": PROVIDER,
            }
        )
    if finished is not None and isinstance(finished.payload.get("step"), str):
        spec.attributes["wardround.node.step"] = finished.payload["step"]  # tools/model/report
    if finished is not None and finished.payload.get("error"):
        spec.error = _error_type(finished.payload["error"])
    return spec


def _model_span(
    p: dict[str, Any], start: datetime, end: datetime, content: bool, terms: list[str]
) -> SpanSpec:
    request = p.get("request") or {}
    response = p.get("response") or {}
    model = str(request.get("model") or "unknown")
    attrs: dict[str, AttributeValue] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": PROVIDER,
        "gen_ai.request.model": model,
    }
    for key, attr in (
        ("max_tokens", "gen_ai.request.max_tokens"),
        ("max_completion_tokens", "gen_ai.request.max_tokens"),
        ("temperature", "gen_ai.request.temperature"),
        ("top_p", "gen_ai.request.top_p"),
        ("seed", "gen_ai.request.seed"),
    ):
        if isinstance(request.get(key), int | float) and not isinstance(request[key], bool):
            attrs[attr] = request[key]
    if response.get("model"):
        attrs["gen_ai.response.model"] = str(response["model"])
    if response.get("id"):
        attrs["gen_ai.response.id"] = str(response["id"])
    reasons = [str(c.get("finish_reason")) for c in response.get("choices") or [] if c]
    if reasons:
        attrs["gen_ai.response.finish_reasons"] = reasons
    usage = p.get("usage") or response.get("usage") or {}
    for ours, attr in (
        (("prompt_tokens", "input_tokens"), "gen_ai.usage.input_tokens"),
        (("completion_tokens", "output_tokens"), "gen_ai.usage.output_tokens"),
    ):
        value = next((usage[k] for k in ours if isinstance(usage.get(k), int)), None)
        if value is not None:
            attrs[attr] = value
    if content:
        messages = [_redact(m, terms) for m in request.get("messages") or []]
        replies = [_redact(c.get("message"), terms) for c in response.get("choices") or [] if c]
        attrs["gen_ai.input.messages"] = json.dumps(messages, ensure_ascii=False)
        attrs["gen_ai.output.messages"] = json.dumps(replies, ensure_ascii=False)
    return SpanSpec(name=f"chat {model}", kind="client", start=start, end=end, attributes=attrs)


def _kg_span(p: dict[str, Any], start: datetime, end: datetime) -> SpanSpec:
    query = str(p.get("query") or "query")
    attrs: dict[str, AttributeValue] = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": f"kg.{query}",
        "gen_ai.tool.type": "datastore",
        "db.system.name": str(p.get("backend") or "unknown"),
        "db.operation.name": query,
    }
    if isinstance(p.get("rows"), int):
        attrs["db.response.returned_rows"] = p["rows"]
    return SpanSpec(
        name=f"execute_tool kg.{query}", kind="client", start=start, end=end, attributes=attrs
    )


def _as_event(parent: SpanSpec, node: RunNode) -> None:
    """A point event (finding, verdict, approval, degraded...) on the span it happened in."""
    e = node.event
    if e.kind in (EventKind.REQUEST_RECEIVED, EventKind.REQUEST_ANSWERED, EventKind.ACCESS):
        return
    attrs: dict[str, AttributeValue] = {}
    for key in ("kind", "severity", "origin", "specialist"):
        if isinstance(e.payload.get(key), str):
            attrs[f"wardround.{key}"] = e.payload[key]
    parent.events.append((str(e.kind), e.ts, attrs))
    if e.kind == EventKind.ERROR:
        parent.error = parent.error or _error_type(e.payload.get("error"))


def _redact(value: Any, terms: list[str]) -> Any:
    if isinstance(value, str):
        for term in terms:
            value = value.replace(term, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: _redact(v, terms) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, terms) for v in value]
    return value


def _error_type(error: Any) -> str:
    if isinstance(error, dict) and error.get("type"):
        return str(error["type"])
    return "_OTHER"


def _duration(ms: float | None) -> timedelta:
    return timedelta(milliseconds=ms or 0.0)


def _end_of(node: RunNode) -> datetime:
    ends = [node.event.ts, *(_end_of(c) for c in node.children)]
    return max(ends)
