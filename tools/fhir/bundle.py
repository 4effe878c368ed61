"""Read and validate a FHIR R4 bundle, and index its resources by their citation key.

Validation is ``fhir.resources``' R4B models (R4 and R4B agree on every resource wardround reads).
A validation failure becomes :class:`InvalidFhir` whose ``path`` names the offending element the way
FHIRPath does (``Bundle.entry[3].resource.valueQuantity.value``).

Identity: a resource's citation key is ``ResourceType/id``. Transaction bundles (carebundle's
output) carry no ``Resource.id``; there the id is taken from ``fullUrl`` (``urn:uuid:<id>`` or
``.../Type/<id>``). Two entries with the same key are an error: which one is the fact?
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from core.domain import DataIssue
from core.errors import InvalidFhir, RecordNotFound
from core.settings import Settings

_MAX_REPORTED_ERRORS = 5
MAX_OBSERVATIONS: int = Settings.model_fields["max_observations"].default
"""The most Observations one round checks by default (``WARDROUND_MAX_OBSERVATIONS``, 5,000;
the record sources take the configured one from ``server.wiring``): the newest ones. Validating
and checking a result costs about 3 ms on two busy CPU cores (benchmarks/large_record_bench.py),
so 5,000 keep the deterministic work of a round to seconds where 30,000 took minutes; a ward
round asks about the current admission, and the older results are named as not checked, never
silently dropped."""


@dataclass(frozen=True)
class Trimmed:
    """What a bounded read left out: how many Observations, and the newest one left out."""

    kept: int
    total: int
    oldest_kept: str


def _observation_when(resource: Mapping[str, Any]) -> str:
    """A raw Observation's time as written (ISO 8601 sorts as text to within its offset)."""
    period = resource.get("effectivePeriod")
    start = period.get("start") if isinstance(period, Mapping) else None
    for when in (resource.get("effectiveDateTime"), start, resource.get("effectiveInstant")):
        if isinstance(when, str):
            return when
    issued = resource.get("issued")
    return issued if isinstance(issued, str) else ""


def newest_observations(
    data: dict[str, Any], limit: int | None = None
) -> tuple[dict[str, Any], Trimmed | None]:
    """``data`` with only its ``limit`` (default ``MAX_OBSERVATIONS``) newest Observations, others
    untouched, before the costly validation; ``None`` when nothing was left out."""
    limit = MAX_OBSERVATIONS if limit is None else limit
    entries = data.get("entry")
    if not isinstance(entries, list):
        return data, None
    observations = [
        (i, _observation_when(e["resource"]))
        for i, e in enumerate(entries)
        if isinstance(e, Mapping)
        and isinstance(e.get("resource"), Mapping)
        and e["resource"].get("resourceType") == "Observation"
    ]
    if len(observations) <= limit:
        return data, None
    newest = sorted(observations, key=lambda pair: pair[1], reverse=True)[:limit]
    keep = {i for i, _ in newest}
    dropped = {i for i, _ in observations} - keep
    kept_entries = [e for i, e in enumerate(entries) if i not in dropped]
    trimmed = Trimmed(kept=limit, total=len(observations), oldest_kept=newest[-1][1])
    return {**data, "entry": kept_entries}, trimmed


@dataclass(frozen=True)
class Entry:
    index: int
    ref: str
    resource: Any

    @property
    def path(self) -> str:
        return f"Bundle.entry[{self.index}].resource"


@dataclass
class IndexedBundle:
    """The validated bundle: entries in order, and every way a reference may name them."""

    entries: list[Entry]
    by_ref: dict[str, Entry] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    def resolve(self, reference: str | None) -> Entry | None:
        """The entry a Reference.reference names: ``Type/id``, ``urn:uuid:...`` or an absolute
        URL ending in ``Type/id``; ``None`` when it is not in this bundle."""
        if not reference:
            return None
        key = self.aliases.get(reference) or _relative_ref(reference)
        return self.by_ref.get(key) if key else None

    def of_type(self, *types: str) -> Iterator[Entry]:
        return (e for e in self.entries if e.resource.get_resource_type() in types)


def read_json(source: Mapping[str, Any] | str | Path) -> tuple[dict[str, Any], str]:
    """The bundle as a dict plus a description of where it came from."""
    if isinstance(source, Mapping):
        return dict(source), ""
    path = Path(source)
    if not path.is_file():
        raise RecordNotFound(f"no FHIR bundle at {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise InvalidFhir(_TOO_DEEP, path="Bundle") from None
    except json.JSONDecodeError as exc:
        raise InvalidFhir(f"not JSON: {exc.msg} at line {exc.lineno}", path="Bundle") from exc
    except UnicodeDecodeError as exc:
        raise InvalidFhir("file is not UTF-8 JSON", path="Bundle") from exc
    if not isinstance(data, dict):
        raise InvalidFhir("top level is not a JSON object", path="Bundle")
    return data, str(path)


def fhir_path(loc: tuple[int | str, ...], root: str = "Bundle") -> str:
    """A pydantic error location as a FHIRPath-like element path."""
    out = root
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validate(data: dict[str, Any]) -> tuple[Any, list[int], list[DataIssue]]:
    """The validated bundle, the original position of each entry it kept, and an ``unreadable``
    issue for each entry that is not valid FHIR (named by its element path): one bad resource in
    a third-party record costs that resource, not the whole record. A bundle whose own structure
    is invalid is refused."""
    if data.get("resourceType") != "Bundle":
        raise InvalidFhir(
            f"expected resourceType 'Bundle', got {data.get('resourceType')!r}",
            path="Bundle.resourceType",
        )
    _check_resource_types(data)
    try:
        bundle = Bundle.model_validate(data)
        return bundle, list(range(len(bundle.entry or ()))), []
    except RecursionError:
        raise InvalidFhir(_TOO_DEEP, path="Bundle") from None
    except KeyError:  # fhir.resources' look-up of a contained resource's unknown type
        raise InvalidFhir("a resource type FHIR R4 does not define", path="Bundle") from None
    except pydantic.ValidationError as exc:
        entries = data.get("entry")
        in_entries = any(e["loc"][:1] == ("entry",) for e in exc.errors())
        if not isinstance(entries, list) or not in_entries:
            raise _invalid(exc) from exc
    kept: list[Any] = []
    positions: list[int] = []
    issues: list[DataIssue] = []
    for i, raw in enumerate(entries):
        try:
            kept.extend(Bundle.model_validate({**data, "entry": [raw]}).entry or ())
            positions.append(i)
        except pydantic.ValidationError as exc:
            issues.append(_unreadable(raw, i, exc))
    try:
        bundle = Bundle.model_validate({**data, "entry": []})
    except pydantic.ValidationError as exc:
        raise _invalid(exc) from exc
    return bundle.model_copy(update={"entry": kept}), positions, issues


def _at_entry(loc: tuple[int | str, ...], index: int) -> tuple[int | str, ...]:
    return ("entry", index, *loc[2:]) if loc[:1] == ("entry",) else loc


def _invalid(exc: pydantic.ValidationError) -> InvalidFhir:
    errors = exc.errors()
    first = fhir_path(tuple(errors[0]["loc"]))
    details = "; ".join(
        f"{fhir_path(tuple(e['loc']))}: {e['msg']}" for e in errors[:_MAX_REPORTED_ERRORS]
    )
    more = len(errors) - _MAX_REPORTED_ERRORS
    suffix = f" (and {more} more)" if more > 0 else ""
    return InvalidFhir(f"{len(errors)} invalid element(s): {details}{suffix}", path=first)


def _unreadable(raw: Any, index: int, exc: pydantic.ValidationError) -> DataIssue:
    resource = raw.get("resource") if isinstance(raw, dict) else None
    rtype = resource.get("resourceType", "Resource") if isinstance(resource, dict) else "Resource"
    rid = resource.get("id") if isinstance(resource, dict) else None
    full_url = raw.get("fullUrl") if isinstance(raw, dict) else None
    tail = str(rid or full_url or f"entry-{index}").removeprefix("urn:uuid:").rsplit("/", 1)[-1]
    errors = exc.errors()
    paths = [fhir_path(_at_entry(tuple(e["loc"]), index)) for e in errors]
    details = "; ".join(
        f"{p}: {e['msg']}" for p, e in zip(paths, errors[:_MAX_REPORTED_ERRORS], strict=False)
    )
    return DataIssue(
        ref=f"{rtype}/{tail}",
        kind="unreadable",
        message=f"not valid FHIR, left out ({details})",
        path=paths[0],
    )


_TOO_DEEP = "nested too deeply to read (a FHIR resource is a few levels deep, not hundreds)"


def _check_resource_types(data: dict[str, Any]) -> None:
    """Every entry's resourceType is one FHIR R4B defines (``fhir.resources`` answers an unknown
    one with a ``KeyError`` from deep inside validation, not an error naming the entry)."""
    entries = data.get("entry")
    for i, entry in enumerate(entries if isinstance(entries, list) else ()):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        rtype = resource.get("resourceType") if isinstance(resource, Mapping) else None
        if rtype is None:
            continue
        try:
            get_fhir_model_class(str(rtype))
        except (ValueError, KeyError):
            raise InvalidFhir(
                "not a FHIR R4 resource type", path=f"Bundle.entry[{i}].resource.resourceType"
            ) from None


def _relative_ref(reference: str) -> str | None:
    parts = reference.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2][:1].isupper():
        return f"{parts[-2]}/{parts[-1]}"
    return None


def _entry_id(resource: Any, full_url: str | None, index: int) -> str:
    if resource.id:
        return str(resource.id)
    if full_url:
        tail = full_url.removeprefix("urn:uuid:").removeprefix("urn:oid:").rstrip("/")
        return tail.rsplit("/", 1)[-1]
    raise InvalidFhir(
        "resource has neither an id nor a fullUrl: every fact needs a citation key",
        path=f"Bundle.entry[{index}].resource.id",
    )


def index(bundle: Any, positions: list[int] | None = None) -> IndexedBundle:
    """Index the validated bundle (``positions``: each entry's place in the bundle as written);
    duplicate citation keys are an error naming both entries."""
    out = IndexedBundle(entries=[])
    for n, raw in enumerate(bundle.entry or ()):
        i = positions[n] if positions is not None else n
        if raw.resource is None:
            continue
        rtype = raw.resource.get_resource_type()
        ref = f"{rtype}/{_entry_id(raw.resource, raw.fullUrl, i)}"
        if ref in out.by_ref:
            first = out.by_ref[ref].index
            raise InvalidFhir(
                f"duplicate resource {ref}: also at Bundle.entry[{first}]",
                path=f"Bundle.entry[{i}].resource.id",
            )
        entry = Entry(index=i, ref=ref, resource=raw.resource)
        out.entries.append(entry)
        out.by_ref[ref] = entry
        if raw.fullUrl:
            out.aliases[str(raw.fullUrl)] = ref
    return out
