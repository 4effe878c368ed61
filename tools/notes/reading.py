"""What the notes say that the codes do not: allergies, current drugs and pregnancy written in a
clinical note (English or Chinese) but absent from the coded record.

Each mention gets a ConText status (``tools.notes.context``): an allergy counts unless denied,
someone else's or hypothetical ("history of penicillin anaphylaxis" is an allergy today); a drug
is current only if nothing modifies it ("previously on warfarin" is history, "plan to start
apixaban" a proposal); a pregnancy only if affirmed, and only from a note written within 300 days
of the record's latest entry (a pregnancy lasts at most about 42 weeks: WHO ICD-11, ACOG). What
the codes already say is not repeated; the rest is surfaced "from note DocumentReference/x, not
coded", and uncoded note allergies go into the allergy check like coded ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from core.domain import Citation, Finding, Note, PatientRecord, Severity
from tools.notes.context import Match, modifiers, same_clause, sentence_triggers, sentences
from tools.notes.mentions import Known, Vocabulary, mentions, spans_of, vocabulary
from tools.notes.mentions import targets as note_targets

FactKind = Literal["allergy", "medication", "pregnancy"]
RECENT_PREGNANCY = timedelta(days=300)
SOURCE = (
    "ConText (Harkema H et al. J Biomed Inform 2009;42:839-51) over the note; trigger terms and "
    "targets: data/notes"
)
# What makes a mention not the patient's present fact, strongest first, per kind.
_BLOCKING: dict[str, tuple[str, ...]] = {
    "allergy": ("negated", "family", "hypothetical"),
    "medication": ("negated", "family", "hypothetical", "historical", "possible"),
    "pregnancy": ("negated", "family", "hypothetical", "historical", "possible"),
}


@dataclass(frozen=True)
class NoteFact:
    kind: FactKind
    term: str
    """As the KG knows it ('penicillin', 'warfarin'), or 'pregnancy'."""
    note: Note
    status: str
    """'affirmed', or what blocks it: negated, family, hypothetical, historical, possible."""
    possible: bool = False
    drug_names: tuple[str, ...] = ()

    @property
    def present(self) -> bool:
        return self.status == "affirmed"


def _status(kind: str, mods: frozenset[str]) -> str:
    return next((m for m in _BLOCKING[kind] if m in mods), "affirmed")


def _read_sentence(note: Note, sentence: str, vocab: Vocabulary) -> list[NoteFact]:
    triggers = sentence_triggers(sentence)
    t = note_targets()
    cues = spans_of(t.allergy, sentence)
    out: list[NoteFact] = []
    for start, end, known in mentions(sentence, vocab, allergen=bool(cues)):
        mods = modifiers(start, end, triggers)
        clause = [c for c in cues if _same_part(sentence, c[0], start, triggers)]
        if clause:
            cue = min(clause, key=lambda c: min(abs(c[0] - end), abs(start - c[1])))
            mods |= modifiers(cue[0], cue[1], triggers)
            out.append(_fact("allergy", known, note, mods))
        elif known.drug_names and not _about_allergy(sentence, start, cues, triggers):
            out.append(_fact("medication", known, note, mods))
    for start, end in spans_of(t.pregnancy, sentence):
        status = _status("pregnancy", modifiers(start, end, triggers))
        out.append(NoteFact("pregnancy", "pregnancy", note, status))
    return out


def _about_allergy(
    sentence: str, at: int, cues: list[tuple[int, int]], triggers: list[Match]
) -> bool:
    """A drug in a clause about an allergy, or in brackets in a sentence about one, is the
    allergen, its treatment ("anaphylaxis (needed adrenaline)") or an alternative: not a drug
    the patient is on."""
    in_clause = any(same_clause(c[0], at, triggers) for c in cues)
    return in_clause or (bool(cues) and _depth(sentence, at) >= 0)


def _same_part(sentence: str, a: int, b: int, triggers: list[Match]) -> bool:
    """One clause, and inside the same brackets: "penicillin (anaphylaxis, needed adrenaline)"
    names one allergen; what the brackets say is the reaction and its treatment."""
    return same_clause(a, b, triggers) and _depth(sentence, a) == _depth(sentence, b)


def _depth(sentence: str, at: int) -> int:
    """Where the innermost open bracket before ``at`` is (-1: outside any)."""
    opened: list[int] = []
    for i, ch in enumerate(sentence[:at]):
        if ch in "(（[":
            opened.append(i)
        elif ch in ")）]" and opened:
            opened.pop()
    return opened[-1] if opened else -1


def _fact(kind: FactKind, known: Known, note: Note, mods: frozenset[str]) -> NoteFact:
    return NoteFact(
        kind, known.term, note, _status(kind, mods), possible="possible" in mods,
        drug_names=known.drug_names,
    )  # fmt: skip


def read_notes(notes: Iterable[Note]) -> list[NoteFact]:
    """Every allergy, drug and pregnancy mention of the notes, with its ConText status."""
    vocab = vocabulary()
    return [
        fact
        for note in notes
        for sentence in _under_headings(note.text)
        for fact in _read_sentence(note, sentence, vocab)
    ]


_HEADING = re.compile(r"^\s*([^:：]{1,40})[:：]\s*$")
_ALLERGY_HEADING = "Allergy: "


def _under_headings(text: str) -> list[str]:
    """The note's sentences; a line under a heading about allergies ("Allergies:", 過敏史：)
    is read as if the heading began it, up to the next heading or blank line."""
    allergy = note_targets().allergy
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        under = False
        for _, sentence in sentences(paragraph):
            heading = _HEADING.match(sentence)
            if heading:
                under = bool(spans_of(allergy, heading.group(1)))
                continue
            out.append(_ALLERGY_HEADING + sentence if under else sentence)
    return out


@dataclass
class NoteReading:
    """A record's note facts, set against what the record codes."""

    record: PatientRecord
    facts: list[NoteFact] = field(default_factory=list)

    def uncoded_allergies(self) -> dict[str, str]:
        """Allergen term -> the note that says it, for allergies no coded entry names."""
        coded = [a.substance.lower() for a in self.record.allergies]
        out: dict[str, str] = {}
        for fact in self.facts:
            if fact.kind == "allergy" and fact.present and not _named(fact.term, coded):
                out.setdefault(fact.term, fact.note.ref)
        return out

    def findings(self, coded_drugs: Iterable[str]) -> list[Finding]:
        """Uncoded allergies, drugs and pregnancy. ``coded_drugs``: the KG names of the drugs the
        coded medication list resolved to; a drug also counts as coded when a coded order of any
        status names it (one the KG does not resolve, or one stopped: the note is then not the
        only word on it)."""
        coded = {d.lower() for d in coded_drugs}
        named = [m.name.lower() for m in self.record.medications]
        out = [_allergy_finding(t, ref, self.facts) for t, ref in self.uncoded_allergies().items()]
        seen: set[tuple[str, str]] = set()
        for fact in self.facts:
            key = (fact.term, fact.note.ref)
            words = (fact.term, *(n.lower() for n in fact.drug_names))
            new = fact.kind == "medication" and fact.present and not set(words) & coded
            if new and key not in seen and not any(w in n for w in words for n in named):
                seen.add(key)
                out.append(_medication_finding(fact))
        pregnancy = self.uncoded_pregnancy()
        return out + ([_pregnancy_finding(pregnancy)] if pregnancy else [])

    def uncoded_pregnancy(self) -> NoteFact | None:
        """A pregnancy affirmed in a recent note that no coded problem names (none for a male
        patient): the KG's pregnancy checks read it as they read a coded one, citing the note."""
        if self.record.patient.sex == "male" or _coded_pregnancy(self.record):
            return None
        latest = _latest_moment(self.record)
        for fact in self.facts:
            when = fact.note.date
            recent = latest is None or when is None or latest - when <= RECENT_PREGNANCY
            if fact.kind == "pregnancy" and fact.present and recent:
                return fact
        return None


def _named(term: str, coded: list[str]) -> bool:
    return any(term in c or c in term for c in coded if c)


def _coded_pregnancy(record: PatientRecord) -> bool:
    """An active problem coded ICD-10-CM O/Z33/Z34 or named a pregnancy."""
    for problem in record.problems:
        if problem.clinical_status not in ("", "active"):
            continue
        codes = [c.code for c in problem.codings if "icd" in c.system]
        if any(code.startswith(("O", "Z33", "Z34")) for code in codes):
            return True
        if "pregnan" in problem.display.lower():
            return True
    return False


def _latest_moment(record: PatientRecord) -> datetime | None:
    moments = [o.effective for o in record.observations] + [n.date for n in record.notes]
    moments += [e.start for e in record.encounters] + [m.start for m in record.medications]
    dated = [m for m in moments if m is not None]
    return max(dated) if dated else None


def _when(note: Note) -> str:
    return f" of {note.date:%Y-%m-%d}" if note.date else ""


def _allergy_finding(term: str, ref: str, facts: list[NoteFact]) -> Finding:
    fact = next(f for f in facts if f.term == term and f.note.ref == ref and f.kind == "allergy")
    hedge = " (written as possible)" if fact.possible else ""
    return Finding(
        id=f"note_allergy:{ref}:{term}",
        kind="note_allergy",
        severity=Severity.moderate,
        summary=f"Allergy to {term}{hedge} from note {ref}{_when(fact.note)}, not coded: "
        "confirm it and add it to the allergy record.",
        citations=(Citation.fhir(ref, label=fact.note.title),),
        source=SOURCE,
        specialist="guideline",
    )


def _medication_finding(fact: NoteFact) -> Finding:
    ref = fact.note.ref
    name = fact.drug_names[0] if fact.drug_names else fact.term
    return Finding(
        id=f"note_medication:{ref}:{fact.term}",
        kind="note_medication",
        severity=Severity.low,
        summary=f"Current drug {name} from note {ref}{_when(fact.note)}, not coded: it is not "
        "on the coded medication list, so it was not checked; reconcile the drug chart.",
        drugs=(name,),
        citations=(Citation.fhir(ref, label=fact.note.title),),
        source=SOURCE,
        specialist="guideline",
    )


def _pregnancy_finding(fact: NoteFact) -> Finding:
    ref = fact.note.ref
    return Finding(
        id=f"note_pregnancy:{ref}",
        kind="note_pregnancy",
        severity=Severity.high,
        summary=f"Pregnancy from note {ref}{_when(fact.note)}, not coded: confirm it and code it. "
        "The drugs were checked against it as if it were coded (a finding that rests on it "
        "says so).",
        citations=(Citation.fhir(ref, label=fact.note.title),),
        source=SOURCE,
        specialist="guideline",
    )


def read_record(record: PatientRecord) -> NoteReading:
    """The record's clinical notes (DocumentReference); report conclusions are not where a
    patient's allergies, drugs or pregnancy are recorded."""
    notes = [n for n in record.notes if n.category != "report"]
    return NoteReading(record, read_notes(notes))
