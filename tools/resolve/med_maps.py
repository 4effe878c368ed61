"""The sourced code and brand maps behind medication resolution (``data/resolve/*.yaml``).

Each row names KG ingredients (``data/kg/drugs.csv`` names) and carries its ``source``; a
malformed row fails naming its file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from core.settings import SHIPPED_DATA
from kg.datafiles import read_yaml, validate, yaml_records

RESOLVE_DATA = SHIPPED_DATA / "resolve"


class CodeRow(BaseModel):
    """A product or combination code and the KG ingredients it contains."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1)
    name: str
    ingredients: list[str] = Field(min_length=1)
    unnamed: list[str] = Field(default=[], description="partners the code names only by class")
    source: str = Field(min_length=3)


class BrandRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    names: list[str] = Field(min_length=1)
    ingredients: list[str] = Field(min_length=1)
    region: str = ""
    source: str = Field(min_length=3)


@dataclass(frozen=True)
class MedicationMaps:
    rxnorm_products: dict[str, CodeRow]
    atc_combinations: dict[str, CodeRow]
    snomed_products: dict[str, CodeRow]
    brands: dict[str, BrandRow]
    """lower-case brand or local name -> row"""


def _codes(path: Path, key: str) -> dict[str, CodeRow]:
    data = read_yaml(path)
    rows = (validate(CodeRow, raw, path, line) for line, raw in yaml_records(path, data, key))
    return {row.code.upper(): row for row in rows}


def _brands(path: Path) -> dict[str, BrandRow]:
    data = read_yaml(path)
    out: dict[str, BrandRow] = {}
    for line, raw in yaml_records(path, data, "brands"):
        row = validate(BrandRow, raw, path, line)
        out |= {name.lower(): row for name in row.names}
    return out


@cache
def medication_maps(data_dir: Path = RESOLVE_DATA) -> MedicationMaps:
    return MedicationMaps(
        rxnorm_products=_codes(data_dir / "rxnorm_products.yaml", "products"),
        atc_combinations=_codes(data_dir / "atc_combinations.yaml", "combinations"),
        snomed_products=_codes(data_dir / "snomed_products.yaml", "products"),
        brands=_brands(data_dir / "brands.yaml"),
    )
