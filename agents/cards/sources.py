"""A card's source links: the published URL or DOI of the references behind its findings.

A finding's ``source`` is text naming one or more references ("KDIGO AKI 2012, section 3.8; NICE
NG148 ..."). ``data/cards/sources.yaml`` says how to find each linked reference in that text (a
regex) and where it is published: a guideline of the knowledge graph's own data
(``data/kg/guidelines.yaml``, whose record carries the guideline's URL), a DOI (linked through
https://doi.org) or the publisher's URL. The reference named first in the text that has a link
gives the link; a source without one keeps an empty ``url`` rather than a guessed one. A guideline
recommendation links to its guideline's URL through its own record.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from core.domain import Finding
from core.errors import DataFileError
from core.settings import SHIPPED_DATA
from kg.datafiles import read_yaml, yaml_records

SOURCES_FILE = SHIPPED_DATA / "cards" / "sources.yaml"
GUIDELINES_FILE = SHIPPED_DATA / "kg" / "guidelines.yaml"
DOI = re.compile(r"^10\.\d{4,9}/\S+$")
"""Crossref's pattern for modern DOIs (https://www.crossref.org/blog/dois-and-matching-regular-expressions/)."""


class LinkedSource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    match: str
    guideline: str = ""
    doi: str = ""
    url: str = ""

    @model_validator(mode="after")
    def _one_link(self) -> LinkedSource:
        if sum(bool(x) for x in (self.guideline, self.doi, self.url)) != 1:
            raise ValueError(f"{self.match!r}: give exactly one of guideline, doi, url")
        if self.doi and not DOI.match(self.doi):
            raise ValueError(f"{self.match!r}: not a DOI: {self.doi!r}")
        if self.url and not self.url.startswith("https://"):
            raise ValueError(f"{self.match!r}: not an https URL: {self.url!r}")
        try:
            re.compile(self.match)
        except re.error as exc:
            raise ValueError(f"{self.match!r}: not a regex: {exc}") from exc
        return self


class _SourcesFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: tuple[LinkedSource, ...]


class SourceLinks:
    """Links for source texts, from ``data/cards/sources.yaml`` and the KG's guideline data."""

    def __init__(
        self,
        linked: tuple[LinkedSource, ...],
        guidelines: dict[str, str],
        recommendations: dict[str, str],
    ) -> None:
        self.guidelines = guidelines
        """Guideline id -> its URL (``data/kg/guidelines.yaml``)."""
        self.recommendations = recommendations
        """Recommendation id -> its guideline id."""
        unknown = sorted({s.guideline for s in linked if s.guideline} - set(guidelines))
        if unknown:
            raise ValueError(f"unknown guideline {', '.join(unknown)}")
        self.linked = [(re.compile(s.match), self._url(s)) for s in linked]

    def _url(self, source: LinkedSource) -> str:
        if source.guideline:
            return self.guidelines[source.guideline]
        return f"https://doi.org/{source.doi}" if source.doi else source.url

    def all_urls(self) -> set[str]:
        return {url for _, url in self.linked} | set(self.guidelines.values())

    def for_text(self, text: str) -> str:
        """The link of the reference named first in ``text`` that has one ('' when none does)."""
        found = [(m.start(), url) for pattern, url in self.linked if (m := pattern.search(text))]
        return min(found)[1] if found else ""

    def for_finding(self, finding: Finding) -> str:
        if finding.kind == "recommendation":
            guideline = self.recommendations.get(finding.id.rsplit("/", 1)[-1], "")
            if guideline in self.guidelines:
                return self.guidelines[guideline]
        return self.for_text(finding.source)


def _guidelines(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    data = read_yaml(path)
    urls = {str(g["id"]): str(g["url"]) for _, g in yaml_records(path, data, "guidelines")}
    recs = {
        str(r["id"]): str(r["guideline"]) for _, r in yaml_records(path, data, "recommendations")
    }
    return urls, recs


@cache
def source_links(path: Path = SOURCES_FILE, guidelines: Path = GUIDELINES_FILE) -> SourceLinks:
    urls, recs = _guidelines(guidelines)
    try:
        with path.open(encoding="utf-8") as handle:
            raw: Any = yaml.safe_load(handle)
        return SourceLinks(_SourcesFile.model_validate(raw).sources, urls, recs)
    except (OSError, yaml.YAMLError, ValueError) as exc:  # ValidationError is a ValueError
        raise DataFileError(str(exc), file=str(path)) from exc
