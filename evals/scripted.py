"""A deterministic stand-in model for eval suites: the baseline a real model is compared with.

It answers the ward round's structured steps by their schema name: the router picks specialists by
the project's keyword rule; specialists and the synthesizer summarise and cite the first patient
facts named in their own tool results (so their citations are real). It knows no medicine: its
suite numbers measure the deterministic safety net and the plumbing, not clinical reasoning.
"""

from __future__ import annotations

import re
from typing import Any

from agents.router import keyword_route
from core.model.replies import Reply

_FHIR_TYPES = (
    "Observation|Condition|MedicationRequest|MedicationStatement|AllergyIntolerance|"
    "DocumentReference|ImagingStudy|Encounter"
)
_REF = re.compile(rf"\b((?:{_FHIR_TYPES})/[A-Za-z0-9\-.]+)")
"""A FHIR reference, bracketed (``[Observation/x]``) or in a list (``cite: Observation/x, ...``)."""
_IMAGING = re.compile(r"^- imaging studies: (\d+)$", re.MULTILINE)
"""The router's count of imaging studies (``agents.router.record_facts``)."""


def step_of(body: dict[str, Any]) -> str:
    fmt = body.get("response_format") or {}
    return str((fmt.get("json_schema") or {}).get("name", ""))


def _text(body: dict[str, Any], index: int) -> str:
    messages = body.get("messages") or []
    if len(messages) <= index:
        return ""
    content = messages[index].get("content")
    return content if isinstance(content, str) else ""


def _refs(text: str, limit: int) -> list[str]:
    return list(dict.fromkeys(_REF.findall(text)))[:limit]


def _question(body: dict[str, Any]) -> str:
    user = _text(body, len(body.get("messages") or []) - 1)
    return user.rsplit("Question:", 1)[-1].strip()


def scripted_ward_model(body: dict[str, Any]) -> Reply:
    """The reply to one ward-round request (router, specialist or synthesizer)."""
    step = step_of(body)
    if step == "router":
        has_imaging = int((_IMAGING.findall(_text(body, 1)) or ["0"])[0]) > 0
        return Reply.json({"specialists": keyword_route(_question(body), has_imaging)})
    evidence = _text(body, 2) or _text(body, len(body.get("messages") or []) - 1)
    refs = _refs(evidence, 2) or _refs(_text(body, 0), 2)
    zh = "繁體中文" in _text(body, 1)
    if step == "synthesizer":
        answer = "見下列規則計算的發現。" if zh else "See the rule-computed findings below."
        claims = [{"text": "The latest results are cited here.", "citations": refs}] if refs else []
        return Reply.json({"answer": answer, "claims": claims})
    point = {"text": f"{step}: key evidence", "citations": refs} if refs else None
    return Reply.json({"summary": f"{step} reviewed.", "key_points": [point] if point else []})
