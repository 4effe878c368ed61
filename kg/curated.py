"""Curated clinical facts from ``data/kg`` into :class:`GraphContent`, validated with file:line.

References between files are by name: a drug by its name (``warfarin``), a class as
``class:<id>`` (``class:nsaid``). A class-level fact is expanded to an edge per member drug, all
carrying the class fact's id, so queries stay one hop; a drug-level fact wins over a class-level
one for the same pair.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import DataFileError
from kg.content import GraphContent
from kg.curated_models import ClassRecord, CrossReactRecord, DrugRecord, LabTestRecord
from kg.datafiles import read_csv, read_yaml, split_list, validate, yaml_records
from kg.facts import (
    add_contraindications,
    add_guidelines,
    add_interactions,
    add_monitoring,
)

CURATED_FILES = (
    "drug_classes.yaml",
    "drugs.csv",
    "lab_tests.yaml",
    "interactions.csv",
    "interaction_manifests.yaml",
    "contraindications.yaml",
    "monitoring.yaml",
    "guidelines.yaml",
)


class Catalogue:
    """Name -> node id look-ups that later files resolve their references against."""

    def __init__(self) -> None:
        self.drugs: dict[str, str] = {}
        self.classes: dict[str, list[str]] = {}
        self.analytes: dict[str, list[str]] = {}
        self.units: dict[str, str] = {}
        self.fact_ids: set[str] = set()

    def drug_ids(self, ref: str, path: Path, line: int) -> list[str]:
        key = ref.strip().lower()
        if key.startswith("class:"):
            members = self.classes.get(key[6:])
            if members is None:
                raise DataFileError(f"unknown drug class {ref!r}", file=path.name, line=line)
            return members
        drug = self.drugs.get(key)
        if drug is None:
            raise DataFileError(f"unknown drug {ref!r}", file=path.name, line=line)
        return [drug]

    def loincs(self, analyte: str, path: Path, line: int) -> list[str]:
        codes = self.analytes.get(analyte)
        if not codes:
            raise DataFileError(f"unknown lab analyte {analyte!r}", file=path.name, line=line)
        return codes

    def claim(self, fact_id: str, path: Path, line: int) -> str:
        if fact_id in self.fact_ids:
            raise DataFileError(f"duplicate fact {fact_id}", file=path.name, line=line)
        self.fact_ids.add(fact_id)
        return fact_id


def drug_node_id(record: DrugRecord) -> str:
    return record.rxcui or record.name.lower().replace(" ", "-")


def load_curated(data_dir: Path, content: GraphContent) -> Catalogue:
    for name in CURATED_FILES:
        if not (data_dir / name).is_file():
            raise DataFileError("curated data file is missing", file=name)
    cat = Catalogue()
    _add_classes(data_dir / "drug_classes.yaml", content, cat)
    _add_drugs(data_dir / "drugs.csv", content, cat)
    _add_cross_reactivity(data_dir / "drug_classes.yaml", content, cat)
    _add_lab_tests(data_dir / "lab_tests.yaml", content, cat)
    add_interactions(
        data_dir / "interactions.csv", content, cat, data_dir / "interaction_manifests.yaml"
    )
    add_contraindications(data_dir / "contraindications.yaml", content, cat)
    add_monitoring(data_dir / "monitoring.yaml", content, cat)
    add_guidelines(data_dir / "guidelines.yaml", content, cat)
    return cat


def _add_classes(path: Path, content: GraphContent, cat: Catalogue) -> None:
    data = read_yaml(path)
    for line, raw in yaml_records(path, data, "classes"):
        record = validate(ClassRecord, raw, path, line)
        if record.id in cat.classes:
            raise DataFileError(f"duplicate class {record.id}", file=path.name, line=line)
        cat.classes[record.id] = []
        terms = sorted({t.lower() for t in [record.id, record.name, *record.terms]})
        content.add_node("DrugClass", {**record.model_dump(), "terms": terms})


def _add_drugs(path: Path, content: GraphContent, cat: Catalogue) -> None:
    for line, row in read_csv(path):
        raw = {
            **row,
            "rxcui": row.get("rxcui") or None,
            "acb": row.get("acb") or 0,
            **{
                key: split_list(row.get(key, ""))
                for key in ("atc", "classes", "synonyms", "brands")
            },
        }
        record = validate(DrugRecord, raw, path, line)
        node_id = drug_node_id(record)
        names = [record.name, *record.synonyms, *record.brands]
        if record.name.lower() in cat.drugs or content.has_node("Drug", node_id):
            raise DataFileError(f"duplicate drug {record.name}", file=path.name, line=line)
        cat.drugs[record.name.lower()] = node_id
        for class_id in record.classes:
            if class_id not in cat.classes:
                raise DataFileError(f"unknown drug class {class_id!r}", file=path.name, line=line)
            cat.classes[class_id].append(node_id)
            content.add_rel(
                "MEMBER_OF",
                "Drug",
                "DrugClass",
                {"_from": node_id, "_to": class_id, "source": record.source},
            )
        terms = {n.lower() for n in names} | {a.lower() for a in record.atc}
        if record.rxcui:
            terms.add(record.rxcui)
        content.add_node(
            "Drug",
            {
                "id": node_id,
                "rxcui": record.rxcui,
                "name": record.name,
                "atc": record.atc,
                "classes": record.classes,
                "terms": sorted(terms),
                "brands": sorted({b.lower() for b in record.brands}),
                "acb": record.acb,
                "source": record.source,
            },
        )


def _add_cross_reactivity(path: Path, content: GraphContent, cat: Catalogue) -> None:
    data = read_yaml(path)
    for line, raw in yaml_records(path, data, "cross_reactivity"):
        record = validate(CrossReactRecord, raw, path, line)
        for class_id in (record.from_class, record.to_class):
            if class_id not in cat.classes:
                raise DataFileError(f"unknown drug class {class_id!r}", file=path.name, line=line)
        fact_id = cat.claim(
            f"kg:CROSS_REACTS_WITH/{record.from_class}|{record.to_class}", path, line
        )
        content.add_rel(
            "CROSS_REACTS_WITH",
            "DrugClass",
            "DrugClass",
            {
                "_from": record.from_class,
                "_to": record.to_class,
                "id": fact_id,
                "level": record.level,
                "risk": record.risk,
                "management": record.management,
                "source": record.source,
            },
        )


def _add_lab_tests(path: Path, content: GraphContent, cat: Catalogue) -> None:
    data = read_yaml(path)
    for line, raw in yaml_records(path, data, "tests"):
        record = validate(LabTestRecord, raw, path, line)
        if content.has_node("LabTest", record.loinc):
            raise DataFileError(f"duplicate LOINC {record.loinc}", file=path.name, line=line)
        if record.analyte:
            cat.analytes.setdefault(record.analyte, []).append(record.loinc)
            # A code in another unit carries the factor that converts it to the analyte's unit.
            known = (
                cat.units.setdefault(record.analyte, record.unit) if record.factor == 1.0 else None
            )
            if known is not None and known != record.unit:
                raise DataFileError(
                    f"analyte {record.analyte} mixes units {known} and {record.unit}",
                    file=path.name,
                    line=line,
                )
        row = record.model_dump()
        row["id"] = row.pop("loinc")
        row["to_analyte"] = row.pop("factor")
        content.add_node("LabTest", row)
