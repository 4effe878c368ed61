"""Named points of the approval steps where the crash tests kill the server (issue 17).

``reached(point)`` calls the hooks given to ``install``. Nothing in wardround installs one, and no
setting or environment variable does: only the crash tests' own entry point for the server
subprocess (``tests/server/test_crash_recovery.py``) installs a hook, which SIGKILLs the process at
the point it names, so a crash lands exactly there. In a deployment ``reached`` does nothing.

Points, in order: ``decision_taken`` (the approve step took a decision; its checkpoint is not yet
written), ``before_outbox`` (the decision is durable and audited), ``after_outbox`` (the outbox
took the write), ``before_checkpoint`` (all audited; the step's checkpoint is not yet written).
"""

from __future__ import annotations

from collections.abc import Callable

_hooks: list[Callable[[str], None]] = []


def install(hook: Callable[[str], None]) -> None:
    _hooks.append(hook)


def reached(point: str) -> None:
    for hook in _hooks:
        hook(point)
