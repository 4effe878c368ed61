"""Read curated YAML/CSV so that every record knows its file and line.

A malformed file must fail naming ``file:line`` (issue 3, "Bad input"), so records are read with
their line numbers and validated against pydantic models here, before anything is written.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from core.errors import DataFileError

M = TypeVar("M", bound=BaseModel)
LINE = "__line__"


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records the line of every mapping under ``__line__``."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise DataFileError(f"invalid YAML: {exc.problem}", file=path.name, line=line) from exc
    except yaml.YAMLError as exc:
        raise DataFileError(f"invalid YAML: {exc}", file=path.name) from exc
    if not isinstance(data, dict):
        raise DataFileError("expected a mapping at the top level", file=path.name, line=1)
    return data


def yaml_records(path: Path, data: dict[str, Any], key: str) -> Iterator[tuple[int, Any]]:
    """The records under a top-level list ``key``, each with its line number."""
    items = data.get(key)
    if not isinstance(items, list):
        raise DataFileError(f"expected a list under '{key}'", file=path.name, line=data.get(LINE))
    for item in items:
        if not isinstance(item, dict):
            raise DataFileError(f"expected a mapping in '{key}'", file=path.name)
        line = int(item.pop(LINE, 0)) or None
        yield line or 0, item


def read_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV file (header first; ``#`` lines are comments) with their line numbers."""
    with path.open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle)
        reader = csv.DictReader(lines, skipinitialspace=True)
        if reader.fieldnames is None:
            raise DataFileError("empty CSV file", file=path.name, line=1)
        width = len(reader.fieldnames)
        for row in reader:
            line = reader.line_num
            first = next(iter(row.values()), "") or ""
            if first.startswith("#") or not any(row.values()):
                continue
            if None in row or len([v for v in row.values() if v is not None]) != width:
                raise DataFileError(f"expected {width} columns", file=path.name, line=line)
            yield line, {k: (v or "").strip() for k, v in row.items()}


def _without_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_lines(v) for k, v in value.items() if k != LINE}
    if isinstance(value, list):
        return [_without_lines(v) for v in value]
    return value


def validate(model: type[M], raw: dict[str, Any], path: Path, line: int) -> M:
    try:
        return model.model_validate(_without_lines(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "record"
        raise DataFileError(f"{where}: {first['msg']}", file=path.name, line=line) from exc


def split_list(value: str) -> list[str]:
    """CSV list cells are ``;``-separated."""
    return [part.strip() for part in value.split(";") if part.strip()]
