"""Entry point for LangGraph tooling (``langgraph.json``: ``langgraph dev``, LangGraph Studio).

The platform calls ``make_graph`` whenever it needs the graph (each run, each schema read) and
enters what it returns as an async context manager: the dependencies come from ``WARDROUND_*``
settings through the composition root (``server.wiring.build_deps``), as for the server and
the CLI, and are closed when the platform is done with the graph. The platform supplies its own
checkpointer. Nothing is built at import time.

LangGraph's API does not carry wardround's sign-in: the graph it serves pauses on proposals as
usual, but takes no decision (a resume there is refused, with ``approval_failure`` saying where to
decide; nothing is written). Studio is for developing the graph, not for the ward.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from core.settings import Settings
from graphs.ward_round import build_ward_round


@asynccontextmanager
async def make_graph() -> AsyncIterator[CompiledStateGraph[Any, Any, Any, Any]]:
    from server.wiring import build_deps

    async with AsyncExitStack() as closing:
        yield build_ward_round(build_deps(Settings(), closing=closing), take_decisions=False)
