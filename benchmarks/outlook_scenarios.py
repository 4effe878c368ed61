"""The Outlook on every shipped scenario (data/patients), deterministic mode with the KG.

    WARDROUND_DATA_DIR=<dir with a loaded KG> python benchmarks/outlook_scenarios.py

Runs ``wardround ask --no-model --json`` per scenario and prints, per patient, the Outlook items
by kind, how many were applied, how many carry a KG action, and each statement's first words.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

PATIENTS = Path(__file__).resolve().parent.parent / "data" / "patients"
QUESTION = "Where is this patient heading?"


def run(patient: str) -> dict[str, object]:
    done = subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-c", "from server.cli import main; main()", "ask", "--patient",
         patient, "--no-model", "--json", QUESTION],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    result: dict[str, object] = json.loads(done.stdout[done.stdout.index("{") :])
    return result


def main() -> None:
    totals: Counter[str] = Counter()
    for path in sorted(PATIENTS.glob("*.json")):
        items = run(path.stem)["outlook"]
        assert isinstance(items, list)
        kinds = Counter(i["kind"] for i in items)
        applied = sum(1 for i in items if i["applied"])
        actions = sum(1 for i in items if i["actions"])
        totals.update(kinds)
        totals.update({"applied": applied, "with_action": actions, "patients": 1})
        totals["patients_with_outlook"] += bool(items)
        print(f"{path.stem}: {dict(kinds)} applied {applied} with KG action {actions}")
        for i in items:
            print(f"    {i['id']}: {i['statement'][:110]}")
    print(dict(totals))


if __name__ == "__main__":
    main()
