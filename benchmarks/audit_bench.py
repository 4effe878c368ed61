"""What auditing every knowledge-graph query costs: the guideline checker's KG findings for one
shipped patient, with the plain store and with ``audited_graph_store`` writing ``kg.query`` events
to a SQLite audit store (WAL, ``synchronous=FULL``: each event is one durable transaction).

    .venv/bin/python benchmarks/audit_bench.py [--repeat 30] [--patient ID]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from agents.kg_checks import kg_findings
from core.audit import AuditStore, EventKind
from core.settings import Settings
from graphs.audit import audited_graph_store, recording
from kg.load import load_ladybug
from kg.store import open_store
from tools.fhir.sources import DirectoryPatientSource


async def measure(patient: str, repeat: int) -> None:
    settings = Settings(data_dir=Path(tempfile.mkdtemp()))
    settings.kg_path.parent.mkdir(parents=True)
    load_ladybug(settings.kg_path, scope="none", show_progress=False)  # curated facts
    kg = open_store(settings, read_only=True)
    audit = AuditStore.open(f"sqlite:///{settings.data_dir / 'audit.sqlite'}")
    record = await DirectoryPatientSource().load(patient)
    audited = audited_graph_store(kg)
    await kg_findings(kg, record)  # warm the store's caches
    plain: list[float] = []
    wrapped: list[float] = []
    for i in range(repeat):  # interleaved, so load on the machine hits both alike
        started = time.perf_counter()
        await kg_findings(kg, record)
        plain.append(time.perf_counter() - started)
        with recording(audit.recorder(run_id=f"run-{i}", patient_id=patient)):
            started = time.perf_counter()
            await kg_findings(audited, record)
            wrapped.append(time.perf_counter() - started)
    events = [e for e in await audit.events(run_id="run-0") if e.kind == EventKind.KG_QUERY]
    p50_plain = statistics.median(plain) * 1000
    p50_audited = statistics.median(wrapped) * 1000
    print(f"patient {patient}: {len(events)} kg.query events per round, {repeat} rounds")
    print(f"plain p50 {p50_plain:.1f} ms, audited p50 {p50_audited:.1f} ms")
    per_event = (p50_audited - p50_plain) / max(len(events), 1)
    print(f"overhead {p50_audited - p50_plain:.1f} ms ({per_event:.2f} ms per event)")
    audit.close()
    kg.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--patient", default="hyperkalaemia-acei-spironolactone")
    args = parser.parse_args()
    asyncio.run(measure(args.patient, args.repeat))


if __name__ == "__main__":
    main()
