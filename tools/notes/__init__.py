"""Clinical notes read with deterministic rules (ConText): what a note says that the codes do not.

``read_record(record)`` gives a :class:`NoteReading`: its ``uncoded_allergies()`` feed the allergy
check, its ``findings(coded_drugs)`` say "from note DocumentReference/x, not coded".
"""

from tools.notes.reading import NoteFact, NoteReading, read_notes, read_record

__all__ = ["NoteFact", "NoteReading", "read_notes", "read_record"]
