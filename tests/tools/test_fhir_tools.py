"""Record tools for agents: typed run, langchain-core binding, OpenAI-format schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import pytest

from core.domain import PatientRecord
from core.errors import InvalidInput
from core.settings import SHIPPED_DATA
from tools.fhir import FHIR_TOOLS, bind_tools, parse_bundle, record_findings
from tools.labs import LAB_TOOLS


@cache
def record(pid: str = "warfarin-clarithromycin") -> PatientRecord:
    return parse_bundle(
        SHIPPED_DATA / "patients" / f"{pid}.json", now=datetime(2026, 1, 1, tzinfo=UTC)
    )


def test_schemas_are_openai_function_tools() -> None:
    for tool in [*FHIR_TOOLS.values(), *LAB_TOOLS.values()]:
        schema = tool.tool_schema()
        assert schema["type"] == "function"
        assert schema["function"]["name"] == tool.name
        assert schema["function"]["description"]
    trend = LAB_TOOLS["lab_trend"].tool_schema()["function"]["parameters"]
    assert trend["required"] == ["loinc"]


def test_bound_structured_tools_run_on_the_record() -> None:
    tools = {t.name: t for t in bind_tools(record(), FHIR_TOOLS, LAB_TOOLS)}
    assert set(tools) == set(FHIR_TOOLS) | set(LAB_TOOLS)
    trend = tools["lab_trend"].invoke({"loinc": "6301-6"})
    assert trend["latest"]["value"] == 5.6
    assert len(trend["points"]) == 4
    flags = tools["lab_flags"].invoke({"loinc": ["6301-6"]})
    assert [f["flag"] for f in flags["flags"]] == ["H", "H", "H", "HH"]
    hits = tools["search_notes"].invoke({"text": "出血"})
    assert hits["hits"][0]["ref"].startswith("DocumentReference/")
    meds = tools["list_medications"].invoke({})
    assert {m["codings"][0]["code"] for m in meds["medications"]} == {"11289", "21212", "17767"}


def test_bad_arguments_are_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="lab_trend"):
        LAB_TOOLS["lab_trend"].run(record(), {"loinc": 5, "extra": True})


def test_reference_range_tool_and_unknown_code() -> None:
    known = LAB_TOOLS["reference_range"].run(record(), {"loinc": "2823-3"})
    assert known.model_dump()["found"] is True
    unknown = LAB_TOOLS["reference_range"].run(record(), {"loinc": "0000-0"})
    assert unknown.model_dump()["found"] is False


def test_record_findings_from_data_issues() -> None:
    assert record_findings(record()) == []
    doc = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p"}},
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": "o",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0"}]},
                    "valueQuantity": {"value": -2, "code": "mg/dL"},
                }
            },
        ],
    }
    (finding,) = record_findings(parse_bundle(doc))
    assert finding.kind == "data_quality"
    assert finding.severity.value == "high"
    assert finding.citations[0].ref == "Observation/o"
