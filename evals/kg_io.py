"""Knowledge-graph I/O in transcripts: record every named query a round asks, answer it on replay.

Recording listens to the ``GraphStore`` (``kg.observed``) with a ``QueryTranscript``: each named
query that answers becomes a ``{"type": "kg_query", "method", "args", "kwargs", "result"}``
line. Values are stored as JSON: pydantic models as ``{"__type__": "kg.models.X", "value":
{...}}`` (revived into the same class on replay, only from ``kg.`` modules), sets as
``{"__set__": [...]}``.

Replay answers from ``ReplayGraphStore``, matched on method and arguments bound to the protocol's
parameters (repeats get the last answer, as the model transcript does). A query the transcript
does not hold raises ``KgQueryNotRecorded`` and is remembered, so replay fails loudly even if the
caller catches it.
"""

from __future__ import annotations

import importlib
import json
from collections import defaultdict, deque
from enum import Enum
from typing import Any

from pydantic import BaseModel

from core.errors import WardroundError
from kg.observed import KgQuery


class KgQueryNotRecorded(WardroundError):
    """A replayed round asked the knowledge graph something the transcript does not hold."""

    title = "KG query not in transcript"


def to_json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        cls = type(value)
        return {
            "__type__": f"{cls.__module__}.{cls.__qualname__}",
            "value": value.model_dump(mode="json"),
        }
    if isinstance(value, Enum):
        return to_json(value.value)
    if isinstance(value, set | frozenset):
        items = [to_json(v) for v in value]
        return {"__set__": sorted(items, key=lambda v: json.dumps(v, sort_keys=True))}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot record a {type(value).__name__} from the knowledge graph")


def from_json(value: Any) -> Any:
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__set__" in value:
        return {from_json(v) for v in value["__set__"]}
    if "__type__" in value:
        module_name, _, name = str(value["__type__"]).rpartition(".")
        if not module_name.startswith("kg."):
            raise KgQueryNotRecorded(f"refusing to revive {value['__type__']!r}: not a kg type")
        cls = getattr(importlib.import_module(module_name), name)
        return cls.model_validate(value["value"])
    return {k: from_json(v) for k, v in value.items()}


def query_key(method: str, args: Any, kwargs: Any) -> str:
    """The query by name and its arguments bound to the protocol's parameters (defaults filled
    in), so a query matches however its caller (or a proxy in between) spelled the call."""
    parameters = KgQuery(method, tuple(args), dict(kwargs), backend="").parameters
    return json.dumps([method, to_json(parameters)], sort_keys=True, ensure_ascii=False)


class QueryTranscript:
    """A graph-store observer keeping a transcript line of each named query that answered (a
    query that raised is not replayable and is left out: replay then fails loudly on it)."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def __call__(self, query: KgQuery) -> None:
        if query.error is not None:
            return
        self.lines.append(
            {
                "type": "kg_query",
                "method": query.name,
                "args": to_json(list(query.args)),
                "kwargs": to_json(query.kwargs),
                "result": to_json(query.result),
            }
        )


class ReplayGraphStore:
    """Answers the recorded queries; anything else raises ``KgQueryNotRecorded``."""

    def __init__(self, lines: list[dict[str, Any]]) -> None:
        self._queues: dict[str, deque[Any]] = defaultdict(deque)
        self._last: dict[str, Any] = {}
        self._recorded = lines
        self.misses: list[str] = []
        for line in lines:
            key = query_key(line["method"], line.get("args", []), line.get("kwargs", {}))
            self._queues[key].append(line.get("result"))

    def close(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            key = query_key(name, to_json(list(args)), to_json(kwargs))
            queue = self._queues.get(key)
            if queue:
                self._last[key] = queue.popleft()
            elif key not in self._last:
                self.misses.append(self._explain(name, key))
                raise KgQueryNotRecorded(self.misses[-1])
            return from_json(self._last[key])

        return call

    def _explain(self, name: str, key: str) -> str:
        same = [
            query_key(x["method"], x.get("args", []), x.get("kwargs", {})) for x in self._recorded
        ]
        same = [k for k in same if json.loads(k)[0] == name]
        recorded = "\n  ".join(same[:5]) or "(none)"
        return f"kg query not in transcript: {key}\n recorded {name} queries:\n  {recorded}"

    def unused(self) -> int:
        return sum(len(q) for q in self._queues.values())


def kg_drift(lines: list[dict[str, Any]], store: Any, *, limit: int = 5) -> list[str]:
    """The recorded KG queries that ``store`` now answers differently (at most ``limit``
    described): a transcript recorded before a KG content change replays the old answers, so
    replay alone cannot see the change. Lists are compared as multisets (row order is the
    engine's, not part of the answer)."""
    drifted: list[str] = []
    for line in lines:
        args, kwargs = from_json(line.get("args", [])), from_json(line.get("kwargs", {}))
        now = to_json(getattr(store, line["method"])(*args, **kwargs))
        if _unordered(now) != _unordered(line.get("result")):
            drifted.append(
                f"{line['method']}{tuple(args)!r}: recorded {_brief(line.get('result'))}, "
                f"now {_brief(now)}"
            )
    if len(drifted) > limit:
        drifted = [*drifted[:limit], f"... and {len(drifted) - limit} more"]
    return drifted


def _unordered(value: Any) -> Any:
    if isinstance(value, list):
        return sorted((_unordered(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, dict):
        return {k: _unordered(v) for k, v in value.items()}
    return value


def _brief(value: Any, width: int = 300) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= width else text[: width - 1] + "…"
