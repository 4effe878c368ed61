"""The shape every clinical calculator shares: input model, result model, source, registry entry.

A calculator is a pure function ``(InputModel) -> CalcResult``. Inputs are pydantic models that
validate units and reject impossible values; every failure reaches the caller as
``core.errors.InvalidInput`` naming the parameter. The registry entry (``Calculator``) carries the
description, the published source and the langchain-core tool schema handed to the model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, Generic, Literal, TypeVar, Union, get_args, get_origin

from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from core.domain import Citation, Frozen
from core.errors import InvalidInput


class Source(Frozen):
    """A published formula, score or guideline section that a calculator implements."""

    authors: str = Field(description="first authors or issuing body")
    title: str
    published: str = Field(description="journal volume:pages, or guideline and section")
    year: int

    def cite(self) -> str:
        return f"{self.authors}. {self.title}. {self.published}; {self.year}."


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, each naming the parameter, without pydantic's URL boilerplate."""
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown parameter"
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


class CalcInputError(InvalidInput):
    """InvalidInput raised by a calculator input model; ``detail`` is the message sans context."""

    def __init__(self, context: str, detail: str) -> None:
        super().__init__(f"{context}: {detail}")
        self.detail = detail


class CalcInput(BaseModel):
    """Base of every calculator input: frozen, unknown keys rejected, errors as InvalidInput."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise CalcInputError(type(self).__name__, describe_validation_error(exc)) from exc


class CalcResult(Frozen):
    """What a calculator returns: the number, its unit, what it means and what it was made of."""

    calculator: str = Field(description="registry name, e.g. 'egfr_ckd_epi_2021'")
    value: float
    unit: str = Field(description="UCUM unit; '{score}' for point scores, '{stage}' for stages")
    category: str = Field(default="", description="band or stage, e.g. 'G3a', 'stage 2', 'high'")
    interpretation: str = ""
    components: dict[str, float] = Field(
        default_factory=dict, description="points per criterion or intermediate values"
    )
    inputs: dict[str, JsonValue] = Field(default_factory=dict, description="the inputs as given")
    conversions: tuple[str, ...] = Field(default=(), description="every unit conversion made")
    warnings: tuple[str, ...] = Field(default=(), description="limits of validity that apply")
    evidence: tuple[str, ...] = Field(
        default=(), description="refs (e.g. FHIR Observation ids) of the inputs that decided it"
    )
    source: str = Field(description="citation of the published formula")

    def citation(self) -> Citation:
        """The citation an agent attaches to a claim resting on this calculation."""
        label = f"{self.calculator} = {self.value:g} {self.unit} {self.category}".strip()
        return Citation(kind="calc", ref=f"calc:{self.calculator}", label=label)


InputT = TypeVar("InputT", bound=CalcInput)


@dataclass(frozen=True)
class ParamInfo:
    """A parameter as a human (the CLI's help) needs to see it."""

    name: str
    type: str
    required: bool
    default: str
    description: str


@dataclass(frozen=True)
class Calculator(Generic[InputT]):
    """A registry entry: name, description, input model, function and the published source."""

    name: str
    description: str
    input_model: type[InputT]
    function: Callable[[InputT], CalcResult]
    source: Source

    def run(self, params: Mapping[str, object]) -> CalcResult:
        """Validate raw parameters (from the model, the CLI or an agent) and compute."""
        try:
            inputs = self.input_model.model_validate(dict(params))
        except CalcInputError as exc:  # pydantic runs the custom __init__ during validation
            raise CalcInputError(self.name, exc.detail) from exc
        except ValidationError as exc:
            raise CalcInputError(self.name, describe_validation_error(exc)) from exc
        return self.function(inputs)

    def tool_schema(self) -> dict[str, Any]:
        """The OpenAI-style function tool the model sees for this calculator."""
        tool = convert_to_openai_tool(self.input_model)
        tool["function"]["name"] = self.name
        tool["function"]["description"] = f"{self.description} Source: {self.source.cite()}"
        return tool

    def parameters(self) -> list[ParamInfo]:
        out = []
        for name, field in self.input_model.model_fields.items():
            required = field.is_required()
            default = "" if required else repr(field.get_default(call_default_factory=True))
            out.append(
                ParamInfo(
                    name=name,
                    type=_type_name(field.annotation),
                    required=required,
                    default=default,
                    description=field.description or "",
                )
            )
        return out


def _type_name(annotation: object) -> str:
    """'float', 'mg/dL | umol/L' for a Literal, 'float | None' for an optional."""
    if annotation is type(None):
        return "null"
    origin = get_origin(annotation)
    if origin is Annotated:
        return _type_name(get_args(annotation)[0])
    if origin is Literal:
        return " | ".join(str(a) for a in get_args(annotation))
    if origin in (Union, UnionType):
        return " | ".join(_type_name(a) for a in get_args(annotation))
    if origin is not None:  # tuple[CreatinineSample, ...] and friends: a JSON list
        return "JSON list"
    return getattr(annotation, "__name__", None) or str(annotation)
