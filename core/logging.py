"""structlog configuration with PHI redaction.

Application logs never carry note text, questions, answers, names or direct identifiers: those live
only in the audit store. The ``redact_phi`` processor enforces that for every event, whatever the
caller passed: free-text keys are replaced by their length, identifier keys by a short keyed hash
(stable within a process, so one patient's events still correlate, but not reversible from logs).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

# Keys whose values are free text that may contain PHI: logged as their length only.
_TEXT_KEYS = frozenset(
    {
        "text",
        "note",
        "notes",
        "content",
        "question",
        "answer",
        "prompt",
        "messages",
        "completion",
        "body",
        "payload",
        "summary",
        "name",
        "patient_name",
        "address",
        "phone",
        "birth_date",
        "dob",
    }
)
# Keys whose values identify a person: logged as a keyed hash.
_ID_KEYS = frozenset({"patient_id", "patient", "mrn", "identifier", "identifiers", "nhi"})

_SALT = os.urandom(16)


def pseudonym(value: str) -> str:
    """A short, per-process keyed hash of an identifier, for log correlation without disclosure."""
    return "p_" + hashlib.blake2b(value.encode(), key=_SALT, digest_size=6).hexdigest()


def redact_phi(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key == "event":
            continue
        value = event_dict[key]
        if key in _TEXT_KEYS and value is not None:
            event_dict[key] = f"<redacted {len(str(value))} chars>"
        elif key in _ID_KEYS and value is not None:
            event_dict[key] = pseudonym(str(value))
    return event_dict


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is *now*: a logger must not keep a stream that a test
    runner or a CLI harness swapped in and has since closed."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(
    *, level: str = "INFO", fmt: str = "console", stream: TextIO | None = None
) -> None:
    """Configure structlog once per process (CLI, server).

    Logs go to ``stream`` when given, else to whatever ``sys.stderr`` is at each write.
    """
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_phi,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(
            file=stream or _CurrentStderr()  # type: ignore[arg-type]
        ),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
