"""Read a drug product name as prescribers and systems write it: its ingredient names and brand.

RxNorm's normalized names ("Warfarin Sodium 5 MG Oral Tablet", "24 HR metoprolol succinate 100 MG
Extended Release Oral Tablet [Toprol]", "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet")
are ingredient + strength + dose form, with a quantity factor in front and the brand in brackets
(RxNorm Technical Documentation, "RxNorm normalized names", NLM 2024). Ward shorthand ("Lasix
40mg", "METFORMINE 1000MG TABLET", "piperacillin/tazobactam") follows the same pattern loosely.

Each ingredient comes with its candidate names, most specific first: as written, then without
the salt or ester ("warfarin sodium" -> "warfarin"), then with a comma-inverted name put back in
order ("insulin human, isophane" -> "insulin human isophane"). The caller looks them up in that
order, so "potassium chloride" or "dimethyl fumarate" (drugs whose names look like salts) are
found before anything is stripped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BRAND = re.compile(r"\[([^\]]+)\]")
# strengths and quantity factors: "5 MG", "0.09 MG/ACTUAT", "70 UNT/ML", "40mg", "0.05% w/v",
# "500 microgram", "24 HR", "120 ACTUAT", "0.3 ML" (RxNorm: strength units and quantity factors)
_AMOUNT = re.compile(
    r"(?<![a-z])\d+(?:[.,]\d+)?\s*(?:%\s*w/[vw]|%|(?:mg|mcg|ug|µg|gm|g|ml|l|unt|units?|iu|meq|mmol|"
    r"micrograms?|milligrams?|hr|actuat|day|dose)\b(?:\s*/\s*(?:\d+(?:[.,]\d+)?\s*)?"
    r"(?:ml|l|actuat|hr|g|mg|dose|spray|day)\b)?)",
    re.IGNORECASE,
)
_APPLICATION = re.compile(r"\b(?:nda|anda|bla)\d+\b", re.IGNORECASE)
_PACK = re.compile(r",\s*\d+\s*$")
_SPLIT = re.compile(r"\s*/\s*|\s+\+\s+|\s+&\s+|\s+and\s+", re.IGNORECASE)
_CJK_FORMS = (
    "膜衣錠",
    "持續性藥效錠",
    "腸溶錠",
    "錠",
    "膠囊",
    "注射液",
    "注射劑",
    "口服液",
    "糖漿",
)

# RxNorm dose forms (RxNorm Technical Documentation, Appendix 2 "Dose forms") and ward shorthand
DOSE_FORM_WORDS = frozenset(
    [
        "oral",
        "tablet",
        "tablets",
        "tab",
        "tabs",
        "capsule",
        "capsules",
        "cap",
        "caps",
        "extended",
        "delayed",
        "release",
        "injectable",
        "injection",
        "inj",
        "solution",
        "soln",
        "suspension",
        "susp",
        "topical",
        "cream",
        "ointment",
        "gel",
        "lotion",
        "metered",
        "dose",
        "inhaler",
        "dry",
        "powder",
        "inhalation",
        "inhalant",
        "mucosal",
        "nasal",
        "spray",
        "auto-injector",
        "chewable",
        "disintegrating",
        "orodispersible",
        "film",
        "coated",
        "suppository",
        "rectal",
        "vaginal",
        "transdermal",
        "patch",
        "system",
        "ophthalmic",
        "otic",
        "drops",
        "prefilled",
        "syringe",
        "pen",
        "injector",
        "cartridge",
        "vial",
        "syrup",
        "elixir",
        "lozenge",
        "sublingual",
        "buccal",
        "enteric",
        "er",
        "xr",
        "sr",
        "cr",
        "mr",
        "xl",
        "la",
        "ec",
        "sa",
        "tablet,",
        "comprimido",
        "comprimé",
        "tablet",
        "tablett",
        "tabletten",
        "wwsp",
        "ml",
        "product",
        "containing",
        "medicinal",
        "iv",
        "po",
        "sc",
        "im",
        "intravenous",
        "oral",
        "subcutaneous",
        "intramuscular",
        "infusion",
        "for",
        "powder",
        "infusion",
        "vials",
        "syringes",
        "pre-filled",
        "gastro-resistant",
        "soluble",
        "dispersible",
        "effervescent",
        "modified-release",
        "prolonged-release",
        "cfc",
        "free",
        "sachets",
        "granules",
        "ampoules",
        "concentrate",
        "pessaries",
        "eye",
        "ear",
        "comprimidos",
        "revestidos",
        "revestido",
        "película",
        "cápsulas",
        "cápsula",
        "gastrorresistentes",
        "solução",
        "injetável",
        "filmomhulde",
        "omhulde",
        "capsules,",
        "maagsapresistente",
        "bruistabletten",
        "druppels",
    ]
)
# Salts, esters and hydrates that name the same active moiety (USP Salt Policy, USP-NF General
# Notices 5.20; WHO INN "Pharmaceutical substances: salts and esters"); plus qualifiers of origin
SALT_WORDS = frozenset(
    [
        "sodium",
        "potassium",
        "calcium",
        "magnesium",
        "hydrochloride",
        "hcl",
        "dihydrochloride",
        "hydrobromide",
        "sulfate",
        "sulphate",
        "bisulfate",
        "succinate",
        "tartrate",
        "bitartrate",
        "maleate",
        "fumarate",
        "hemifumarate",
        "besylate",
        "besilate",
        "mesylate",
        "mesilate",
        "citrate",
        "phosphate",
        "acetate",
        "propionate",
        "dipropionate",
        "xinafoate",
        "bromide",
        "chloride",
        "monohydrate",
        "dihydrate",
        "trihydrate",
        "hemihydrate",
        "sesquihydrate",
        "anhydrous",
        "disodium",
        "trometamol",
        "tromethamine",
        "lysine",
        "arginine",
        "erbumine",
        "tosylate",
        "valerate",
        "furoate",
        "pivalate",
        "estolate",
        "ethylsuccinate",
        "stearate",
        "lactobionate",
        "gluconate",
        "lactate",
        "medoxomil",
        "cilexetil",
        "axetil",
        "etexilate",
        "human",
        "porcine",
        "bovine",
        "recombinant",
    ]
)


@dataclass(frozen=True)
class ParsedProduct:
    """A product name read: its ingredients (each with candidate names) and bracketed brand."""

    text: str
    ingredients: tuple[tuple[str, ...], ...]
    brand: str = ""

    @property
    def whole(self) -> str:
        """The name without amounts and dose forms, as one term ("lasix", "co-amoxiclav")."""
        return " / ".join(names[0] for names in self.ingredients if names)


def _words(text: str) -> list[str]:
    return [w for w in text.lower().split() if w.strip(",") not in DOSE_FORM_WORDS]


def _candidates(part: str) -> tuple[str, ...]:
    words = _words(part)
    if not words:
        return ()
    out = [" ".join(words).strip(" ,")]
    no_comma = " ".join(w.strip(",") for w in words if w.strip(","))
    stripped = [w.strip(",") for w in words if w.strip(",") not in SALT_WORDS]
    if stripped:
        out.append(" ".join(stripped))
    out.append(no_comma)
    if "," in out[0]:  # RxNorm inverts some names: "insulin human, isophane"
        head, _, tail = out[0].partition(",")
        out.append(f"{tail.strip()} {head.strip()}")
    # last, the name's leading words: what follows an ingredient is form or packaging we do not
    # list ("Tazocin 4.5g ... for infusion vials")
    plain = no_comma.split()
    out.extend(" ".join(plain[:n]) for n in range(len(plain) - 1, 0, -1))
    return tuple(dict.fromkeys(c for c in out if len(c) > 2 or not c.isascii()))


def parse_product(text: str) -> ParsedProduct:
    """Ingredient candidates and brand of a product name; () ingredients when nothing is left."""
    brand_match = _BRAND.search(text)
    brand = brand_match.group(1).strip() if brand_match else ""
    body = _BRAND.sub(" ", text)
    for form in _CJK_FORMS:
        body = body.replace(form, " ")
    body = _PACK.sub("", _APPLICATION.sub(" ", _AMOUNT.sub(" ", body)))
    parts = [p for p in _SPLIT.split(body) if p.strip(" ,")]
    ingredients = tuple(c for c in (_candidates(p) for p in parts) if c)
    return ParsedProduct(text=text, ingredients=ingredients, brand=brand)
