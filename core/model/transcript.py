"""Transcript files: recorded model calls, matched on the normalized request body.

Format (JSONL, UTF-8, one JSON object per line, readable in any editor):

- ``{"type": "header", ...}``: optional first line, run metadata (evals writes it).
- ``{"type": "model_call", "request": {...}, "response": {...}, "chunks": [...], ...}``: one
  chat-completions call. ``request`` is the exact body the client sent; ``response`` the
  completion (or ``chunks``, the SSE chunks of a streamed reply); ``status`` an error status.
- other ``type`` values (``kg_query``, ``fhir_fetch``...) belong to the evals replayer and are
  ignored here.

Matching ignores only transport details (``stream``, ``stream_options``) and ``null`` fields: any
other change to a prompt, tool schema or parameter is a mismatch, on purpose: prompt drift must
break replay loudly, with a diff against the nearest recorded request.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import DataFileError

_TRANSPORT_KEYS = frozenset({"stream", "stream_options"})


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def normalize_request(body: dict[str, Any]) -> dict[str, Any]:
    cleaned = {k: v for k, v in body.items() if k not in _TRANSPORT_KEYS}
    result: dict[str, Any] = _drop_nulls(cleaned)
    return result


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def request_key(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(normalize_request(body)).encode()).hexdigest()


@dataclass
class RecordedCall:
    request: dict[str, Any]
    response: dict[str, Any] | None = None
    chunks: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    error: str | None = None
    line: int = 0

    def to_line(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "model_call", "request": self.request}
        if self.response is not None:
            out["response"] = self.response
        if self.chunks:
            out["chunks"] = self.chunks
        if self.status != 200:
            out["status"] = self.status
            out["error"] = self.error
        return out


def read_transcript(path: Path) -> tuple[dict[str, Any], list[RecordedCall]]:
    """The header (``{}`` if none) and the model calls of a transcript file."""
    header: dict[str, Any] = {}
    calls: list[RecordedCall] = []
    for number, line in transcript_lines(path):
        kind = line.get("type", "model_call")
        if kind == "header":
            header = line
        elif kind == "model_call":
            if not isinstance(line.get("request"), dict):
                raise DataFileError("model_call without a request", file=str(path), line=number)
            calls.append(
                RecordedCall(
                    request=line["request"],
                    response=line.get("response"),
                    chunks=line.get("chunks") or [],
                    status=int(line.get("status", 200)),
                    error=line.get("error"),
                    line=number,
                )
            )
    return header, calls


def transcript_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """Each non-blank line of a transcript file, parsed, with its line number."""
    with path.open(encoding="utf-8") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except json.JSONDecodeError as err:
                raise DataFileError(f"not JSON: {err.msg}", file=str(path), line=number) from err
            yield number, line


class TranscriptIndex:
    """Recorded calls keyed by request; identical requests are served in recorded order."""

    def __init__(self, calls: list[RecordedCall]) -> None:
        self._by_key: dict[str, deque[RecordedCall]] = defaultdict(deque)
        self._last: dict[str, RecordedCall] = {}
        self._all = calls
        for call in calls:
            self._by_key[request_key(call.request)].append(call)

    def __len__(self) -> int:
        return len(self._all)

    def take(self, body: dict[str, Any]) -> RecordedCall | None:
        key = request_key(body)
        queue = self._by_key.get(key)
        if queue:
            self._last[key] = queue.popleft()
            return self._last[key]
        return self._last.get(key)  # a repeat of a request already served: same answer

    def unused(self) -> list[RecordedCall]:
        return [c for q in self._by_key.values() for c in q]

    def explain_miss(self, body: dict[str, Any]) -> str:
        """A unified diff of ``body`` against the most similar recorded request."""
        got = json.dumps(normalize_request(body), sort_keys=True, indent=1, ensure_ascii=False)
        if not self._all:
            return "the transcript holds no model calls"
        best, best_ratio = self._all[0], -1.0
        for call in self._all:
            want = json.dumps(
                normalize_request(call.request), sort_keys=True, indent=1, ensure_ascii=False
            )
            ratio = difflib.SequenceMatcher(None, want, got, autojunk=False).quick_ratio()
            if ratio > best_ratio:
                best, best_ratio = call, ratio
        want = json.dumps(
            normalize_request(best.request), sort_keys=True, indent=1, ensure_ascii=False
        )
        diff = difflib.unified_diff(
            want.splitlines(),
            got.splitlines(),
            fromfile=f"recorded (line {best.line})",
            tofile="requested",
            lineterm="",
            n=2,
        )
        return "\n".join(diff)
