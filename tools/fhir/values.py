"""Small readers for FHIR datatypes (CodeableConcept, dateTime, Reference, Attachment).

The parsed ``fhir.resources`` models are typed ``Any`` here on purpose: the R4B classes are
generated and their element types are wide unions; these helpers are where a FHIR value becomes a
plain Python value, and nowhere else.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from core.domain import Coding
from core.errors import InvalidFhir

_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.-]+)", re.IGNORECASE)


def codings(concept: Any) -> tuple[Coding, ...]:
    """Every coding of a CodeableConcept (or a single Coding), local ones included."""
    if concept is None:
        return ()
    items = getattr(concept, "coding", None)
    if items is None and getattr(concept, "code", None) is not None:
        items = [concept]
    return tuple(
        Coding(system=c.system or "", code=c.code or "", display=c.display or "")
        for c in items or ()
    )


def concept_text(concept: Any) -> str:
    """The human label of a CodeableConcept: its text, else the first coding display or code."""
    if concept is None:
        return ""
    text = getattr(concept, "text", None)
    if text:
        return str(text)
    for c in codings(concept):
        if c.display or c.code:
            return c.display or c.code
    return ""


def first_code(concept: Any) -> str:
    """The code of the first coding (e.g. a status CodeableConcept), or ''."""
    for c in codings(concept):
        if c.code:
            return c.code
    return ""


def to_datetime(value: Any) -> datetime | None:
    """A FHIR date/dateTime/instant as an aware datetime; partial dates (2025, 2025-03) start the
    period they name and dates start at 00:00 UTC, so every fact can be ordered on one axis."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    m = _PARTIAL_DATE.match(str(value))
    if m:
        return datetime(int(m.group(1)), int(m.group(2) or 1), 1, tzinfo=UTC)
    return None


def period_start(period: Any) -> datetime | None:
    return to_datetime(getattr(period, "start", None)) if period is not None else None


def to_float(value: Decimal | float | int | None) -> float | None:
    return None if value is None else float(value)


def quantity_text(q: Any) -> str:
    if q is None or q.value is None:
        return ""
    unit = q.unit or q.code or ""
    return f"{q.value} {unit}".strip()


def decode_attachment(attachment: Any, path: str) -> str | None:
    """Decoded text of an inline attachment; ``None`` when it holds no inline text.

    ``fhir.resources`` has already base64-decoded ``data`` into bytes; the charset comes from
    ``contentType`` (UTF-8 when absent). Bytes that are not valid in that charset are an error,
    not something to guess around: a half-decoded note is worse than none.
    """
    data = getattr(attachment, "data", None)
    content_type = str(getattr(attachment, "contentType", "") or "text/plain")
    if data is None or not content_type.lower().startswith("text/"):
        return None
    m = _CHARSET.search(content_type)
    charset = m.group(1) if m else "utf-8"
    try:
        return bytes(data).decode(charset)
    except (LookupError, UnicodeDecodeError) as exc:
        raise InvalidFhir(
            f"attachment is not valid {charset} text ({type(exc).__name__})", path=path
        ) from exc
