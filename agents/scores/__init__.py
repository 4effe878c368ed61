"""Scores and calculations computed from the record's coded data.

- ``inputs``: coded inputs read from the record (vitals, results near a moment, problems by
  ICD-10-CM, the Glasgow coma score, coded mentation).
- ``bedside``: NEWS2, qSOFA and CURB-65.
- ``basic``: Glasgow coma score, SIRS, corrected calcium and mean arterial pressure.
- ``sofa``: SOFA, with respiratory support, FiO2, vasopressors and urine output.
- ``admission``: PSI/PORT, and the worst-value readers it shares with APACHE II.
- ``apache``: APACHE II, where the record shows ICU-level signs.
- ``record``: ``record_calculation_findings``, every calculation above as findings.

HAS-BLED needs the drugs' classes from the knowledge graph and lives in ``agents.bleeding``.
"""

from agents.scores.admission import psi_finding
from agents.scores.apache import apache_ii_finding
from agents.scores.bedside import curb65_finding, news2_finding, qsofa_finding
from agents.scores.inputs import coded_gcs, drawn_together, latest_vitals, mentation, problems_coded
from agents.scores.record import record_calculation_findings
from agents.scores.sofa import INFECTION_ICD, respiratory_support, sofa_finding

__all__ = [
    "INFECTION_ICD",
    "apache_ii_finding",
    "coded_gcs",
    "curb65_finding",
    "drawn_together",
    "latest_vitals",
    "mentation",
    "news2_finding",
    "problems_coded",
    "psi_finding",
    "qsofa_finding",
    "record_calculation_findings",
    "respiratory_support",
    "sofa_finding",
]
