"""FHIR R4 patient records: parse bundles into ``core.domain.PatientRecord`` and load them.

    from tools.fhir import DirectoryPatientSource, parse_bundle
    record = await DirectoryPatientSource(settings.patients_dir).load("aki-on-ckd")
    record = parse_bundle("data/patients/dka.json")

``FhirServerSource(settings.fhir_url, httpx.AsyncClient(...))`` reads the same records from a FHIR
server. ``FHIR_TOOLS`` are the record tools for agents (bind with ``bind_tools(record, ...)``);
``record_findings(record)`` turns parse-time data issues into findings.
"""

from __future__ import annotations

from tools.fhir.locators import DICOM_FILE_EXTENSION, resolve_locator
from tools.fhir.parse import parse_bundle
from tools.fhir.record_tools import FHIR_TOOLS, record_findings
from tools.fhir.server_source import FhirServerSource, FhirServerUnavailable
from tools.fhir.sources import DirectoryPatientSource, PatientSource, load_patient, summarise
from tools.fhir.tooling import RecordTool, bind_tools

__all__ = [
    "DICOM_FILE_EXTENSION",
    "FHIR_TOOLS",
    "DirectoryPatientSource",
    "FhirServerSource",
    "FhirServerUnavailable",
    "PatientSource",
    "RecordTool",
    "bind_tools",
    "load_patient",
    "parse_bundle",
    "record_findings",
    "resolve_locator",
    "summarise",
]
