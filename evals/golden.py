"""Golden transcripts: a few recorded rounds, committed under ``evals/golden/``, replayed in CI.

Each golden is a transcript written by ``wardround evals record`` with the scripted model (fast and
deterministic) and PHI redaction, most with the knowledge graph (one without: the degraded mode),
so CI replays whole rounds with neither a model nor a KG, and the committed files hold no patient
names or identifiers. ``check_golden``
replays one and names everything that makes it stale, each problem with the command that
re-records it:

- **orphan**: its case is in no suite any more, or the case's patient or question changed;
- **recording**: not made as goldens are (scripted model, ``--phi redact``);
- **topology**: the compiled graph's mermaid drawing no longer hashes to the recorded value;
- **requests**: today's code asks the model something the transcript does not hold (the message
  carries the request diff), or asks the KG something it does not hold;
- **answer**: the canonical result differs from the recorded one (the message carries the diff);
- **unused**: recorded model calls or KG queries today's round no longer makes;
- **kg** (when a knowledge graph is given): the graph now answers a recorded query differently, so
  the golden replays answers the shipped KG content no longer gives (replay alone cannot see it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import DataFileError
from evals.cases import find_case
from evals.kg_io import kg_drift
from evals.replay import ReplayMismatch, read_run, replay
from evals.runner import SCRIPTED

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
"""Where the committed goldens live (``--out evals/golden`` from the repository root)."""


def golden_files(directory: Path = GOLDEN_DIR) -> list[Path]:
    return sorted(directory.glob("*.jsonl"))


def rerecord_command(case_id: str, *, kg: bool = True) -> str:
    """The exact command that (re)writes the golden of ``case_id``, from the repository root."""
    return (
        f"wardround evals record --model-url {SCRIPTED} --case {case_id} "
        f"{'--kg' if kg else '--no-kg'} --phi redact --out evals/golden"
    )


@dataclass(frozen=True)
class GoldenProblem:
    path: Path
    case_id: str
    kind: str
    """orphan | recording | topology | requests | answer | unused | kg"""
    detail: str
    kg: bool = True
    """Recorded with the knowledge graph (re-recording then needs it loaded)."""

    def message(self) -> str:
        fix = (
            f"delete {self.path.name}, or re-record it"
            if self.kind == "orphan"
            else "if the change is intended, re-record it"
        )
        if self.kg:
            fix += " (with the knowledge graph loaded: 'wardround kg load')"
        return (
            f"golden {self.path.name} ({self.kind}): {self.detail}\n"
            f"  {fix}:\n  {rerecord_command(self.case_id, kg=self.kg)}"
        )


def _orphan(header: dict[str, Any]) -> str | None:
    case_id = str(header.get("case_id") or "")
    try:
        case = find_case(case_id)
    except DataFileError:
        return f"case {case_id!r} is in no suite under evals/cases/"
    if (case.patient, case.question) != (header.get("patient_id"), header.get("question")):
        return (
            f"case {case_id!r} now asks {case.question!r} of {case.patient!r}; the golden "
            f"recorded {header.get('question')!r} of {header.get('patient_id')!r}"
        )
    return None


def _recording(header: dict[str, Any]) -> str | None:
    made = (header["model"].get("name"), header.get("phi"))
    if made != (SCRIPTED, "redact"):
        return f"recorded with model, phi = {made}, not ({SCRIPTED!r}, 'redact')"
    return None


async def check_golden(path: Path, *, kg: Any = None) -> list[GoldenProblem]:
    """Replay one golden; every way it has gone stale (empty: it replays exactly). With ``kg``
    (a ``GraphStore`` on the shipped curated content), its recorded KG answers are asked again."""
    header, _, kg_queries = read_run(path)
    case_id = str(header.get("case_id") or path.stem)

    def problem(kind: str, detail: str) -> GoldenProblem:
        return GoldenProblem(path, case_id, kind, detail, kg=bool(header.get("kg")))

    found = [
        problem(kind, detail)
        for kind, detail in (("orphan", _orphan(header)), ("recording", _recording(header)))
        if detail
    ]
    drifted = kg_drift(kg_queries, kg) if kg is not None and header.get("kg") else []
    if drifted:
        found.append(
            problem("kg", "the knowledge graph now answers differently:\n  " + "\n  ".join(drifted))
        )
    try:
        outcome = await replay(path)
    except ReplayMismatch as mismatch:
        return [*found, problem("requests", str(mismatch))]
    if outcome.topology_changed:
        found.append(problem("topology", "the ward-round graph's topology hash changed"))
    if not outcome.identical:
        found.append(problem("answer", f"the canonical result differs:\n{outcome.diff}"))
    if outcome.unused_calls or outcome.unused_kg_queries:
        found.append(
            problem(
                "unused",
                f"{outcome.unused_calls} recorded model call(s) and "
                f"{outcome.unused_kg_queries} KG query(ies) were not asked for",
            )
        )
    return found
