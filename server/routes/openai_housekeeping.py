"""Requests a chat client makes for itself, answered without a ward round.

Open WebUI asks its model for a chat title, tags, follow-up suggestions, search queries and
autocompletions with prompts that begin ``### Task:`` and ask for a small JSON object. Run as a
ward round, each would read the patient's record, be audited as a clinical run and propose the
same approvals again (three extra rounds per message, measured). They get a neutral JSON answer
of the shape asked for, built here from no patient data, and no round runs. A request that names
no patient gets a short message saying how to pick one.
"""

from __future__ import annotations

import json

from core.domain import PatientSummary

TASK_PREFIX = "### Task:"

# The JSON key each client task asks for (Open WebUI's default task templates), and a neutral
# value: nothing in it comes from the record.
_TASK_REPLIES: tuple[tuple[str, object], ...] = (
    ('"follow_ups"', {"follow_ups": []}),
    ('"tags"', {"tags": ["Ward round"]}),
    ('"title"', {"title": "Ward round"}),
    ('"queries"', {"queries": []}),
    ('"text"', {"text": ""}),
)


def is_housekeeping(question: str) -> bool:
    return question.lstrip().startswith(TASK_PREFIX)


def housekeeping_reply(question: str) -> str:
    for key, reply in _TASK_REPLIES:
        if key in question:
            return json.dumps(reply)
    return "{}"


def pick_a_patient(patients: list[PatientSummary], limit: int = 20) -> str:
    """What the bare ``wardround`` model answers when no patient is named."""
    lines = [
        "wardround answers about one patient at a time, and this request names none.",
        "Pick a patient: choose the model `wardround/<patient id>` in your chat client, or send "
        "`metadata.patient_id` (or the `X-Wardround-Patient` header).",
    ]
    if patients:
        lines.append("Patients on your wards:")
        for p in patients[:limit]:
            lines.append(f"- wardround/{p.id} ({p.ward})")
        if len(patients) > limit:
            lines.append(f"- … and {len(patients) - limit} more (GET /v1/models lists them all)")
    else:
        lines.append("No patient on your wards can be reached now.")
    return "\n".join(lines)
