"""The named queries implemented once over any backend that can run parameterized Cypher.

Backends subclass :class:`CypherStore` and provide ``_rows``; the clinical logic (prefix matching
of ICD-10-CM codes, lab thresholds, 'triple whammy' third-drug checks, allergy classes) lives here
so both backends give the same answers.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from core.errors import InvalidInput
from kg import queries as q
from kg.allergy import allergy_report
from kg.matching import (
    condition_candidates,
    drug_kg_id,
    drug_node_ids,
    lab_values,
    normalize_term,
)
from kg.models import (
    AllergyReport,
    Contraindication,
    DrugRef,
    DrugResolution,
    GraphStats,
    Interaction,
    LabTest,
    Manifest,
    Monitoring,
    PhenotypeMatch,
    Recommendation,
    Threshold,
)
from kg.recommend import recommendations, threshold_of
from kg.schema import NODES, RELS

Row = dict[str, Any]
_ATC = re.compile(r"[a-v][0-9]{2}[a-z]{2}[0-9]{2}")


def _matched_as(row: Row, term: str) -> Literal["name", "synonym", "brand", "rxcui", "atc"]:
    if term == str(row["name"]).lower():
        return "name"
    if term == row["rxcui"]:
        return "rxcui"
    if term in [a.lower() for a in row["atc"] or []]:
        return "atc"
    return "brand" if term in (row.get("brands") or []) else "synonym"


class CypherStore(ABC):
    backend = "cypher"

    @abstractmethod
    def _rows(self, query: str, params: Mapping[str, Any]) -> list[Row]:
        """Run one parameterized read query; rows as dicts keyed by the RETURN aliases."""

    # --- drugs ---------------------------------------------------------------------------------
    def resolve_drugs(self, names_or_codes: Sequence[str]) -> DrugResolution:
        terms = {raw: normalize_term(raw) for raw in names_or_codes if raw.strip()}
        rows = self._rows(q.RESOLVE_DRUGS, {"terms": sorted(set(terms.values()))})
        by_term: dict[str, list[Row]] = {}
        for row in rows:
            by_term.setdefault(row["term"], []).append(row)
        resolved: list[DrugRef] = []
        unresolved: list[str] = []
        for raw, term in terms.items():
            hits = sorted(by_term.get(term, []), key=lambda r: str(r["name"]))
            if not hits:
                unresolved.append(raw)
            resolved.extend(self._drug_ref(row, raw) for row in hits)
        unresolved.extend(raw for raw in names_or_codes if not raw.strip())
        return DrugResolution(resolved=resolved, unresolved=unresolved)

    @staticmethod
    def _drug_ref(row: Row, matched: str) -> DrugRef:
        return DrugRef(
            id=drug_kg_id(row["id"]),
            rxcui=row["rxcui"],
            name=row["name"],
            atc=list(row["atc"] or []),
            classes=list(row["classes"] or []),
            anticholinergic_burden=int(row["acb"] or 0),
            source=row["source"],
            matched=matched,
            matched_as=_matched_as(row, normalize_term(matched)),
        )

    def drug_terms(self) -> dict[str, list[str]]:
        rows = self._rows(q.DRUG_TERMS, {})
        out: dict[str, list[str]] = {}
        for row in rows:
            for term in row["terms"] or []:
                if not term.isdigit() and not _ATC.fullmatch(term):
                    out.setdefault(term, []).append(row["name"])
        return {term: sorted(names) for term, names in sorted(out.items())}

    # --- the rows behind the drug look-ups: set-based here, per drug in kg.ladybug_store -------
    def _interaction_rows(self, ids: list[str]) -> list[Row]:
        """Interaction edges whose two ends are both in ``ids``."""
        return self._rows(q.INTERACTIONS, {"ids": ids})

    def _contra_condition_rows(self, ids: list[str]) -> list[Row]:
        """Condition contraindications/cautions of the drugs ``ids`` (caller filters targets)."""
        return self._rows(q.CONTRA_CONDITIONS, {"ids": ids})

    def _contra_lab_rows(self, ids: list[str], loincs: list[str]) -> list[Row]:
        """Lab-threshold contraindications/cautions of the drugs ``ids`` on the tests ``loincs``."""
        return self._rows(q.CONTRA_LABS, {"ids": ids, "loincs": loincs})

    def interactions_among(self, drug_ids: Sequence[str]) -> list[Interaction]:
        ids = drug_node_ids(drug_ids)
        if len(ids) < 2:
            return []
        found: dict[tuple[str, str, str], Interaction] = {}
        for row in self._interaction_rows(ids):
            required = list(row["requires_any"] or [])
            present = [d for d in required if d in ids and d not in (row["a"], row["b"])]
            if required and not present:
                continue
            key = (row["id"], *sorted((row["a"], row["b"])))
            found.setdefault(
                key,
                Interaction(
                    id=row["id"],
                    source=row["source"],
                    drug_a=drug_kg_id(row["a"]),
                    drug_b=drug_kg_id(row["b"]),
                    drug_a_name=row["a_name"],
                    drug_b_name=row["b_name"],
                    severity=row["severity"],
                    mechanism=row["mechanism"],
                    effect=row["effect"],
                    management=row["management"],
                    requires_any=[drug_kg_id(d) for d in required],
                    also_present=[drug_kg_id(d) for d in present],
                    manifest=_manifest(row),
                ),
            )
        return sorted(found.values(), key=_severity_order)

    # --- contraindications ---------------------------------------------------------------------
    def contraindications(
        self,
        drug_ids: Sequence[str],
        *,
        conditions: Sequence[str] = (),
        labs: Mapping[str, float] | None = None,
        allergies: Sequence[str] = (),
        pregnant: bool = False,
    ) -> list[Contraindication]:
        ids = drug_node_ids(drug_ids)
        codes = condition_candidates(conditions, pregnant)
        values = lab_values(labs)
        out: list[Contraindication] = []
        if ids and codes:
            out.extend(self._condition_contras(ids, codes))
        if ids and values:
            out.extend(self._lab_contras(ids, values))
        if ids and allergies:
            report = self.allergy_conflicts(drug_ids, allergies)
            out.extend(c.as_contraindication() for c in report.conflicts)
        unique = {(c.id, c.drug, c.matched_condition, c.loinc): c for c in out}
        return sorted(unique.values(), key=lambda c: (c.level != "contraindicated", c.drug, c.id))

    def _condition_contras(self, ids: list[str], codes: dict[str, str]) -> list[Contraindication]:
        return [
            _contra(row, matched_condition=codes[row["target"]], condition=row["code"])
            for row in self._contra_condition_rows(ids)
            if row["target"] in codes
        ]

    def _lab_contras(self, ids: list[str], values: dict[str, float]) -> list[Contraindication]:
        out = []
        for row in self._contra_lab_rows(ids, sorted(values)):
            threshold = threshold_of(row)
            observed = values[row["target"]]
            if threshold.holds(observed * float(row["factor"] or 1.0)):
                out.append(
                    _contra(row, threshold=threshold, loinc=row["target"], observed=observed)
                )
        return out

    def allergy_conflicts(self, drug_ids: Sequence[str], allergies: Sequence[str]) -> AllergyReport:
        return allergy_report(self, self._rows, drug_node_ids(drug_ids), allergies)

    # --- monitoring, guidelines, phenotypes, labs ----------------------------------------------
    def monitoring_for(self, drug_ids: Sequence[str]) -> list[Monitoring]:
        rows = self._rows(q.MONITORING, {"ids": drug_node_ids(drug_ids)})
        items = [Monitoring(**{**row, "drug": drug_kg_id(row["drug"])}) for row in rows]
        return sorted(items, key=lambda m: (m.drug_name, m.loinc))

    def recommendations_for(
        self, conditions: Sequence[str] = (), labs: Mapping[str, float] | None = None
    ) -> list[Recommendation]:
        codes = condition_candidates(conditions, pregnant=False)
        values = lab_values(labs)
        by_condition = [
            row for row in self._rows(q.RECS_BY_CONDITION, {}) if row["target"] in codes
        ]
        by_lab = self._rows(q.RECS_BY_LAB, {"loincs": sorted(values)}) if values else []
        return recommendations(by_condition, by_lab, codes, values)

    def phenotype_differential(
        self, hpo_ids: Sequence[str], limit: int = 10
    ) -> list[PhenotypeMatch]:
        ids = sorted({h.strip().upper() for h in hpo_ids if h.strip()})
        if not 1 <= limit <= 500:
            raise InvalidInput("limit must be between 1 and 500")
        if not ids:
            return []
        explains: dict[str, set[str]] = {h: {h} for h in ids}
        for row in self._rows(q.PHENOTYPE_CHILDREN, {"ids": ids}):
            explains.setdefault(row["child"], set()).add(row["parent"])
        params = {"ids": sorted(explains), "pool": min(10 * limit, 1000)}
        matches = []
        for row in self._rows(q.PHENOTYPE_CANDIDATES, params):
            matched = sorted({h for term in row["terms"] for h in explains.get(term, ())})
            matches.append(
                PhenotypeMatch(
                    id=f"kg:Condition/{row['disease']}",
                    source=row["source"],
                    disease=row["disease"],
                    name=row["name"],
                    matched=matched,
                    score=round(len(matched) / len(ids), 4),
                    annotated=int(row["annotated"] or 0),
                )
            )
        matches.sort(key=lambda m: (-m.score, m.annotated, m.disease))
        return matches[:limit]

    def lab_test(self, loinc: str) -> LabTest | None:
        rows = self._rows(q.LAB_TEST, {"loinc": loinc.strip()})
        if not rows:
            return None
        row = rows[0]
        return LabTest(id=f"kg:LabTest/{row['loinc']}", **row)

    def existing_facts(self, fact_ids: Sequence[str]) -> set[str]:
        by_kind: dict[str, list[str]] = {}
        for fact_id in fact_ids:
            kind, _, rest = fact_id.removeprefix("kg:").partition("/")
            if fact_id.startswith("kg:") and rest:
                by_kind.setdefault(kind, []).append(fact_id)
        found: set[str] = set()
        labels = {n.label for n in NODES if n.label != "Meta"}
        for kind, wanted in by_kind.items():
            if kind in labels:
                bare = [w.split("/", 1)[1] for w in wanted]
                rows = self._rows(q.NODE_IDS.format(label=kind), {"ids": bare})
                found |= {f"kg:{kind}/{row['id']}" for row in rows}
            elif kind in {r.type for r in RELS}:
                rows = self._rows(q.REL_IDS.format(rel=kind), {"ids": wanted})
                found |= {row["id"] for row in rows}
        return found

    def stats(self) -> GraphStats:
        nodes = {
            n.label: int(self._rows(q.COUNT_NODES.format(label=n.label), {})[0]["n"])
            for n in NODES
            if n.label != "Meta"
        }
        rels = {r.type: int(self._rows(q.COUNT_RELS.format(rel=r.type), {})[0]["n"]) for r in RELS}
        return GraphStats(
            backend=self.backend,
            content_version=self.content_version(),
            nodes=nodes,
            relationships=rels,
        )

    def content_version(self) -> str | None:
        rows = self._rows(q.META, {"key": "content_version"})
        return str(rows[0]["value"]) if rows else None


_SEVERITY_RANK = {"contraindicated": 0, "major": 1, "moderate": 2, "minor": 3}


def _manifest(row: Row) -> Manifest | None:
    """An interaction row's manifest (``manifest_*`` columns), if the fact has one."""
    if not row.get("manifest_analyte"):
        return None
    bounds = {k: row.get(f"manifest_{k}") for k in ("lt", "le", "gt", "ge")}
    threshold = Threshold(
        analyte=row["manifest_analyte"],
        unit=row.get("manifest_unit") or "",
        **{k: float(v) for k, v in bounds.items() if v is not None},
    )
    return Manifest(
        threshold=threshold,
        meaning=row.get("manifest_meaning") or "",
        source=row.get("manifest_source") or "",
    )


def _severity_order(item: Interaction) -> tuple[int, str, str]:
    return (_SEVERITY_RANK[item.severity], item.drug_a_name, item.drug_b_name)


def _contra(row: Row, **extra: Any) -> Contraindication:
    condition = extra.pop("condition", None)
    return Contraindication(
        id=row["id"],
        source=row["source"],
        drug=drug_kg_id(row["drug"]),
        drug_name=row["drug_name"],
        level=row["level"],
        kind=row["kind"],
        reason=row["reason"],
        management=row["management"] or "",
        condition_code=condition,
        **extra,
    )
