"""Logging survives a swapped-and-closed stderr, and redacts PHI in the configured chain."""

from __future__ import annotations

import io
import sys

import pytest
import structlog

from core.logging import configure_logging, get_logger, redact_phi


def test_logs_follow_the_current_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    harness = io.StringIO()
    monkeypatch.setattr(sys, "stderr", harness)
    configure_logging(level="INFO")  # configured while a harness owns stderr ...
    harness.close()  # ... which then closes it
    later = io.StringIO()
    monkeypatch.setattr(sys, "stderr", later)
    get_logger("t").info("still.logging", run_id="r1")
    assert "still.logging" in later.getvalue()
    structlog.reset_defaults()


def test_redaction_hides_text_and_identifiers() -> None:
    event = redact_phi(
        None, "info", {"event": "x", "question": "Mr Chen's INR?", "patient_id": "aki-on-ckd"}
    )
    assert event["question"] == "<redacted 14 chars>"
    assert str(event["patient_id"]).startswith("p_")
    assert "aki-on-ckd" not in str(event)
