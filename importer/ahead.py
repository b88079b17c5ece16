"""Planning ahead: while one plugin of a marketplace is written (under the import lock, one at
a time), a forked process detects, hashes and stages the next one (DESIGN 7 steps 1 and 2,
which run before the lock anyway), so a marketplace import keeps both of a machine's cores
busy.

With more than two cores there is a planning process for each core beyond the writer's,
taking the plugins in turn at a lower priority than the writer.

For a plugin whose hash was not a version of the collection when the run began, the planning
process also builds every view from the staged bytes and writes the blobs the store lacks to
read-only files beside them: under the lock a blob is then one link and a view one rename.
A plugin that may be unchanged is only planned: the fast path needs no file written.

The planning processes never touch the database. Their results come back in order through
pipes, each at most two plugins ahead of the writer; if one is gone, the writer plans the rest
in-process.
"""

import contextlib
import gc
import multiprocessing
import os
import pickle
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from blobstore import BlobStore
from importer import telemetry
from importer.dedup import KnownVersions, Linkable
from importer.errors import ImportError_, Rule
from importer.hashing import Limits
from importer.layout import ChildPlan, PluginPlan, detect_layout, plan_plugin
from importer.sources import PluginSource
from importer.storage import StagingArea, prestage_views, views_enabled

LOOK_AHEAD = 2  # plugins each planning process plans ahead of the one being written
MAX_PLANNERS = 4
PLANNER_NICENESS = 10


@dataclass
class Timed:
    """A span that ran in the planning process, recorded by the writer."""

    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    error: str = ""  # what stopped it, if anything

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


@dataclass
class Prepared:
    """One plugin, detected, hashed and staged (or the error that stopped it)."""

    started: float  # time.monotonic() when its detection began (one clock for both processes)
    started_at: datetime
    started_ns: int  # the same moment for its spans (time.time_ns())
    plan: PluginPlan | None = None
    error: BaseException | None = None
    staging: StagingArea | None = None
    views: Path | None = None  # the views built ahead, one per candidate, by position
    skipped: frozenset[int] = frozenset()  # positions of children expected to be linked
    known: bool = True  # its hash was a plugin version of the collection when the run began
    spans: list[Timed] = field(default_factory=list)
    # who removes its staging folder once the import is over (the planning process, between
    # two plugins); None: the writer itself
    release: Callable[[StagingArea], None] | None = None

    def discard(self) -> None:
        if self.staging is not None:
            self.staging.cleanup()

    def done(self) -> None:
        """The import of this plugin is over: its staging folder goes."""
        if self.staging is None:
            return
        if self.release is None:
            self.staging.cleanup()
        else:
            self.release(self.staging)


@dataclass(frozen=True)
class Preparation:
    """What planning a plugin needs to know of the run."""

    limits: Limits
    store: BlobStore
    dry_run: bool
    # what the collection held when the run began; None: build nothing ahead (the run plans
    # in-process)
    known: KnownVersions | None = None


def prepare(source: PluginSource, how: Preparation, met: set[Linkable] | None = None) -> Prepared:
    """Detect and hash ``source``, staging its bytes (and, when the plugin is new to the
    collection, its views and new blobs as files); an error is returned, not raised.
    ``met``: the children of the plugins this process planned before this one in the run
    (they will be in the collection when this one is written, unless their import fails:
    the writer then builds the views that were not built ahead); this plugin's are added."""
    prepared = Prepared(
        started=time.monotonic(), started_at=timezone.now(), started_ns=time.time_ns()
    )
    staging = None if how.dry_run else StagingArea(how.store, "import")
    prepared.staging = staging
    try:
        plan = prepared.plan = _plan(source, how, prepared)
        prepared.known = how.known is None or plan.content_hash in how.known.plugins
        if staging is not None and how.known is not None and not prepared.known:
            if views_enabled():
                prepared.skipped = _linked(plan, how.known.children, met or set())
                prepared.views = prestage_views(staging, plan.views(), prepared.skipped)
            staging.spill_new()
        if met is not None:
            met.update(_linkable(child) for child in plan.children)
    except BaseException as error:  # handed to the writer, which reports it
        prepared.discard()
        prepared.staging = None
        prepared.error = error
    return prepared


def _linkable(child: ChildPlan) -> Linkable:
    return (*child.identity, child.content_hash)


def _linked(plan: PluginPlan, linkable: frozenset[Linkable], met: set[Linkable]) -> frozenset[int]:
    """The positions of the children expected to be linked to a version already there."""
    return frozenset(
        position
        for position, child in enumerate(plan.children)
        if (key := _linkable(child)) in linkable or key in met
    )


def _plan(source: PluginSource, how: Preparation, prepared: Prepared) -> PluginPlan:
    with _timed(prepared.spans, "composite.detect") as attributes:
        layout = detect_layout(source, how.limits)
        attributes.update(plugin_name=layout.name, child_count=len(layout.children))
    with _timed(prepared.spans, "artifact.hash_compute") as attributes:
        plan = plan_plugin(layout, how.limits, prepared.staging)
        attributes.update(
            plugin_name=plan.name,
            artifact_name=plan.name,
            artifact_type="plugin",
            content_hash=plan.content_hash,
            child_count=len(plan.children),
        )
    return plan


@contextlib.contextmanager
def _timed(spans: list[Timed], name: str) -> Iterator[dict[str, Any]]:
    """Times a step as a span for the writer to record, with its error if it fails."""
    attributes: dict[str, Any] = {}
    started = time.time_ns()
    try:
        yield attributes
    except BaseException as error:
        spans.append(Timed(name, started, time.time_ns(), attributes, error=str(error)))
        raise
    spans.append(Timed(name, started, time.time_ns(), attributes))


def enabled(sources: Sequence[PluginSource]) -> bool:
    """Worth a process: two plugins or more, where a fork is cheap and safe (Linux)."""
    return len(sources) > 1 and sys.platform.startswith("linux") and settings.SKILLMEAT_PLAN_AHEAD


@dataclass
class _Planner:
    """One planning process and the writer's end of its pipe."""

    connection: Connection
    process: Any


def planner_count() -> int:
    """Planning processes for a run: one per core this process may run on beyond the
    writer's own (at least one, at most :data:`MAX_PLANNERS`). On two cores that is one: a
    second one, even at a lower priority, did not make a marketplace faster there."""
    return max(1, min(len(os.sched_getaffinity(0)) - 1, MAX_PLANNERS))


class PlanAhead:
    """The planning processes of one run over ``sources`` (plugin ``i`` is planned by
    process ``i % n``); :meth:`take` gives their preparations in order (None when a process
    is gone: the caller plans the rest in-process)."""

    def __init__(self, sources: Sequence[PluginSource], how: Preparation) -> None:
        self.sources = list(sources)
        self.how = how
        self._asked = 0
        self._taken = 0
        self._leftovers: list[str] = []  # staging folders for a planning process to remove
        self._handed: list[str] = []  # those handed over (removed again if it died first)
        self._planners: list[_Planner] = []

    def __enter__(self) -> "PlanAhead":
        # Objects shared with the forks are left out of garbage collection until the run
        # ends: a collection writes to every object it visits, and each page written is then
        # copied.
        gc.freeze()
        for _ in range(planner_count()):
            if not self._start():
                break
        if not self._planners:
            gc.unfreeze()
            return self  # take() gives None: the run plans in-process
        for _ in range(LOOK_AHEAD * len(self._planners)):
            self._ask()
        return self

    def _start(self) -> bool:
        context = multiprocessing.get_context("fork")
        mine, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, self.sources, self.how), daemon=True)
        try:
            process.start()
        except Exception as error:  # no fork here (out of processes, a daemonic parent...)
            mine.close()
            telemetry.log.warning(
                "plan_ahead_unavailable", error=f"{type(error).__name__}: {error}"
            )
            return False
        finally:
            theirs.close()
        self._planners.append(_Planner(mine, process))
        return True

    def take(self) -> Prepared | None:
        if not self._planners:
            return None
        planner = self._planners[self._taken % len(self._planners)]
        try:
            prepared: Prepared = planner.connection.recv()
        except (EOFError, OSError, pickle.UnpicklingError):
            self._stop()
            return None
        self._taken += 1
        self._ask()
        if prepared.staging is not None:
            prepared.staging.attach(self.how.store)
        prepared.release = self._release
        return prepared

    def _release(self, staging: StagingArea) -> None:
        folder = staging.hand_over()
        if folder is not None:
            self._leftovers.append(str(folder))

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _ask(self) -> None:
        if not self._planners or self._asked >= len(self.sources):
            return
        planner = self._planners[self._asked % len(self._planners)]
        try:
            planner.connection.send((self._asked, self._leftovers))
        except OSError:
            self._stop()
            return
        self._handed.extend(self._leftovers)
        self._leftovers = []
        self._asked += 1

    def _stop(self) -> None:
        """Ask the processes to end, take back what they staged for plugins never taken,
        and remove the folders they were to remove (also those released after they ended)."""
        planners, self._planners = self._planners, []
        for number, planner in enumerate(planners):
            pending = sum(1 for i in range(self._taken, self._asked) if i % len(planners) == number)
            _end(planner, pending)
        _remove([*self._leftovers, *self._handed])  # the folders already gone cost a lookup
        self._leftovers, self._handed = [], []
        if planners:
            gc.unfreeze()


def _end(planner: _Planner, pending: int) -> None:
    """Ask one planning process to end, discarding the ``pending`` plugins it was asked for."""
    connection, process = planner.connection, planner.process
    with contextlib.suppress(OSError):
        connection.send((None, []))
    with contextlib.suppress(EOFError, OSError, pickle.UnpicklingError):
        for _ in range(pending):
            connection.recv().discard()
    connection.close()
    process.join(timeout=10)
    if process.is_alive():
        process.kill()
        process.join()


def _serve(connection: Connection, sources: Sequence[PluginSource], how: Preparation) -> None:
    """A planning process: prepare each plugin asked for, until asked for none."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the writer decides when the run stops
    os.nice(PLANNER_NICENESS)  # the writer, on the critical path, goes first
    met: set[Linkable] = set()
    with contextlib.suppress(EOFError, OSError):
        while True:
            index, leftovers = connection.recv()
            if index is None:
                return
            connection.send(_portable(prepare(sources[index], how, met)))
            _remove(leftovers)


def _remove(folders: list[str]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def _portable(prepared: Prepared) -> Prepared:
    """An error that cannot cross the pipe as it is crosses as its text."""
    error = prepared.error
    if error is not None:
        try:
            pickle.dumps(error)
        except Exception:
            prepared.error = ImportError_(f"{type(error).__name__}: {error}", rule=Rule.INTERNAL)
    return prepared
