"""The design's import direction holds: server → graphs → agents → tools → kg → core.

``evals`` may import anything; ``core`` imports none of ours. Checked statically on every module,
including imports inside functions (lazy imports count too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LEVEL = {"core": 0, "kg": 1, "tools": 2, "agents": 3, "graphs": 4, "server": 5, "evals": 6}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(LEVEL)


@pytest.mark.parametrize("package", sorted(LEVEL))
def test_imports_only_flow_downward(package: str) -> None:
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for target in imported_packages(path):
            if LEVEL[target] > LEVEL[package]:
                wrong.append(f"{path.relative_to(ROOT)} imports {target}")
    assert wrong == []


def test_the_checker_sees_lazy_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from server.cli import app\n    import kg.store\n")
    assert imported_packages(module) == {"server", "kg"}
