"""The bounded tool step: a specialist lets the model ask for more calculations.

After the deterministic tools have run, the model may call the calculator registry for at most
``deps.max_tool_steps`` rounds (unknown tools and invalid arguments are answered with an error it
can read). Each successful calculation becomes a finding with ``origin='model'``: the arithmetic
is deterministic, but choosing it and its inputs was the model's. A loop that never ends, a model
error or the round deadline ends the step with a degraded reason; the specialist goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.consult import remaining_s
from agents.deps import WardRoundDeps
from core.domain import Finding, Severity
from core.errors import ModelError
from core.model.tools import Tool, ToolCallRecord, run_tools
from tools.calculators import CALCULATORS
from tools.calculators.base import CalcResult


@dataclass
class ToolStep:
    findings: list[Finding] = field(default_factory=list)
    evidence: str = ""
    degraded_reason: str | None = None


def calculator_tools() -> list[Tool]:
    return [
        Tool(
            calc.name,
            f"{calc.description} Source: {calc.source.cite()}",
            calc.input_model,
            calc.function,
        )
        for calc in CALCULATORS.values()
    ]


def _finding(call: ToolCallRecord, specialist: str) -> Finding | None:
    result = call.result
    if not isinstance(result, CalcResult):
        return None
    return Finding(
        id=f"model-calc:{call.id}",
        kind="calculation",
        severity=Severity.info,
        summary=f"{result.calculator} = {result.value:g} {result.unit} {result.category}: "
        f"{result.interpretation}".strip(),
        citations=(result.citation(),),
        source=result.source,
        origin="model",
        specialist=specialist,
    )


async def tool_step(
    deps: WardRoundDeps, messages: Sequence[dict[str, Any]], *, specialist: str, deadline_at: float
) -> ToolStep:
    if deps.model is None or deps.max_tool_steps <= 0:
        return ToolStep()
    try:
        async with asyncio.timeout(max(remaining_s(deps, deadline_at), 0.001)):
            loop = await run_tools(
                deps.model, messages, calculator_tools(), max_steps=deps.max_tool_steps
            )
    except (ModelError, TimeoutError) as err:
        return ToolStep(
            degraded_reason=f"{specialist} tools: {type(err).__name__}: {str(err)[:120]}"
        )
    findings = [f for f in (_finding(c, specialist) for c in loop.calls) if f is not None]
    lines = [
        f"- {c.name}({c.arguments}) -> " + (f"error: {c.error}" if c.error else "ok")
        for c in loop.calls
    ]
    evidence = "Model-requested calculations:\n" + "\n".join(lines) if lines else ""
    return ToolStep(findings, evidence)
