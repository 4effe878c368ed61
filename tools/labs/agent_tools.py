"""Lab tools for the lab interpreter: flags, trends, findings and reference ranges over a record."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.domain import PatientRecord
from tools.fhir.record_tools import FindingList, NoArguments
from tools.fhir.tooling import RecordTool, registry
from tools.labs.findings import lab_findings
from tools.labs.flags import LabFlag, lab_flags
from tools.labs.ranges import ReferenceRange, range_for
from tools.labs.trends import LabTrend, lab_trends


class FlagQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    abnormal_only: bool = Field(default=True, description="only abnormal or uninterpretable")
    loinc: list[str] = Field(default=[], description="LOINC codes; empty for all")


class FlagList(BaseModel):
    flags: list[LabFlag]


def flags_tool(record: PatientRecord, q: FlagQuery) -> FlagList:
    flags = lab_flags(record, abnormal_only=q.abnormal_only)
    return FlagList(flags=[f for f in flags if not q.loinc or f.loinc in q.loinc])


class TrendQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loinc: str = Field(description="LOINC of the analyte, e.g. 2160-0 for creatinine")


class RangeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loinc: str = Field(description="LOINC of the analyte")


class RangeAnswer(BaseModel):
    loinc: str
    found: bool
    range: ReferenceRange | None = None


def range_tool(_record: PatientRecord, q: RangeQuery) -> RangeAnswer:
    rr = range_for(q.loinc)
    return RangeAnswer(loinc=q.loinc, found=rr is not None, range=rr)


def _trend(record: PatientRecord, q: TrendQuery) -> LabTrend:
    return lab_trends(record, q.loinc)


def _findings(record: PatientRecord, _q: NoArguments) -> FindingList:
    return FindingList(findings=lab_findings(record))


LAB_TOOLS = registry(
    RecordTool(
        "lab_flags",
        "Flag the patient's results against reference intervals and critical limits (L/H/LL/HH).",
        FlagQuery,
        flags_tool,
    ),
    RecordTool(
        "lab_trend",
        "Baseline, latest, delta and rate per day of one analyte, citing every result.",
        TrendQuery,
        _trend,
    ),
    RecordTool(
        "lab_findings",
        "All deterministic lab findings (flags, trends, data quality) with citations and sources.",
        NoArguments,
        _findings,
    ),
    RecordTool(
        "reference_range",
        "The reference interval, critical limits and source for a LOINC code.",
        RangeQuery,
        range_tool,
    ),
)
