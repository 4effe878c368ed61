"""Entry point for LangGraph tooling (``langgraph.json``: ``langgraph dev``, LangGraph Studio).

The platform supplies its own checkpointer; dependencies come from ``WARDROUND_*`` settings.
Nothing is built at import time: the platform calls ``make_graph`` when it needs the graph.
"""

from __future__ import annotations

from typing import Any

from agents.approvals import JsonlOutbox
from agents.deps import WardRoundDeps
from core.model.client import ModelClient
from core.model.types import ModelConfig
from core.settings import SHIPPED_DATA, Settings
from graphs.ward_round import build_ward_round


def make_graph() -> Any:
    from server.wiring import open_graph_store, record_source

    settings = Settings()
    deps = WardRoundDeps(
        patients=record_source(settings),
        model=ModelClient(ModelConfig.from_settings(settings)),
        graph_store=open_graph_store(settings),
        round_deadline_s=settings.round_deadline_s,
        outbox=JsonlOutbox(settings.data_dir / "outbox.jsonl"),
        data_dir=SHIPPED_DATA,
    )
    return build_ward_round(deps)
