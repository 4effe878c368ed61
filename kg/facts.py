"""Curated fact files (interactions, contraindications, monitoring, guidelines) into content."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import DataFileError
from kg.content import GraphContent
from kg.curated_models import (
    Bounds,
    ContraRecord,
    GuidelineRecord,
    InteractionRecord,
    ManifestRecord,
    MonitoringRecord,
    RecommendationRecord,
)
from kg.datafiles import read_csv, read_yaml, split_list, validate, yaml_records
from kg.open_data import icd_description, icd_source

if TYPE_CHECKING:
    from kg.curated import Catalogue

PREGNANCY_CODE = "Z33.1"
"""ICD-10-CM 'Pregnant state, incidental': the node pregnancy facts hang off."""


def bounds_label(bounds: Bounds) -> str:
    parts = [
        f"{sym}{value:g}"
        for sym, value in (("<", bounds.lt), ("<=", bounds.le), (">", bounds.gt), (">=", bounds.ge))
        if value is not None
    ]
    return bounds.analyte + "".join(parts)


def bounds_props(bounds: Bounds, unit: str) -> dict[str, Any]:
    return {**bounds.model_dump(), "unit": unit}


def condition_node(content: GraphContent, code: str, path: Path, line: int) -> str:
    node_id = f"ICD10CM:{code}"
    if not content.has_node("Condition", node_id):
        name = icd_description(code)
        if name is None:
            raise DataFileError(f"unknown ICD-10-CM code {code!r}", file=path.name, line=line)
        content.add_node(
            "Condition",
            {
                "id": node_id,
                "code": code,
                "system": "ICD-10-CM",
                "name": name,
                "source": icd_source(),
            },
        )
    return node_id


def _manifests(path: Path) -> dict[frozenset[str], tuple[int, ManifestRecord]]:
    """The interaction manifests by their (unordered) pair of references."""
    found: dict[frozenset[str], tuple[int, ManifestRecord]] = {}
    for line, raw in yaml_records(path, read_yaml(path), "manifests"):
        record = validate(ManifestRecord, raw, path, line)
        key = frozenset((record.a.lower(), record.b.lower()))
        if key in found:
            raise DataFileError(f"{record.a} + {record.b} listed twice", file=path.name, line=line)
        found[key] = (line, record)
    return found


def _manifest_props(record: ManifestRecord | None) -> dict[str, Any]:
    """The manifest as interaction edge properties (all null when there is none)."""
    lab = record.lab if record else None
    return {
        "manifest_analyte": lab.analyte if lab else None,
        "manifest_lt": lab.lt if lab else None,
        "manifest_le": lab.le if lab else None,
        "manifest_gt": lab.gt if lab else None,
        "manifest_ge": lab.ge if lab else None,
        "manifest_unit": record.unit if record else None,
        "manifest_meaning": record.meaning if record else None,
        "manifest_source": record.source if record else None,
    }


def add_interactions(
    path: Path, content: GraphContent, cat: Catalogue, manifests_path: Path
) -> None:
    records: list[tuple[int, InteractionRecord]] = []
    for line, row in read_csv(path):
        raw = {**row, "requires_any": split_list(row.get("requires_any", ""))}
        records.append((line, validate(InteractionRecord, raw, path, line)))
    manifests = _manifests(manifests_path)
    unused = dict(manifests)
    # Drug-level facts first: a specific fact wins over a class-level one for the same pair.
    records.sort(key=lambda item: item[1].a.startswith("class:") + item[1].b.startswith("class:"))
    covered: set[frozenset[str]] = set()
    for line, record in records:
        refs = [record.a, record.b, *record.requires_any]
        fact_id = cat.claim(f"kg:INTERACTS_WITH/{'|'.join(r.lower() for r in refs)}", path, line)
        required = [d for ref in record.requires_any for d in cat.drug_ids(ref, path, line)]
        pair = frozenset((record.a.lower(), record.b.lower()))
        manifest = manifests.get(pair) if not record.requires_any else None
        if manifest is not None:
            unused.pop(pair, None)
        props = {
            **record.model_dump(exclude={"a", "b", "requires_any"}),
            **_manifest_props(manifest[1] if manifest else None),
        }
        pairs = {
            (a, b)
            for a in cat.drug_ids(record.a, path, line)
            for b in cat.drug_ids(record.b, path, line)
            if a != b
        }
        for a, b in sorted(pairs):
            key = frozenset((a, b, *required))
            if key in covered:
                continue
            covered.add(key)
            content.add_rel(
                "INTERACTS_WITH",
                "Drug",
                "Drug",
                {"_from": a, "_to": b, "id": fact_id, "requires_any": required, **props},
            )
    for line, orphan in unused.values():
        raise DataFileError(
            f"{orphan.a} + {orphan.b}: no such interaction in {path.name}",
            file=manifests_path.name,
            line=line,
        )


def _contra_target(
    record: ContraRecord, content: GraphContent, cat: Catalogue, path: Path, line: int
) -> tuple[str, list[str], dict[str, Any]]:
    """(label for the fact id, target node ids, extra edge properties)."""
    if record.lab is not None:
        unit = cat.units.get(record.lab.analyte, "")
        loincs = cat.loincs(record.lab.analyte, path, line)
        return bounds_label(record.lab), loincs, {"kind": "lab", **bounds_props(record.lab, unit)}
    if record.pregnancy:
        node = condition_node(content, PREGNANCY_CODE, path, line)
        return "pregnancy", [node], {"kind": "pregnancy", "code": PREGNANCY_CODE}
    code = str(record.condition)
    node = condition_node(content, code, path, line)
    return code, [node], {"kind": "condition", "code": code}


def add_contraindications(path: Path, content: GraphContent, cat: Catalogue) -> None:
    data = read_yaml(path)
    for line, raw in yaml_records(path, data, "contraindications"):
        record = validate(ContraRecord, raw, path, line)
        subject = record.drug or f"class:{record.drug_class}"
        label, targets, extra = _contra_target(record, content, cat, path, line)
        rel_type = "CONTRAINDICATED_IN" if record.level == "contraindicated" else "CAUTION_IN"
        fact_id = cat.claim(f"kg:{rel_type}/{subject.lower()}|{label}", path, line)
        target_label = "LabTest" if record.lab is not None else "Condition"
        for drug in cat.drug_ids(subject, path, line):
            for target in targets:
                content.add_rel(
                    rel_type,
                    "Drug",
                    target_label,
                    {
                        "_from": drug,
                        "_to": target,
                        "id": fact_id,
                        "level": record.level,
                        "reason": record.reason,
                        "management": record.management,
                        "source": record.source,
                        **extra,
                    },
                )


def add_monitoring(path: Path, content: GraphContent, cat: Catalogue) -> None:
    data = read_yaml(path)
    for line, raw in yaml_records(path, data, "monitoring"):
        record = validate(MonitoringRecord, raw, path, line)
        subject = record.drug or f"class:{record.drug_class}"
        if not content.has_node("LabTest", record.loinc):
            raise DataFileError(
                f"LOINC {record.loinc} is not in lab_tests.yaml", file=path.name, line=line
            )
        fact_id = cat.claim(f"kg:REQUIRES_MONITORING/{subject.lower()}|{record.loinc}", path, line)
        props = record.model_dump(include={"test", "frequency", "rationale", "source"})
        props["when_conditions"] = ";".join(record.when)
        for drug in cat.drug_ids(subject, path, line):
            content.add_rel(
                "REQUIRES_MONITORING",
                "Drug",
                "LabTest",
                {"_from": drug, "_to": record.loinc, "id": fact_id, **props},
            )


def add_guidelines(path: Path, content: GraphContent, cat: Catalogue) -> None:
    data = read_yaml(path)
    guidelines: set[str] = set()
    for line, raw in yaml_records(path, data, "guidelines"):
        guideline = validate(GuidelineRecord, raw, path, line)
        if guideline.id in guidelines:
            raise DataFileError(f"duplicate guideline {guideline.id}", file=path.name, line=line)
        guidelines.add(guideline.id)
        content.add_node("Guideline", guideline.model_dump())
    for line, raw in yaml_records(path, data, "recommendations"):
        rec = validate(RecommendationRecord, raw, path, line)
        if rec.guideline not in guidelines:
            raise DataFileError(f"unknown guideline {rec.guideline!r}", file=path.name, line=line)
        cat.claim(f"kg:Recommendation/{rec.id}", path, line)
        row = rec.model_dump(exclude={"conditions", "labs"})
        row["needs_condition"], row["needs_lab"] = bool(rec.conditions), bool(rec.labs)
        content.add_node("Recommendation", row)
        content.add_rel(
            "RECOMMENDS",
            "Guideline",
            "Recommendation",
            {"_from": rec.guideline, "_to": rec.id, "source": rec.source},
        )
        for code in rec.conditions:
            node = condition_node(content, code, path, line)
            edge = {"_from": rec.id, "_to": node, "code": code}
            content.add_rel("APPLIES_TO", "Recommendation", "Condition", edge)
        for bounds in rec.labs:
            unit = cat.units.get(bounds.analyte, "")
            for loinc in cat.loincs(bounds.analyte, path, line):
                edge = {"_from": rec.id, "_to": loinc, **bounds_props(bounds, unit)}
                content.add_rel("APPLIES_TO", "Recommendation", "LabTest", edge)
