"""Record-bound tools: a typed function over a :class:`PatientRecord` plus its model-facing schema.

A :class:`RecordTool` is registered once at import (name, description, input model, function).
An agent that holds a record binds the registry to it (:func:`bind_tools`) and gets langchain-core
``StructuredTool`` s whose arguments are the input model; :meth:`RecordTool.tool_schema` is the
OpenAI-format schema for endpoints called without langchain. The record is never an argument the
model supplies: it is the run's data, bound by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel

from core.domain import PatientRecord
from core.errors import InvalidInput


@dataclass(frozen=True)
class RecordTool:
    name: str
    description: str
    input_model: type[BaseModel]
    fn: Callable[[PatientRecord, Any], BaseModel]

    def run(self, record: PatientRecord, arguments: Mapping[str, Any] | BaseModel) -> BaseModel:
        """Validate ``arguments`` with the input model and run the tool on ``record``."""
        if isinstance(arguments, BaseModel):
            arguments = arguments.model_dump()
        try:
            parsed = self.input_model.model_validate(dict(arguments))
        except ValueError as exc:
            raise InvalidInput(f"{self.name}: {exc}") from exc
        return self.fn(record, parsed)

    def tool_schema(self) -> dict[str, Any]:
        schema = self.input_model.model_json_schema()
        schema.update(title=self.name, description=self.description)
        return convert_to_openai_tool(schema)

    def bind(self, record: PatientRecord) -> StructuredTool:
        def call(**kwargs: Any) -> dict[str, Any]:
            return self.run(record, kwargs).model_dump(mode="json")

        return StructuredTool.from_function(
            func=call, name=self.name, description=self.description, args_schema=self.input_model
        )


def bind_tools(
    record: PatientRecord, *registries: Mapping[str, RecordTool]
) -> list[StructuredTool]:
    """Every tool of the given registries, bound to ``record``."""
    return [tool.bind(record) for registry in registries for tool in registry.values()]


def registry(*tools: RecordTool) -> dict[str, RecordTool]:
    out: dict[str, RecordTool] = {}
    for tool in tools:
        if tool.name in out:
            raise ValueError(f"tool {tool.name} registered twice")
        out[tool.name] = tool
    return out
