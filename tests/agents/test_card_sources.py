"""A card's source carries the published link of its references, from the data, never guessed."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from agents.cards import Card
from agents.cards.round import round_cards
from agents.cards.sources import DOI, GUIDELINES_FILE, SOURCES_FILE, source_links
from core.errors import DataFileError
from evals.cases import load_suite
from kg.store import GraphStore
from tests.agents.test_cards import KIDNEY_Q, card, round_of

GUIDELINES = yaml.safe_load(GUIDELINES_FILE.read_text("utf-8"))
SOURCES = yaml.safe_load(SOURCES_FILE.read_text("utf-8"))["sources"]
GUIDELINE_URLS = {g["id"]: g["url"] for g in GUIDELINES["guidelines"]}
DATA_URLS = set(GUIDELINE_URLS.values()) | {
    f"https://doi.org/{s['doi']}" if "doi" in s else s["url"]
    for s in SOURCES
    if "doi" in s or "url" in s
}
"""Every link the data gives: the KG's guideline records and data/cards/sources.yaml."""


def well_formed(url: str) -> bool:
    parts = urlparse(url)
    if parts.scheme != "https" or "." not in parts.netloc or " " in url:
        return False
    return parts.netloc != "doi.org" or bool(DOI.match(parts.path.removeprefix("/")))


def has_link_in_data(label: str) -> bool:
    """The label names a reference that data/cards/sources.yaml links."""
    return any(re.search(s["match"], label) for s in SOURCES)


def check_sources(cards: list[Card]) -> int:
    """Every source link well formed and from the data; a source the data links has its link."""
    linked = 0
    for c in cards:
        assert c.source == (c.sources[0] if c.sources else c.source)
        for source in c.sources:
            if source.url:
                assert well_formed(source.url), source.url
                assert source.url in DATA_URLS, source.url
                linked += 1
            if has_link_in_data(source.label):
                assert source.url, f"{c.id}: {source.label!r} has a link in the data"
    return linked


async def test_the_demo_patients_cards_link_the_guidelines_behind_them(
    curated_kg: GraphStore,
) -> None:
    record, findings = await round_of(curated_kg, "aki-on-ckd")
    cards = round_cards(record, findings, KIDNEY_Q, "en")
    kdigo_aki = "https://kdigo.org/guidelines/acute-kidney-injury/"  # published by KDIGO
    assert GUIDELINE_URLS["kdigo-aki-2012"] == kdigo_aki
    # NSAID contraindicated in AKI: "KDIGO ... AKI 2012, section 3.8; NICE NG148 ..."
    assert card(cards, "kidney-harming-medicines").source.url == kdigo_aki
    assert card(cards, "kidney-function").source.url == kdigo_aki  # KDIGO AKI staging
    assert card(cards, "vital-signs").source.url == (
        "https://www.rcplondon.ac.uk/national-early-warning-score"  # as the NEWS2 report names it
    )
    # the triple whammy cites Lapi F et al. BMJ 2013;346:e8525
    drugs = card(cards, "kidney-harming-medicines")
    lapi = next(s for s in drugs.sources if s.label.startswith("Lapi F et al"))
    assert lapi.url == "https://doi.org/10.1136/bmj.e8525"
    # a guideline statement links to its guideline's record, whatever its source text says
    statements = card(cards, "guideline-statements")
    assert all(s.url in GUIDELINE_URLS.values() for s in statements.sources)
    assert check_sources(cards) >= 6


async def test_core_suite_cards_carry_well_formed_links_from_the_data(
    curated_kg: GraphStore,
) -> None:
    linked = 0
    for case in load_suite("core").cases:
        record, findings = await round_of(curated_kg, case.patient)
        linked += check_sources(round_cards(record, findings, case.question, case.language))
    assert linked >= 100


def test_dois_are_the_published_ones() -> None:
    """Each DOI as its publisher registered it (checked against the article page or PubMed)."""
    published = {
        "Lapi F et al": "10.1136/bmj.e8525",  # BMJ 2013;346:e8525
        "Khan DA et al": "10.1016/j.jaci.2022.08.028",  # J Allergy Clin Immunol 2022;150:1333
        "Drew BJ et al": "10.1161/CIRCULATIONAHA.109.192704",  # Circulation 2010;121:1047
        "Keeling D et al": "10.1111/j.1365-2141.2011.08753.x",  # Br J Haematol 2011;154:311
        "Inker LA, Eneanya ND": "10.1056/NEJMoa2102953",  # N Engl J Med 2021;385:1737
        "Lim WS, van der Eerden": "10.1136/thorax.58.5.377",  # Thorax 2003;58:377
        "Steffel J et al": "10.1093/europace/euab065",  # Europace 2021;23:1612
        "McDonagh TA et al": "10.1093/eurheartj/ehab368",  # Eur Heart J 2021;42:3599
        "Thygesen K et al": "10.1161/CIR.0000000000000617",  # Circulation 2018;138:e618
    }
    assert {s["match"]: s["doi"] for s in SOURCES if "doi" in s} == published
    links = source_links()
    assert links.for_text("Lapi F et al. BMJ 2013;346:e8525") == "https://doi.org/10.1136/bmj.e8525"
    # the reference named first that has a link gives it
    text = "FDA label: Lasix, section 5; McDonagh TA et al. 2021 ESC; NICE NG148"
    assert links.for_text(text) == "https://doi.org/10.1093/eurheartj/ehab368"
    assert links.for_text("Harrison's Principles of Internal Medicine, 21st ed.") == ""


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("{match: 'X', doi: 10.1/x, url: 'https://x.org'}", "exactly one of"),
        ("{match: 'X', doi: 'bmj.e8525'}", "not a DOI"),
        ("{match: 'X', url: 'http://x.org'}", "not an https URL"),
        ("{match: 'X', guideline: no-such-guideline}", "unknown guideline"),
        ("{match: '(', url: 'https://x.org'}", "missing \\)"),
    ],
)
def test_a_bad_sources_file_fails_naming_the_file(tmp_path: Path, entry: str, problem: str) -> None:
    bad = tmp_path / "sources.yaml"
    bad.write_text(f"sources:\n  - {entry}\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=problem) as failed:
        source_links(bad)
    assert "sources.yaml" in str(failed.value.file)
