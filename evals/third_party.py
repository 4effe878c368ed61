"""Third-party FHIR bundles: the findings a ward pharmacist expects, against what a round finds.

The bundles and their expectations live in ``tests/data/fhir-external`` (``expected.yaml``: per
bundle, each expected finding with the pharmacist's one-line rationale and, for KG facts, its
source; ``absent: true`` marks a finding that must NOT appear, e.g. an interaction with a drug
that was stopped years ago). Each bundle runs one ward round with the model down (every chat
request answers 503), so only the deterministic findings count: that is the safety net's promise.

Used by ``tests/external/test_third_party_bundles.py`` (which asserts the entries marked
``status: required``) and ``benchmarks/third_party_findings.py`` (which prints them all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from langgraph.checkpoint.memory import InMemorySaver

from core.domain import Finding
from core.model.client import ModelClient
from core.model.replies import Reply
from core.model.transcript_server import Fault, TranscriptServer
from core.model.types import ModelConfig
from core.settings import Settings
from graphs.result import WardRoundResult
from graphs.run import ask
from graphs.ward_round import build_ward_round
from kg.store import GraphStore
from server.wiring import build_deps
from tools.fhir.sources import DirectoryPatientSource

BUNDLES = Path(__file__).resolve().parent.parent / "tests" / "data" / "fhir-external"
EXPECTED = BUNDLES / "expected.yaml"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
"""The round's clock: fixed, so 'years old' and ages read the same on every run."""

STATEMENT = "statement"
_CITED = re.compile(r"\[[^\]]*\]")
# expectation vocabulary -> the finding kinds that satisfy it
KINDS: dict[str, frozenset[str]] = {
    "interaction": frozenset({"interaction"}),
    "contraindication": frozenset({"contraindication"}),
    "allergy_conflict": frozenset({"allergy_conflict"}),
    "lab_flag": frozenset({"lab_flag"}),
    "monitoring": frozenset({"monitoring", "missing_monitoring"}),
    "missing_monitoring": frozenset({"missing_monitoring"}),
    "score": frozenset({"score"}),
    "unresolved_drug": frozenset({"unresolved_drug"}),
}


@dataclass(frozen=True)
class Expectation:
    bundle: str
    kind: str
    why: str
    drugs: tuple[str, ...] = ()
    labs: tuple[str, ...] = ()
    text: str = ""
    """A regular expression the finding's summary must match (case-insensitive)."""
    absent: bool = False
    required: bool = False
    source: str = ""
    owner: str = ""

    @property
    def label(self) -> str:
        what = " + ".join(self.drugs) or " / ".join(self.labs) or self.text
        return f"{'no ' if self.absent else ''}{self.kind}: {what}".strip()


def load_expectations(path: Path = EXPECTED) -> dict[str, list[Expectation]]:
    data = yaml.safe_load(path.read_text("utf-8"))
    out: dict[str, list[Expectation]] = {}
    for bundle, spec in data["bundles"].items():
        out[bundle] = [_expectation(bundle, item) for item in spec.get("expect") or []]
    return out


def _expectation(bundle: str, item: dict[str, Any]) -> Expectation:
    return Expectation(
        bundle=bundle,
        kind=item["kind"],
        why=item["why"],
        drugs=tuple(str(d).lower() for d in item.get("drugs") or ()),
        labs=tuple(str(c) for c in item.get("labs") or ()),
        text=item.get("text", ""),
        absent=bool(item.get("absent", False)),
        required=item.get("status") == "required",
        source=item.get("source", ""),
        owner=item.get("owner", ""),
    )


def questions(path: Path = EXPECTED) -> dict[str, str]:
    data = yaml.safe_load(path.read_text("utf-8"))
    return {bundle: spec["question"] for bundle, spec in data["bundles"].items()}


def _kinds(kind: str) -> frozenset[str]:
    return KINDS.get(kind, frozenset({kind}))


def _names(finding: Finding) -> str:
    return " | ".join([*finding.drugs, finding.summary]).lower()


def finding_matches(exp: Expectation, finding: Finding) -> bool:
    """Same kind, every expected drug named, one of the expected labs, the summary's text."""
    if finding.kind not in _kinds(exp.kind) or finding.origin != "rule":
        return False
    if exp.drugs and not all(_word_in(d, _names(finding)) for d in exp.drugs):
        return False
    if exp.labs and not set(exp.labs) & set(finding.labs):
        return False
    return not exp.text or re.search(exp.text, finding.summary, re.IGNORECASE) is not None


def _word_in(word: str, text: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", text) is not None


def found(exp: Expectation, result: WardRoundResult) -> bool:
    """Whether the round produced it: a finding, or for a ``statement`` any rule finding's
    summary or the answer saying ``text``."""
    if exp.kind == STATEMENT:
        answer = _CITED.sub("", result.answer)  # refs are ids, not words
        texts = [f.summary for f in result.findings if f.origin == "rule"] + [answer]
        return any(re.search(exp.text, t, re.IGNORECASE) for t in texts)
    return any(finding_matches(exp, f) for f in result.findings)


def met(exp: Expectation, result: WardRoundResult) -> bool:
    """An expected finding is found; an ``absent`` one is not."""
    return found(exp, result) is not exp.absent


def model_down() -> tuple[httpx.AsyncClient, ModelClient]:
    """A real client against a model endpoint that answers every request with 503."""

    async def never(body: dict[str, Any]) -> Reply:
        raise AssertionError("the model is down: no request should reach the script")

    server = TranscriptServer(script=never, model_name="down")
    server.inject(Fault("status", status=503, times=1_000_000))
    config = ModelConfig(server.base_url_inprocess, "down", max_retries=0)
    http = server.http_client()
    return http, ModelClient(config, http_client=http, capabilities=server.profile)


async def round_with_model_down(
    store: GraphStore | None, bundle: str, question: str, bundles: Path = BUNDLES
) -> WardRoundResult:
    http, client = model_down()
    try:
        deps = build_deps(
            Settings(),
            use_model=False,  # nothing from the environment: the model is down, by design
            use_kg=store is not None,
            patients=DirectoryPatientSource(bundles, clock=lambda: NOW),
            model=client,
            graph_store=store,
            clock=lambda: NOW,
        )
        graph = build_ward_round(deps, InMemorySaver())
        return await ask(graph, patient_id=bundle, question=question)
    finally:
        await client.aclose()
        await http.aclose()
