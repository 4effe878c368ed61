"""A readable diff of a request that is not in a transcript against its nearest recorded request.

The core server's diff prints each message's content as one JSON string (a whole patient record on
one line, cut at the error-size limit). Here contents are split into lines first, so the diff
shows the one prompt line that drifted.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from core.model.transcript import RecordedCall, normalize_request


def readable(body: dict[str, Any]) -> list[str]:
    norm = normalize_request(body)
    messages = norm.pop("messages", [])
    lines = json.dumps(norm, sort_keys=True, indent=1, ensure_ascii=False).splitlines()
    for number, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else message
        lines.append(f"messages[{number}] role={message.get('role', '?')}:")
        if isinstance(content, str):
            lines += [f"  {line}" for line in content.splitlines()]
        else:
            lines.append("  " + json.dumps(content, sort_keys=True, ensure_ascii=False))
    return lines


def _step(body: dict[str, Any]) -> str:
    fmt = body.get("response_format") or {}
    return str((fmt.get("json_schema") or {}).get("name", fmt.get("type", "")))


def nearest_diff(calls: list[RecordedCall], body: dict[str, Any], *, context: int = 2) -> str:
    """Unified diff of ``body`` against the most similar recorded request."""
    if not calls:
        return "the transcript holds no model calls"
    got = readable(body)
    same_step = [c for c in calls if _step(c.request) == _step(body)] or calls

    def similarity(call: RecordedCall) -> float:
        return difflib.SequenceMatcher(None, readable(call.request), got, autojunk=False).ratio()

    best = max(same_step, key=similarity)
    diff = difflib.unified_diff(
        readable(best.request),
        got,
        fromfile=f"recorded (line {best.line}, step {_step(best.request) or '?'})",
        tofile="requested",
        lineterm="",
        n=context,
    )
    return "\n".join(diff)
