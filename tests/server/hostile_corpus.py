"""A corpus of malformed and hostile bundles, generated from a shipped patient.

Each entry is a name, the kind of hostility, and the bytes of a bundle file. Every bundle is
saved as ``<name>.json`` and (where it has one) its Patient.id is that name, so each one is an
existing patient on ward 7B: the clinician of 7B reaches it, the clinician of 5B must not be able
to tell it from a missing patient. Deterministic: the same bytes on every run.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.settings import SHIPPED_DATA

BASE = "aki-on-ckd"  # ward 7B
WARD = "7B"
Bundle = dict[str, Any]


@dataclass(frozen=True)
class Hostile:
    name: str
    kind: str
    content: bytes


def base_bundle(patient_id: str) -> Bundle:
    """The shipped bundle with its patient renamed to ``patient_id`` throughout."""
    text = (SHIPPED_DATA / "patients" / f"{BASE}.json").read_text(encoding="utf-8")
    data: Bundle = json.loads(text.replace(BASE, patient_id))
    return data


def _entries(data: Bundle, rtype: str) -> list[dict[str, Any]]:
    return [e for e in data["entry"] if e["resource"]["resourceType"] == rtype]


def _deep(levels: int) -> str:
    """An extension nested ``levels`` deep, as JSON text (too deep for ``json.dumps``)."""
    open_ = '{"url": "http://example.org/nest", "extension": [' * levels
    leaf = '{"url": "http://example.org/leaf", "valueString": "leaf"}'
    return open_ + leaf + "]}" * levels


def _nested(
    place: Callable[[Bundle], dict[str, Any]], key: str, levels: int
) -> Callable[[str], bytes]:
    """The bundle with ``place(bundle)[key]`` a list holding an extension ``levels`` deep."""

    def build(patient_id: str) -> bytes:
        data = base_bundle(patient_id)
        place(data)[key] = ["__DEEP__"]
        return json.dumps(data).replace('"__DEEP__"', _deep(levels)).encode()

    return build


def _edit(change: Callable[[Bundle], object]) -> Callable[[str], bytes]:
    def build(patient_id: str) -> bytes:
        data = base_bundle(patient_id)
        change(data)
        return json.dumps(data).encode()

    return build


def _set(path: Callable[[Bundle], dict[str, Any]], key: str, value: Any) -> Callable[[str], bytes]:
    return _edit(lambda d: path(d).__setitem__(key, value))


def _patient(d: Bundle) -> dict[str, Any]:
    return _entries(d, "Patient")[0]["resource"]


def _obs(d: Bundle) -> dict[str, Any]:
    return _entries(d, "Observation")[0]["resource"]


def _quantity(d: Bundle) -> dict[str, Any]:
    quantity: dict[str, Any] = _obs(d)["valueQuantity"]
    return quantity


def _encounter(d: Bundle) -> dict[str, Any]:
    return _entries(d, "Encounter")[0]["resource"]


def _raw(content: bytes) -> Callable[[str], bytes]:
    return lambda _patient_id: content


def _append(resource: dict[str, Any]) -> Callable[[str], bytes]:
    return _edit(lambda d: d["entry"].append({"resource": resource}))


def _drop(rtype: str) -> Callable[[Bundle], None]:
    def change(d: Bundle) -> None:
        d["entry"] = [e for e in d["entry"] if e["resource"]["resourceType"] != rtype]

    return change


def _second_patient(d: Bundle) -> None:
    twin = copy.deepcopy(_entries(d, "Patient")[0])
    twin["resource"]["id"] = "twin"
    twin["fullUrl"] = "urn:wardround:Patient/twin"
    d["entry"].append(twin)


def _duplicate_ids(d: Bundle) -> None:
    first, second = _entries(d, "Observation")[:2]
    second["resource"]["id"] = first["resource"]["id"]
    second["fullUrl"] = first["fullUrl"]


def _no_ids(d: Bundle) -> None:
    for entry in _entries(d, "Observation")[:3]:
        entry["resource"].pop("id", None)
        entry.pop("fullUrl", None)


def _cycle(d: Bundle) -> None:
    obs = _entries(d, "Observation")[:2]
    a, b = obs[0]["resource"], obs[1]["resource"]
    a["hasMember"] = [{"reference": f"Observation/{b['id']}"}]
    b["hasMember"] = [{"reference": f"Observation/{a['id']}"}]
    b["derivedFrom"] = [{"reference": f"Observation/{b['id']}"}]


def _encounter_cycle(d: Bundle) -> None:
    enc = _encounter(d)
    enc["partOf"] = {"reference": f"Encounter/{enc['id']}"}


def _other_subject(d: Bundle) -> None:
    _obs(d)["subject"] = {"reference": "Patient/someone-else"}


def _contained_unknown(d: Bundle) -> None:
    _obs(d)["contained"] = [{"resourceType": "Spaceship", "id": "s1"}]


def _traversal_attachment(d: Bundle) -> None:
    d["entry"].append(
        {
            "resource": {
                "resourceType": "DocumentReference",
                "id": "doc-traversal",
                "status": "current",
                "subject": {"reference": _subject(d)},
                "content": [{"attachment": {"url": "file:///../../../../etc/passwd"}}],
            }
        }
    )


def _traversal_imaging(d: Bundle) -> None:
    d["entry"].append(
        {
            "resource": {
                "resourceType": "ImagingStudy",
                "id": "img-traversal",
                "status": "available",
                "subject": {"reference": _subject(d)},
                "series": [
                    {
                        "uid": "1.2.3",
                        "modality": {"code": "CR"},
                        "endpoint": [{"reference": "Endpoint/e1"}],
                        "instance": [{"uid": "1.2.3.4", "sopClass": {"code": "1.2"}}],
                    }
                ],
            }
        }
    )
    d["entry"].append(
        {
            "resource": {
                "resourceType": "Endpoint",
                "id": "e1",
                "status": "active",
                "connectionType": {"code": "dicom-wado-rs"},
                "payloadType": [{"text": "DICOM"}],
                "address": "../../../../../../etc/passwd",
            }
        }
    )


def _subject(d: Bundle) -> str:
    return f"Patient/{_patient(d)['id']}"


CYPHER = "x'}) MATCH (n) DETACH DELETE n //"


def _cypher_names(d: Bundle) -> None:
    _patient(d)["name"] = [{"text": CYPHER, "family": "'); DROP TABLE threads;--"}]
    for entry in _entries(d, "MedicationRequest"):
        entry["resource"].setdefault("medicationCodeableConcept", {})["text"] = CYPHER
    for entry in _entries(d, "Condition"):
        entry["resource"]["code"] = {"text": CYPHER, "coding": [{"code": "' OR 1=1 --"}]}


def _control_chars(d: Bundle) -> None:
    _patient(d)["name"] = [{"text": "A\u0000B\u202eC\u0007"}]
    _obs(d)["code"]["text"] = "\ud800"  # a lone surrogate, valid JSON escape


RECORDS: dict[str, tuple[str, Callable[[str], bytes]]] = {
    # structure and nesting
    "deep-extension": ("deep nesting", _nested(_patient, "extension", 5000)),
    "deep-arrays": ("deep nesting", _raw(b'{"resourceType": "Bundle", "entry": ' + b"[" * 100_000)),
    "deep-modifier-extension": ("deep nesting", _nested(_obs, "modifierExtension", 3000)),
    "deep-but-legal": ("deep nesting", _nested(_obs, "extension", 40)),
    "unknown-type": ("unknown resourceType", _append({"resourceType": "Spaceship", "id": "s"})),
    "unknown-type-contained": ("unknown resourceType", _edit(_contained_unknown)),
    "unknown-type-patient": ("unknown resourceType", _set(_patient, "resourceType", "Pateint")),
    "not-a-bundle": ("wrong types", _raw(b'{"resourceType": "Patient", "id": "not-a-bundle"}')),
    "top-level-array": ("wrong types", _raw(b"[1, 2, 3]")),
    "top-level-string": ("wrong types", _raw(b'"Bundle"')),
    "entry-not-list": ("wrong types", _set(lambda d: d, "entry", "nope")),
    "entry-null": ("wrong types", _set(lambda d: d, "entry", None)),
    "entry-number": ("wrong types", _edit(lambda d: d["entry"].append(42))),
    "resource-string": ("wrong types", _edit(lambda d: d["entry"].append({"resource": "x"}))),
    "value-not-number": ("wrong types", _set(_quantity, "value", "high")),
    "value-nan": ("wrong types", _raw(b"")),  # filled in below: NaN is not JSON
    "date-garbage": ("wrong types", _set(_obs, "effectiveDateTime", "yesterday")),
    "date-year-zero": ("wrong types", _set(_obs, "effectiveDateTime", "0000-00-00")),
    "status-number": ("wrong types", _set(_obs, "status", 7)),
    # text and encodings
    "empty-file": ("not JSON", _raw(b"")),
    "garbage": ("not JSON", _raw(b"\x00\x01MZ\x90 this is not json")),
    "truncated": ("not JSON", lambda pid: json.dumps(base_bundle(pid)).encode()[:5000]),
    "latin-1": ("non-UTF-8", lambda pid: json.dumps(base_bundle(pid)).encode() + b" \xe9\xff"),
    "utf-16": ("non-UTF-8", lambda pid: json.dumps(base_bundle(pid)).encode("utf-16")),
    "utf-8-bom": ("non-UTF-8", lambda pid: b"\xef\xbb\xbf" + json.dumps(base_bundle(pid)).encode()),
    "control-chars": ("hostile text", _edit(_control_chars)),
    "cypher-names": ("Cypher-looking names", _edit(_cypher_names)),
    # identity
    "no-patient": ("missing ids", _edit(_drop("Patient"))),
    "two-patients": ("duplicate ids", _edit(_second_patient)),
    "missing-ids": ("missing ids", _edit(_no_ids)),
    "duplicate-ids": ("duplicate ids", _edit(_duplicate_ids)),
    "id-too-long": ("wrong types", _set(_obs, "id", "o" * 300)),
    "id-differs-from-file": ("duplicate ids", lambda _pid: json.dumps(base_bundle("x")).encode()),
    "other-patients-facts": ("wrong types", _edit(_other_subject)),
    # references
    "cyclic-members": ("cyclic references", _edit(_cycle)),
    "cyclic-encounter": ("cyclic references", _edit(_encounter_cycle)),
    "dangling-reference": (
        "cyclic references",
        _set(_obs, "encounter", {"reference": "Encounter/nowhere"}),
    ),
    "traversal-attachment": ("path traversal", _edit(_traversal_attachment)),
    "traversal-imaging": ("path traversal", _edit(_traversal_imaging)),
}


def _nan(patient_id: str) -> bytes:
    data = base_bundle(patient_id)
    _quantity(data)["value"] = "__NAN__"
    return json.dumps(data).replace('"__NAN__"', "NaN").encode()


def corpus() -> list[Hostile]:
    builders = {**RECORDS, "value-nan": ("wrong types", _nan)}
    return [Hostile(name, kind, build(name)) for name, (kind, build) in builders.items()]


def write(directory: Path) -> list[Hostile]:
    """Write the corpus into ``directory`` (one ``<name>.json`` each); return it."""
    directory.mkdir(parents=True, exist_ok=True)
    items = corpus()
    for item in items:
        (directory / f"{item.name}.json").write_bytes(item.content)
    return items
