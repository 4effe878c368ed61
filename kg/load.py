"""Load the knowledge graph: idempotent, versioned, atomic.

The content version is a hash of the curated files, the open-data package versions, the scope and
the loader version; it is stored in the graph. Loading the same version again is a no-op. For
LadybugDB the new graph is built in a temporary file next to the live one and swapped in with an
atomic rename, so a malformed data file (which fails while the content is read, naming file and
line) or a crash mid-write leaves the previous graph untouched.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast, get_args

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.errors import GraphStoreError
from core.logging import get_logger
from core.settings import SHIPPED_DATA
from kg.content import GraphContent, content_version
from kg.curated import CURATED_FILES, load_curated
from kg.open_data import Progress as StageProgress
from kg.open_data import Scope, add_hpo, add_icd10cm, add_labunits

if TYPE_CHECKING:
    from kg.neo4j_store import Neo4jStore

log = get_logger(__name__)
CURATED_DIR = SHIPPED_DATA / "kg"

# A backend's writer: the content, the meta entries (the version last) and a progress callback.
GraphWriter = Callable[[GraphContent, Mapping[str, str], StageProgress], None]


@dataclass(frozen=True)
class LoadResult:
    backend: str
    version: str
    skipped: bool
    seconds: float
    nodes: int = 0
    edges: int = 0


class LoadProgress:
    """A rich progress bar (or nothing, when disabled) fed by ``(stage, n)`` callbacks."""

    def __init__(self, enabled: bool) -> None:
        self._bar = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=not enabled,
            transient=False,
        )
        self._task = self._bar.add_task("reading sources", total=None)

    def __enter__(self) -> LoadProgress:
        self._bar.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._bar.stop()

    def reading(self, stage: str, n: int) -> None:
        self._bar.update(self._task, description=f"read {stage}", advance=n)

    def start_writing(self, total: int) -> None:
        self._bar.reset(self._task, total=total, description="writing graph")

    def writing(self, stage: str, n: int) -> None:
        self._bar.update(self._task, description=f"write {stage}", advance=n)


def build_content(data_dir: Path, scope: Scope, progress: LoadProgress) -> GraphContent:
    """Read and validate everything (curated first: its units and sources win on merge)."""
    content = GraphContent()
    catalogue = load_curated(data_dir, content)
    progress.reading("curated facts", len(catalogue.fact_ids))
    if scope != "none":
        curated_codes = [row["code"] for row in content.node_rows("Condition")]
        add_labunits(content, progress.reading)
        add_hpo(content, scope, progress.reading)
        add_icd10cm(content, None if scope == "full" else curated_codes, progress.reading)
    return content


def version_of(data_dir: Path, scope: Scope) -> str:
    return content_version([data_dir / name for name in CURATED_FILES], scope)


@contextmanager
def _exclusive(lock_path: Path, *, wait: bool = False) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            raise GraphStoreError(f"another load holds {lock_path}") from exc
        yield


KgState = Literal["current", "missing", "outdated"]


def ladybug_state(
    path: Path, *, data_dir: Path = CURATED_DIR, scope: Scope = "full"
) -> tuple[KgState, Scope]:
    """Whether the embedded KG at ``path`` is ready for a round, and the scope to (re)load it
    with: ``scope`` when it is missing (or unreadable), else the scope it was loaded with (a
    graph loaded with ``--scope sample`` stays a sample; one whose content an upgrade changed
    is ``outdated``)."""
    stored = _ladybug_version(path)
    if stored is None:
        return "missing", scope
    loaded = _scope_of(stored) or scope
    return ("current" if stored == version_of(data_dir, loaded) else "outdated"), loaded


def _scope_of(version: str) -> Scope | None:
    """The scope a content version was loaded with (``{loader}-{scope}-{hash}``)."""
    parts = version.split("-")
    for scope in get_args(Scope):
        if len(parts) == 3 and parts[1] == scope:
            return cast(Scope, scope)
    return None


def _ladybug_version(path: Path) -> str | None:
    from kg.ladybug_store import LadybugStore

    if not path.exists():
        return None
    try:
        with LadybugStore.open(path, read_only=True) as store:
            return store.content_version()
    except GraphStoreError:
        return None


def load_ladybug(
    path: Path,
    *,
    data_dir: Path = CURATED_DIR,
    scope: Scope = "full",
    force: bool = False,
    show_progress: bool = True,
    wait: bool = False,
) -> LoadResult:
    """Load the embedded KG into ``path`` unless this version is there. Another load of the same
    file at the same time is refused, or with ``wait`` waited for (then it is usually current)."""
    started = time.perf_counter()
    version = version_of(data_dir, scope)
    with _exclusive(path.with_name(path.name + ".lock"), wait=wait):
        if not force and _ladybug_version(path) == version:
            return _skipped("ladybug", version, started)
        content = _build_and_write(
            data_dir, scope, version, show_progress, partial(_swap_in_ladybug, path)
        )
    return _loaded("ladybug", version, started, content)


def _swap_in_ladybug(
    path: Path, content: GraphContent, meta: Mapping[str, str], progress: StageProgress
) -> None:
    """Write a fresh file beside ``path`` and rename it over the live one."""
    from kg.ladybug_writer import write_ladybug

    building = path.with_name(f".{path.name}.building-{os.getpid()}")
    _remove_db_files(building)
    try:
        write_ladybug(building, content, meta, progress)
        wal = path.with_name(path.name + ".wal")
        if wal.is_file():  # a stale log of the old file must not replay onto the new one
            wal.unlink()
        os.replace(building, path)
    finally:
        _remove_db_files(building)


def _remove_db_files(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        if candidate.is_file():
            candidate.unlink()


def load_neo4j(
    store: Neo4jStore,
    *,
    data_dir: Path = CURATED_DIR,
    scope: Scope = "full",
    force: bool = False,
    show_progress: bool = True,
) -> LoadResult:
    """Load into Neo4j (or FalkorDB over Bolt); the version is written last (see neo4j_writer)."""
    from kg.neo4j_writer import write_neo4j

    started = time.perf_counter()
    version = version_of(data_dir, scope)
    if not force and store.content_version() == version:
        return _skipped(store.dialect, version, started)
    content = _build_and_write(data_dir, scope, version, show_progress, partial(write_neo4j, store))
    return _loaded(store.dialect, version, started, content)


def _build_and_write(
    data_dir: Path, scope: Scope, version: str, show_progress: bool, write: GraphWriter
) -> GraphContent:
    """Read every source, then hand the content and its version entry to the backend's writer."""
    with LoadProgress(show_progress) as progress:
        content = build_content(data_dir, scope, progress)
        meta = {"content_version": version}
        progress.start_writing(content.node_count() + content.edge_count() + len(meta))
        write(content, meta, progress.writing)
    return content


def _skipped(backend: str, version: str, started: float) -> LoadResult:
    log.info("kg_load_skipped", backend=backend, version=version)
    return LoadResult(backend, version, True, time.perf_counter() - started)


def _loaded(backend: str, version: str, started: float, content: GraphContent) -> LoadResult:
    result = LoadResult(
        backend,
        version,
        False,
        time.perf_counter() - started,
        content.node_count(),
        content.edge_count(),
    )
    log.info("kg_loaded", backend=backend, version=version, seconds=round(result.seconds, 2))
    return result
