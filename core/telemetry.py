"""Optional OpenTelemetry export of every run (the ``otel`` extra: ``wardround[otel]``).

When ``WARDROUND_OTEL_ENDPOINT`` is set (an OTLP/HTTP collector, e.g. ``http://otel:4318``; the
``/v1/traces`` path is added unless given), each finished run is exported as one trace over
OTLP/HTTP (protobuf), shaped by ``core.telemetry_spans`` after the OpenTelemetry GenAI semantic
conventions: a workflow span per run, a span per node, per model call, per tool call and per KG
query, with timings and token counts — and no patient data. Prompt and response content is
exported only with ``WARDROUND_OTEL_EXPORT_CONTENT=true``, and then redacted (the patient's id,
name and identifiers, looked up from the record source, become ``[REDACTED]``).

How: the exporter listens to the audit store (``AuditStore.add_listener``). When a run ends
(``request.answered``, or the ``error`` event with ``where: run`` that a run which raised ends
with) it reads the run back as a tree and replays it as spans with their recorded start and end
times, so the trace is exactly the audit record's shape and a failing collector can never slow or
break a round (the SDK's batch processor exports in its own thread; errors are logged, not raised).
A failed run's workflow span has status ERROR and ``error.type`` (the exception's class name;
never its message). The audit store stays the record of truth; OTel is a copy for dashboards.

The extra is imported only when the endpoint is set: without it, startup fails with
``TelemetryUnavailable`` naming the missing package.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.audit import RUN_FAILED, AuditEvent, AuditStore, EventKind
from core.domain import PatientRecord
from core.errors import ConfigurationError
from core.logging import get_logger
from core.settings import Settings
from core.telemetry_spans import SpanSpec, run_spans

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

log = get_logger(__name__)
RecordLoader = Callable[[str], Awaitable[PatientRecord]]


class TelemetryUnavailable(ConfigurationError):
    """OpenTelemetry export is configured but the ``otel`` extra is not installed."""

    title = "OpenTelemetry not installed"


def _ends_run(event: AuditEvent) -> bool:
    """``request.answered``, or the ``error`` a run that raised before answering ends with."""
    if event.kind == EventKind.REQUEST_ANSWERED:
        return True
    return event.kind == EventKind.ERROR and event.payload.get("where") == RUN_FAILED


def traces_url(endpoint: str) -> str:
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


def _provider(endpoint: str) -> TracerProvider:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise TelemetryUnavailable(
            "WARDROUND_OTEL_ENDPOINT is set but OpenTelemetry is not installed "
            f"({exc.name or 'opentelemetry'} missing): pip install 'wardround[otel]', "
            "or unset WARDROUND_OTEL_ENDPOINT"
        ) from exc
    provider = TracerProvider(resource=Resource.create({"service.name": "wardround"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(endpoint))))
    return provider


class RunTraceExporter:
    """Exports each finished run of ``store`` as an OTel trace (see the module docstring)."""

    def __init__(
        self,
        store: AuditStore,
        provider: TracerProvider,
        *,
        export_content: bool = False,
        records: RecordLoader | None = None,
    ) -> None:
        self.store = store
        self.provider = provider
        self.export_content = export_content
        self.records = records
        self._tracer = provider.get_tracer("wardround")

    async def on_event(self, event: AuditEvent) -> None:
        if event.run_id is None or not _ends_run(event):
            return
        try:
            tree = await self.store.run(event.run_id)
            terms = await self._identity(event.patient_id) if self.export_content else []
            self.export(run_spans(tree, content=self.export_content, redact_terms=terms))
        except Exception as exc:  # a trace copy must never break a round
            log.warning("otel.export_failed", run_id=event.run_id, error=type(exc).__name__)

    async def _identity(self, patient_id: str | None) -> list[str]:
        """What content redaction removes: the patient's id, name (and its parts), identifiers."""
        if patient_id is None:
            return []
        terms = [patient_id]
        if self.records is not None:
            try:
                patient = (await self.records(patient_id)).patient
            except Exception as exc:
                log.warning("otel.identity_unavailable", error=type(exc).__name__)
            else:
                terms += [patient.name, *patient.name.split(), *patient.identifiers]
                terms += [i.rsplit("|", 1)[-1] for i in patient.identifiers]
        return [t for t in terms if len(t) > 2]

    def export(self, spec: SpanSpec, parent: Any = None) -> None:
        from opentelemetry import trace
        from opentelemetry.trace import SpanKind, Status, StatusCode

        kind = SpanKind.CLIENT if spec.kind == "client" else SpanKind.INTERNAL
        span = self._tracer.start_span(
            spec.name,
            context=parent,
            kind=kind,
            attributes=spec.attributes,
            start_time=_ns(spec.start),
        )
        for name, ts, attributes in spec.events:
            span.add_event(name, attributes=attributes, timestamp=_ns(ts))
        if spec.error:
            span.set_attribute("error.type", spec.error)
            span.set_status(Status(StatusCode.ERROR))
        context = trace.set_span_in_context(span)
        for child in spec.children:
            self.export(child, context)
        span.end(end_time=max(_ns(spec.end), _ns(spec.start)))

    def flush(self, timeout_ms: int = 10_000) -> bool:
        return bool(self.provider.force_flush(timeout_ms))

    def shutdown(self) -> None:
        self.provider.shutdown()


def open_telemetry(
    settings: Settings, store: AuditStore, *, records: RecordLoader | None = None
) -> RunTraceExporter | None:
    """The configured exporter, listening to ``store``; ``None`` when no endpoint is set."""
    if not settings.otel_endpoint:
        return None
    exporter = RunTraceExporter(
        store,
        _provider(settings.otel_endpoint),
        export_content=settings.otel_export_content,
        records=records,
    )
    store.add_listener(exporter.on_event)
    log.info("otel.enabled", content=settings.otel_export_content)
    return exporter


def _ns(ts: datetime) -> int:
    return int(ts.timestamp() * 1_000_000) * 1_000
