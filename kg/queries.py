"""The named queries, in the Cypher subset that LadybugDB, Neo4j 5 and FalkorDB all answer alike.

Everything the caller supplies travels as a parameter (``$ids``, ``$terms``...); the only text
formatted into a query is a label or relationship type taken from :mod:`kg.schema`.
"""

from __future__ import annotations

RESOLVE_DRUGS = """
UNWIND $terms AS term
MATCH (d:Drug) WHERE term IN d.terms
RETURN term, d.id AS id, d.rxcui AS rxcui, d.name AS name, d.atc AS atc,
       d.classes AS classes, d.acb AS acb, d.source AS source, d.brands AS brands
"""

DRUG_TERMS = """
MATCH (d:Drug)
RETURN d.name AS name, d.terms AS terms
"""

_INTERACTION_FIELDS = """
RETURN i.id AS id, a.id AS a, a.name AS a_name, b.id AS b, b.name AS b_name,
       i.severity AS severity, i.mechanism AS mechanism, i.effect AS effect,
       i.management AS management, i.requires_any AS requires_any, i.source AS source,
       i.manifest_analyte AS manifest_analyte, i.manifest_lt AS manifest_lt,
       i.manifest_le AS manifest_le, i.manifest_gt AS manifest_gt, i.manifest_ge AS manifest_ge,
       i.manifest_unit AS manifest_unit, i.manifest_meaning AS manifest_meaning,
       i.manifest_source AS manifest_source
"""

INTERACTIONS = f"""
MATCH (a:Drug)-[i:INTERACTS_WITH]->(b:Drug)
WHERE a.id IN $ids AND b.id IN $ids
{_INTERACTION_FIELDS}"""

_CONTRA_FIELDS = """
       r.id AS id, d.id AS drug, d.name AS drug_name, r.level AS level, r.kind AS kind,
       r.reason AS reason, r.management AS management, r.code AS code, r.source AS source,
       r.analyte AS analyte, r.lt AS lt, r.le AS le, r.gt AS gt, r.ge AS ge, r.unit AS unit
"""

# Anchored on the drugs only; the caller filters the (few) rows by condition. Adding
# `c.id IN $codes` made LadybugDB scan all 111k Condition nodes (15 ms instead of 0.7 ms).
CONTRA_CONDITIONS = f"""
MATCH (d:Drug)-[r:CONTRAINDICATED_IN|CAUTION_IN]->(c:Condition)
WHERE d.id IN $ids
RETURN c.id AS target, {_CONTRA_FIELDS}
"""

CONTRA_LABS = f"""
MATCH (d:Drug)-[r:CONTRAINDICATED_IN|CAUTION_IN]->(t:LabTest)
WHERE d.id IN $ids AND t.id IN $loincs
RETURN t.id AS target, t.to_analyte AS factor, {_CONTRA_FIELDS}
"""

ALLERGY_CLASSES_BY_TERM = """
UNWIND $terms AS term
MATCH (c:DrugClass) WHERE c.kind = 'allergy' AND term IN c.terms
RETURN term, c.id AS class_id
"""

ALLERGY_CLASSES_OF_DRUGS = """
MATCH (d:Drug)-[:MEMBER_OF]->(c:DrugClass)
WHERE d.id IN $ids AND c.kind = 'allergy'
RETURN d.id AS drug, d.name AS drug_name, c.id AS class_id, c.name AS class_name,
       c.source AS source
"""

CROSS_REACTIONS = """
MATCH (a:DrugClass)-[x:CROSS_REACTS_WITH]->(b:DrugClass)
WHERE a.id IN $classes
RETURN a.id AS allergen_class, b.id AS class_id, x.id AS id, x.level AS level,
       x.risk AS risk, x.management AS management, x.source AS source
"""

MONITORING = """
MATCH (d:Drug)-[m:REQUIRES_MONITORING]->(t:LabTest)
WHERE d.id IN $ids
RETURN m.id AS id, d.id AS drug, d.name AS drug_name, t.id AS loinc, m.test AS test,
       m.frequency AS frequency, m.rationale AS rationale, m.source AS source,
       m.when_conditions AS when_conditions
"""

_REC_FIELDS = """
       r.id AS id, r.text AS text, r.strength AS strength, r.evidence AS evidence,
       r.needs_condition AS needs_condition, r.needs_lab AS needs_lab, r.source AS source,
       g.id AS g_id, g.org AS g_org, g.title AS g_title, g.year AS g_year,
       g.version AS g_version, g.url AS g_url
"""

# All condition criteria (a few hundred rows), filtered by the caller: see CONTRA_CONDITIONS.
RECS_BY_CONDITION = f"""
MATCH (g:Guideline)-[:RECOMMENDS]->(r:Recommendation)-[a:APPLIES_TO]->(c:Condition)
RETURN c.id AS target, {_REC_FIELDS}
"""

RECS_BY_LAB = f"""
MATCH (g:Guideline)-[:RECOMMENDS]->(r:Recommendation)-[a:APPLIES_TO]->(t:LabTest)
WHERE t.id IN $loincs
RETURN t.id AS target, t.to_analyte AS factor, a.analyte AS analyte, a.lt AS lt, a.le AS le,
       a.gt AS gt, a.ge AS ge, a.unit AS unit, {_REC_FIELDS}
"""

# Two hops: the query phenotypes' direct children (diseases are annotated with the most specific
# term known), then the diseases annotated with a query term or a child, aggregated in the
# database. Ranking by distinct annotated terms picks a candidate pool that the caller rescores
# by query terms explained. A variable-length IS_A*0..1 pattern took ~570 ms on the full HPO in
# LadybugDB; these two queries take ~10 and ~60-110 ms on 2 cores.
PHENOTYPE_CHILDREN = """
MATCH (c:Phenotype)-[:IS_A]->(q:Phenotype)
WHERE q.id IN $ids
RETURN c.id AS child, q.id AS parent
"""

PHENOTYPE_CANDIDATES = """
MATCH (d:Condition)-[:HAS_PHENOTYPE]->(p:Phenotype)
WHERE p.id IN $ids
WITH d, collect(DISTINCT p.id) AS terms
WITH d, terms, size(terms) AS n
RETURN d.id AS disease, d.name AS name, d.annotated AS annotated, d.source AS source,
       terms, n
ORDER BY n DESC, annotated ASC, disease ASC
LIMIT $pool
"""

LAB_TEST = """
MATCH (t:LabTest) WHERE t.id = $loinc
RETURN t.id AS loinc, t.name AS name, t.analyte AS analyte, t.unit AS unit,
       t.si_unit AS si_unit, t.conventional_unit AS conventional_unit,
       t.si_factor AS si_factor, t.low AS low, t.high AS high, t.source AS source
"""

NODE_IDS = "MATCH (n:{label}) WHERE n.id IN $ids RETURN n.id AS id"
REL_IDS = "MATCH ()-[r:{rel}]->() WHERE r.id IN $ids RETURN DISTINCT r.id AS id"
COUNT_NODES = "MATCH (n:{label}) RETURN count(n) AS n"
COUNT_RELS = "MATCH ()-[r:{rel}]->() RETURN count(r) AS n"
META = "MATCH (m:Meta) WHERE m.id = $key RETURN m.value AS value"
