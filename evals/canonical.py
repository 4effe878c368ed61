"""The canonical form of a ward-round result: what replay compares and transcripts store.

Left out, because they differ between two runs of the same conversation: ``run_id``,
``thread_id``, ``timings`` (wall clock), each specialist's ``duration_ms`` and ``model.base_url``
(the replay server's address is not the recorded one). Findings and specialists are sorted (by id
and by name): parallel specialists may finish in any order. The detail of a model failure quoted
in the answer or a degraded reason ("ModelTimeout: the model at URL did not answer in time") is
masked to its class ("ModelTimeout: <detail>"): replay reproduces the failure, not the server's
wording or address. Everything else — the answer text, every finding, claim and citation, the
route, tokens, which steps degraded and why — must be identical.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from graphs.result import WardRoundResult

VOLATILE_FIELDS = frozenset({"run_id", "thread_id", "timings"})
MODEL_FAILURE = re.compile(
    r"\b(Model(?:Unavailable|Timeout|RateLimited|ServerError|RequestRejected|OutputInvalid)"
    r"|ToolLoopExceeded|StreamInterrupted): .*?(?=\.\s|\n|$)"
)


def mask_model_failures(value: Any) -> Any:
    if isinstance(value, str):
        return MODEL_FAILURE.sub(r"\1: <detail>", value)
    if isinstance(value, list):
        return [mask_model_failures(v) for v in value]
    if isinstance(value, dict):
        return {k: mask_model_failures(v) for k, v in value.items()}
    return value


def canonical_result(result: WardRoundResult | dict[str, Any]) -> dict[str, Any]:
    data = result.model_dump(mode="json") if isinstance(result, WardRoundResult) else dict(result)
    out: dict[str, Any] = {k: v for k, v in data.items() if k not in VOLATILE_FIELDS}
    out["model"] = {k: v for k, v in (data.get("model") or {}).items() if k != "base_url"}
    out["specialists"] = sorted(
        ({k: v for k, v in s.items() if k != "duration_ms"} for s in data.get("specialists", [])),
        key=lambda s: str(s.get("name")),
    )
    out["findings"] = sorted(data.get("findings", []), key=lambda f: str(f.get("id")))
    masked = mask_model_failures(out)
    canonical: dict[str, Any] = json.loads(json.dumps(masked, sort_keys=True, ensure_ascii=False))
    return canonical


def canonical_text(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False)


def result_diff(recorded: dict[str, Any], replayed: dict[str, Any]) -> str:
    """A unified diff of two canonical results ('' when they are identical)."""
    if recorded == replayed:
        return ""
    lines = difflib.unified_diff(
        canonical_text(recorded).splitlines(),
        canonical_text(replayed).splitlines(),
        fromfile="recorded",
        tofile="replayed",
        lineterm="",
        n=2,
    )
    return "\n".join(lines)
