"""The import service (DESIGN section 7): the one entry point the command, the API and the
admin call. Detect and validate, hash (staging every byte read), take the import lock, write
the new blobs, then one durable transaction for the dedup decisions, rows and staged views;
after the commit only renames remain. Any failure before the commit leaves the database and
the storage root as they were."""

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from opentelemetry.trace import Span, Status, StatusCode

from artifacts.models import (
    DEFAULT_COLLECTION,
    Artifact,
    Collection,
    ImportRecord,
    ImportStatus,
    OriginKind,
    VersionFile,
    normalize_name,
    ordered_uuid,
)
from blobstore import BlobStore, blob_store
from importer import ahead, telemetry
from importer.ahead import PlanAhead, Preparation, Prepared, prepare
from importer.archive import is_archive, unpacked
from importer.bulk import insert_row
from importer.dedup import (
    Candidate,
    KnownVersions,
    PlannedState,
    Resolution,
    name_conflicts,
    resolve,
    unchanged_plugin,
    version_reused,
)
from importer.errors import ImportError_, Rule, StorageFailed, ValidationFailed, display_path
from importer.hashing import Limits
from importer.layout import PluginPlan
from importer.locking import import_lock
from importer.names import check_name
from importer.origin import Origin
from importer.remote.fetch import Fetcher
from importer.remote.guard import RemoteGuard
from importer.remote.spec import RemoteSource, looks_remote, parse_remote
from importer.results import (
    ChildResult,
    DedupDecision,
    FailedImport,
    ImportReport,
    ImportResult,
    Skipped,
)
from importer.sources import Detection, PluginSource, RemoteEntry, detect_directory
from importer.storage import StagingArea, ViewWriter
from importer.writer import StepHook, write_rows

# A writer that bypassed the import lock can make a constraint fire; the transaction is then
# run again from fresh reads, which see that writer's rows.
MAX_ATTEMPTS = 3
NOT_FETCHED = "remote source; use --remote to fetch"


def _no_step(step: str, /, **context: Any) -> None:
    """The default step hook. Tests pass one that raises at a chosen step."""


@dataclass
class ImportOptions:
    collection: str = DEFAULT_COLLECTION
    dry_run: bool = False
    source_text: str = ""
    store: BlobStore | None = None
    limits: Limits | None = None
    step: StepHook = _no_step
    on_plugin: Callable[[ImportResult | FailedImport], None] | None = None
    on_found: Callable[[int], None] | None = None  # how many plugins a path holds
    # A dry run's memory of what its earlier plugins would have created.
    planned: PlannedState = field(default_factory=PlannedState)
    # Fetch a marketplace's remote entries: None means the setting SKILLMEAT_FETCH_REMOTE, and
    # yes for a marketplace that was itself fetched from a remote source.
    remote: bool | None = None
    guard: RemoteGuard | None = None  # the API's and the admin's rules for remote sources
    fetch_timeout: float | None = None
    only: frozenset[str] | None = None  # import only these plugins of a marketplace (name keys)
    parent_record: str | None = None  # the queued import's record this run belongs to
    # the collection's row once an import of this run has committed (asked again on a retry)
    collection_row: Collection | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        check_name(self.collection, kind="collection", where="--collection")
        self.store = self.store or blob_store()
        self.limits = self.limits or Limits.from_settings()

    @property
    def fetcher(self) -> Fetcher:
        assert self.store is not None and self.limits is not None
        return Fetcher(
            limits=self.limits, tmp=self.store.tmp, guard=self.guard, timeout=self.fetch_timeout
        )

    def fetches_remote_entries(self, *, fetched: bool) -> bool:
        if self.remote is not None:
            return self.remote
        return fetched or bool(django_settings.SKILLMEAT_FETCH_REMOTE)

    def wants(self, name: str) -> bool:
        return self.only is None or normalize_name(name) in self.only


def import_paths(paths: Sequence[str | Path], **options: Any) -> ImportReport:
    """Import every plugin found at ``paths`` (plugin folders, marketplaces, archives, remote
    sources).

    Each plugin is its own transaction: one that fails is listed in ``failed`` and the
    others still import.
    """
    settings = ImportOptions(**options)
    report = ImportReport()
    for path in paths:
        _import_path(str(path), settings, report)
    return report


def import_archive(archive: Path, *, filename: str, **options: Any) -> ImportReport:
    """Import an uploaded archive stored at ``archive``; errors name ``filename``."""
    settings = ImportOptions(**options)
    report = ImportReport()
    if not is_archive(Path(filename)):
        error = ValidationFailed(
            "not a .zip, .tar.gz or .tgz archive", path=filename, rule=Rule.BAD_ARCHIVE
        )
        _record_failure(settings, filename, "", error, timezone.now(), 0.0)
        _report_failure(report, settings, filename, error)
        return report
    assert settings.store is not None
    settings.store.tmp.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="upload-", dir=settings.store.tmp) as folder:
        named = Path(folder) / Path(filename).name
        try:
            os.link(archive, named)
        except OSError:  # another filesystem: copy instead
            shutil.copyfile(archive, named)
        origin = Origin(kind=OriginKind.UPLOAD, location=filename, sha256=_sha256(named))
        _import_detected(named, filename, settings, report, origin=origin)
    return report


def _import_path(text: str, settings: ImportOptions, report: ImportReport) -> None:
    if not looks_remote(text):
        _import_detected(Path(text), text, settings, report)
        return
    try:
        remote = parse_remote(text, where=text)
    except ImportError_ as error:
        _path_failed(error, text, settings, report)
        return
    _import_remote(remote, settings, report)


def _import_detected(
    path: Path,
    label: str,
    settings: ImportOptions,
    report: ImportReport,
    *,
    origin: Origin | None = None,
) -> None:
    try:
        with detected(path, settings, label=label, origin=origin) as detection:
            _import_detection(detection, label, settings, report, fetched=False)
    except ImportError_ as error:
        _path_failed(error, label, settings, report, name=Path(label).name)


def _import_remote(remote: RemoteSource, settings: ImportOptions, report: ImportReport) -> None:
    """Fetch a remote source given on the command line (or to the API), then import it like a
    local folder or archive."""
    label = remote.describe()
    try:
        with (
            settings.fetcher.fetched(remote) as (path, origin),
            detected(path, settings, label=label, origin=origin, origin_text=label) as found,
        ):
            _import_detection(found, label, settings, report, fetched=True)
    except ImportError_ as error:
        _path_failed(error, label, settings, report)


def _path_failed(
    error: ImportError_,
    label: str,
    settings: ImportOptions,
    report: ImportReport,
    *,
    name: str | None = None,
) -> None:
    if settings.on_found:
        settings.on_found(1)  # the path itself, counted as one plugin that failed
    _record_failure(settings, label, "", error, timezone.now(), 0.0)
    _report_failure(report, settings, name or label, error)


def _import_detection(
    detection: Detection,
    label: str,
    settings: ImportOptions,
    report: ImportReport,
    *,
    fetched: bool,
) -> None:
    """Import what a path holds: its plugins, and the remote entries of a marketplace when the
    run fetches them (each fetched plugin its own transaction too)."""
    fetch = settings.fetches_remote_entries(fetched=fetched)
    sources = [s for s in detection.sources if settings.wants(s.display_name)]
    remote = [e for e in detection.remote if settings.wants(e.name)]
    failed = [f for f in detection.failed if settings.wants(f.name)]
    report.skipped.extend(s for s in detection.skipped if settings.wants(s.name))
    if not fetch:
        report.skipped.extend(Skipped(e.name, NOT_FETCHED) for e in remote)
        remote = []
    if settings.on_found:
        settings.on_found(len(sources) + len(failed) + len(remote))
    for failure in failed:
        error = ValidationFailed(failure.message, path=failure.path, rule=failure.rule)
        _record_failure(settings, label, failure.name, error, timezone.now(), 0.0)
        _report_failure(report, settings, failure.name, error)
    with _planning(sources, settings) as planner:
        for source in sources:
            _import_one(source, settings, report, planner.take() if planner else None)
    for entry in remote:
        _import_remote_entry(entry, settings, report)


def _import_remote_entry(entry: RemoteEntry, settings: ImportOptions, report: ImportReport) -> None:
    label = entry.remote.describe()
    started = timezone.now()
    try:
        with (
            settings.fetcher.fetched(entry.remote) as (path, origin),
            _plugin_folder(path, settings, label=label) as (root, inner),
        ):
            _import_one(entry.plugin_source(root, origin, inner), settings, report)
    except ImportError_ as error:
        _record_failure(settings, label, entry.name, error, started, 0.0)
        _report_failure(report, settings, entry.name, error)


@contextlib.contextmanager
def _plugin_folder(
    path: Path, settings: ImportOptions, *, label: str
) -> Iterator[tuple[Path, str]]:
    """A fetched plugin's folder: the checkout itself, or the downloaded archive unpacked."""
    if path.is_dir():
        yield path, label
        return
    assert settings.store is not None and settings.limits is not None
    with unpacked(path, label=label, limits=settings.limits, tmp=settings.store.tmp) as root:
        yield root, label


@contextlib.contextmanager
def _planning(sources: list[PluginSource], settings: ImportOptions) -> Iterator[PlanAhead | None]:
    """A process planning the next plugins while this one writes, when that is worth it."""
    if not ahead.enabled(sources):
        yield None
        return
    assert settings.store is not None and settings.limits is not None
    known = None if settings.dry_run else KnownVersions.of(settings.collection)
    how = Preparation(
        limits=settings.limits, store=settings.store, dry_run=settings.dry_run, known=known
    )
    with PlanAhead(sources, how) as planner:
        yield planner


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _import_one(
    source: PluginSource,
    settings: ImportOptions,
    report: ImportReport,
    prepared: Prepared | None = None,
) -> None:
    try:
        result = plugin_import(source=source, options=settings, prepared=prepared)
    except ImportError_ as error:
        _report_failure(report, settings, source.display_name, error)
        return
    report.results.append(result)
    if settings.on_plugin:
        settings.on_plugin(result)


def _report_failure(
    report: ImportReport, settings: ImportOptions, name: str, error: ImportError_
) -> None:
    failure = FailedImport(name=name, path=error.path, rule=error.rule, message=error.message)
    report.failed.append(failure)
    if settings.on_plugin:
        settings.on_plugin(failure)


@contextlib.contextmanager
def detected(
    path: Path,
    settings: ImportOptions,
    *,
    label: str,
    origin: Origin | None = None,
    origin_text: str = "",
) -> Iterator[Detection]:
    """What ``path`` holds; an archive is unpacked for the duration of the block. ``origin``:
    where it came from (a local folder or archive when not given)."""
    if not path.exists():
        raise ValidationFailed("no such file or directory", path=label, rule=Rule.NOT_FOUND)
    path = path.resolve()
    if path.is_dir():
        origin = origin or Origin(kind=OriginKind.DIRECTORY, location=str(path))
        yield detect_directory(path, label, origin=origin, origin_text=origin_text)
    elif path.is_file() and is_archive(path):
        assert settings.store is not None and settings.limits is not None
        origin = origin or Origin(kind=OriginKind.ARCHIVE, location=str(path), sha256=_sha256(path))
        with unpacked(path, label=label, limits=settings.limits, tmp=settings.store.tmp) as root:
            inner = f"{label}!{root.name}" if root.parent.name.startswith("archive-") else label
            fallback = root.name if inner != label else _archive_stem(path)
            yield detect_directory(
                root, inner, fallback_name=fallback, origin=origin, origin_text=origin_text
            )
    else:
        raise ValidationFailed(
            "not a plugin folder, a marketplace folder, or a .zip/.tar.gz/.tgz archive",
            path=label,
            rule=Rule.NOT_A_PLUGIN,
        )


def _archive_stem(path: Path) -> str:
    name = path.name
    for suffix in (".tar.gz", ".tgz", ".zip"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def plugin_import(
    *,
    source: PluginSource,
    options: ImportOptions | None = None,
    prepared: Prepared | None = None,
) -> ImportResult:
    """Import one plugin; raises :class:`ImportError_` (and writes nothing) when it fails.
    ``prepared``: the plugin already detected, hashed and staged by a planning process."""
    return _ImportRun(source, options or ImportOptions(), prepared).execute()


@dataclass
class _ImportRun:
    source: PluginSource
    options: ImportOptions
    prepared: Prepared | None = None
    transaction_id: str = field(default_factory=lambda: str(ordered_uuid()))
    started: float = field(default_factory=time.monotonic)
    started_at: Any = field(default_factory=timezone.now)
    conflicts: list[str] = field(default_factory=list)  # name_conflict warnings (DESIGN 5)

    def __post_init__(self) -> None:
        if self.prepared is not None:  # the import began with its detection, ahead
            self.started, self.started_at = self.prepared.started, self.prepared.started_at

    @property
    def store(self) -> BlobStore:
        assert self.options.store is not None
        return self.options.store

    @property
    def limits(self) -> Limits:
        assert self.options.limits is not None
        return self.options.limits

    def elapsed_ms(self) -> float:
        return round((time.monotonic() - self.started) * 1000, 3)

    def execute(self) -> ImportResult:
        with telemetry.tracer.start_as_current_span(
            "plugin.import_transactional",
            attributes={"transaction_id": self.transaction_id, "dry_run": self.options.dry_run},
            start_time=self.prepared.started_ns if self.prepared is not None else None,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            telemetry.log.info(
                "plugin_import_started",
                plugin_name=self.source.display_name,
                source=self.source.label,
                transaction_id=self.transaction_id,
                dry_run=self.options.dry_run,
            )
            try:
                result = self._run(span)
            except ImportError_ as error:
                self._failed(span, error)
                raise
            except Exception as error:
                domain = _as_domain_error(error, self.source.label, self.transaction_id)
                self._failed(span, domain)
                raise domain from error
            self._succeeded(span, result)
            return result

    def _run(self, span: Span) -> ImportResult:
        if self.prepared is None:  # not planned ahead: planned here, the same way
            how = Preparation(limits=self.limits, store=self.store, dry_run=self.options.dry_run)
            self.prepared = prepare(self.source, how)
        staging = self.prepared.staging
        try:
            plan = self._planned(self.prepared)
            span.set_attributes({"plugin_name": plan.name, "child_count": len(plan.children)})
            stale: list[str] = []
            if staging is None:
                resolutions = self._resolve_only(plan)
            elif self.prepared.known and (unchanged := self._unchanged(plan)) is not None:
                resolutions = unchanged
            else:
                resolutions, stale = self._write(plan, staging)
        finally:
            self.prepared.done()
        return self._result(plan, resolutions, stale)

    def _planned(self, prepared: Prepared) -> PluginPlan:
        """The plugin's plan: the spans of its detection and hashing recorded under this
        import's span, their error raised."""
        for timed in prepared.spans:
            child = telemetry.tracer.start_span(
                timed.name, start_time=timed.start_ns, attributes=timed.attributes
            )
            if timed.error:
                child.set_status(Status(StatusCode.ERROR, timed.error))
            elif timed.name == "artifact.hash_compute":
                telemetry.hash_duration.record(timed.seconds)
            child.end(end_time=timed.end_ns)
        if prepared.error is not None:
            raise prepared.error
        assert prepared.plan is not None
        return prepared.plan

    def _unchanged(self, plan: PluginPlan) -> list[Resolution] | None:
        """A plugin re-imported as it is (its version, the children it pins, every blob
        present) needs neither the import lock nor a write beyond its ImportRecord."""
        with telemetry.tracer.start_as_current_span("artifact.dedup_resolve") as span:
            resolutions = unchanged_plugin(self.options.collection, self._candidates(plan))
            if resolutions is None or self.store.missing(plan.blob_digests()):
                return None
            try:
                with transaction.atomic(durable=True):
                    self._record(
                        ImportStatus.SUCCEEDED,
                        plan=plan,
                        plugin=resolutions[-1],
                        resolutions=resolutions,
                    )
            except IntegrityError:  # the version went meanwhile: the full import decides
                return None
            span.set_attributes({"plugin_name": plan.name, "child_count": len(plan.children)})
            self._report_decisions(span, resolutions)
        return resolutions

    def _candidates(self, plan: PluginPlan) -> list[Candidate]:
        return [*(Candidate.of_child(c) for c in plan.children), Candidate.of_plugin(plan)]

    def _resolve_only(self, plan: PluginPlan) -> list[Resolution]:
        collection = Collection.objects.filter(name=self.options.collection).first()
        return self._resolve(collection, plan, planned=self.options.planned)

    def _resolve(
        self,
        collection: Collection | None,
        plan: PluginPlan,
        *,
        planned: PlannedState | None = None,
    ) -> list[Resolution]:
        with telemetry.tracer.start_as_current_span("artifact.dedup_resolve") as span:
            resolutions = resolve(collection, self._candidates(plan))
            self.conflicts = [*name_conflicts(resolutions), *version_reused(resolutions[-1])]
            if planned is not None:
                planned.apply(resolutions)
            span.set_attributes({"plugin_name": plan.name, "child_count": len(plan.children)})
            self._report_decisions(span, resolutions)
        return resolutions

    def _report_decisions(self, span: Span, resolutions: list[Resolution]) -> None:
        debug = telemetry.debug_enabled()  # asked once: a plugin may have thousands of children
        for resolution in resolutions:
            candidate = resolution.candidate
            attributes = {
                "artifact_name": candidate.name,
                "artifact_type": candidate.type,
                "content_hash": candidate.content_hash,
                "decision": resolution.decision.value,
            }
            span.add_event("dedup_decision", attributes=attributes)
            if debug:
                telemetry.log.debug(
                    "dedup_decision", transaction_id=self.transaction_id, **attributes
                )

    def _write(self, plan: PluginPlan, staging: StagingArea) -> tuple[list[Resolution], list[str]]:
        with import_lock(self.store.root):
            added: list[str] = []
            views = ViewWriter(self.store, self.options.collection, held=staging.held)
            try:
                added = staging.commit_blobs(plan.blob_digests())
                self.options.step("blobs", added=added)
                resolutions = self._transaction(plan, views)
            except BaseException:
                views.discard()
                with contextlib.suppress(OSError):
                    self.store.wait_durable()  # no blob is removed while it is being synced
                self._remove_unneeded_blobs(added)
                raise
            self.options.step("committed")
            return resolutions, views.swap_all()

    def _transaction(self, plan: PluginPlan, views: ViewWriter) -> list[Resolution]:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with transaction.atomic(durable=True):
                    collection = self._collection()
                    resolutions = self._write_rows(collection, plan, views)
                self.options.collection_row = collection
                return resolutions
            except IntegrityError:
                self.options.collection_row = None  # perhaps deleted meanwhile
                views.discard()  # staged again by the next attempt
                if attempt == MAX_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def _collection(self) -> Collection:
        if self.options.collection_row is not None:
            return self.options.collection_row
        return Collection.objects.get_or_create(name=self.options.collection)[0]

    def _write_rows(
        self, collection: Collection, plan: PluginPlan, views: ViewWriter
    ) -> list[Resolution]:
        resolutions = self._resolve(collection, plan)
        self.store.start_durable()  # the blobs written before the transaction, flushed now
        *children, plugin = resolutions
        with telemetry.tracer.start_as_current_span("association.write") as span:
            write_rows(
                collection,
                children,
                plugin,
                source=self.options.source_text or self.source.label,
                origin=self.source.origin,
                meta_paths=plan.meta_paths,
                step=self.options.step,
            )
            span.set_attributes(
                {
                    "plugin_name": plan.name,
                    "child_count": len(children),
                    "decision": plugin.decision.value,
                    "transaction_id": self.transaction_id,
                }
            )
        self._stage_views(plan, resolutions, views)
        self._record(ImportStatus.SUCCEEDED, plan=plan, plugin=plugin, resolutions=resolutions)
        self.store.wait_durable()  # the blobs these rows refer to are on disk before the commit
        self.options.step("commit")
        return resolutions

    def _stage_views(
        self, plan: PluginPlan, resolutions: list[Resolution], views: ViewWriter
    ) -> None:
        built = self.prepared.views if self.prepared is not None else None
        skipped = self.prepared.skipped if self.prepared is not None else frozenset()
        contents = plan.views()  # in the order of the candidates
        for position, resolution in enumerate(resolutions):
            if resolution.decision == DedupDecision.LINK_EXISTING:
                continue
            kind, files = contents[position]
            # an existing artifact keeps its own name's spelling; a new one is the candidate's
            artifact = resolution.artifact
            name = artifact.name if isinstance(artifact, Artifact) else resolution.candidate.name
            if built is None or position in skipped:  # not built ahead: one is built here
                views.stage(kind, name, files)
            else:
                views.adopt(built / str(position), kind, name)
        self.options.step("views")

    def _remove_unneeded_blobs(self, added: list[str]) -> None:
        """Take back the blobs this import added, unless a committed row needs them (another
        import's, committed meanwhile). Only a failed write asks, so the blob hashes are not
        indexed: this one query reads the files' table through."""
        if not added:
            return
        try:
            needed = set(
                VersionFile.objects.filter(blob_hash__in=added).values_list("blob_hash", flat=True)
            )
        except DatabaseError:
            telemetry.log.warning("blob_cleanup_skipped", transaction_id=self.transaction_id)
            return
        self.store.remove_many(set(added) - needed)

    def _record(
        self,
        status: str,
        *,
        plan: PluginPlan,
        plugin: Resolution,
        resolutions: list[Resolution],
    ) -> None:
        imported, reused = _counts(resolutions[:-1])
        insert_row(
            ImportRecord,
            transaction_id=self.transaction_id,
            collection_name=self.options.collection,
            plugin_name=plan.name,
            plugin_hash=plan.content_hash,
            plugin_version_id=plugin.version.pk if plugin.version is not None else None,
            source=self.options.source_text or self.source.label,
            origin=self.source.origin.as_dict() if self.source.origin else None,
            parent_id=self.options.parent_record,
            status=status,
            decision=plugin.decision.value,
            started_at=self.started_at,
            finished_at=timezone.now(),
            duration_ms=self.elapsed_ms(),
            children_imported=imported,
            children_reused=reused,
            warnings=[*plan.warnings, *self.conflicts],
        )

    def _result(
        self, plan: PluginPlan, resolutions: list[Resolution], stale: list[str]
    ) -> ImportResult:
        *children, plugin = resolutions
        imported, reused = _counts(children)
        warnings = [
            *plan.warnings,
            *self.conflicts,
            *(f"stale view (run verify_collection --repair): {s}" for s in stale),
        ]
        return ImportResult(
            plugin_id=_id(plugin.artifact),
            plugin_name=plan.name,
            plugin_hash=plan.content_hash,
            decision=plugin.decision,
            transaction_id=self.transaction_id,
            dry_run=self.options.dry_run,
            children=tuple(_child_result(r) for r in children),
            children_imported=imported,
            children_reused=reused,
            warnings=tuple(warnings),
            duration_ms=self.elapsed_ms(),
            plugin_version_id=_id(plugin.version),
            collection=self.options.collection,
        )

    def _succeeded(self, span: Span, result: ImportResult) -> None:
        status = "dry_run" if result.dry_run else "succeeded"
        span.set_attributes(
            {
                "plugin_name": result.plugin_name,
                "content_hash": result.plugin_hash,
                "decision": result.decision.value,
                "child_count": len(result.children),
            }
        )
        telemetry.imports_total.add(1, {"status": status})
        telemetry.import_duration.record(result.duration_ms / 1000, {"status": status})
        for child in (*result.children, result):
            decision = child.decision
            counter = (
                telemetry.dedup_hits
                if decision == DedupDecision.LINK_EXISTING
                else telemetry.dedup_misses
            )
            counter.add(1, {"artifact_type": getattr(child, "type", "plugin")})
        telemetry.log.info(
            "plugin_imported",
            plugin_name=result.plugin_name,
            child_count=len(result.children),
            new_count=result.children_imported,
            existing_count=result.children_reused,
            transaction_id=result.transaction_id,
            duration_ms=result.duration_ms,
            decision=result.decision.value,
            dry_run=result.dry_run,
        )

    def _failed(self, span: Span, error: ImportError_) -> None:
        span.set_status(Status(StatusCode.ERROR, str(error)))
        span.record_exception(error)
        span.set_attribute("plugin_name", self.source.display_name)
        duration = self.elapsed_ms()
        telemetry.imports_total.add(1, {"status": "failed"})
        telemetry.import_duration.record(duration / 1000, {"status": "failed"})
        telemetry.log.error(
            "plugin_import_failed",
            plugin_name=self.source.display_name,
            error=error.message,
            rule=error.rule,
            path=error.path,
            transaction_id=self.transaction_id,
            rolled_back=True,
        )
        _record_failure(
            self.options,
            self.source.label,
            self.source.display_name,
            error,
            self.started_at,
            duration,
            transaction_id=self.transaction_id,
        )


def _record_failure(
    options: ImportOptions,
    source: str,
    plugin_name: str,
    error: ImportError_,
    started_at: Any,
    duration_ms: float,
    transaction_id: str | None = None,
) -> None:
    """The import history keeps failed imports too (not dry runs)."""
    if options.dry_run:
        return
    transaction_id = transaction_id or str(ordered_uuid())
    try:
        ImportRecord.objects.create(
            transaction_id=transaction_id,
            collection_name=options.collection,
            plugin_name=plugin_name,
            source=options.source_text or source,
            parent_id=options.parent_record,
            status=ImportStatus.FAILED,
            started_at=started_at,
            finished_at=timezone.now(),
            duration_ms=duration_ms,
            error_rule=error.rule,
            error_path=error.path,
            error_message=error.message,
        )
    except DatabaseError as failure:
        telemetry.log.error(
            "import_record_failed",
            plugin_name=plugin_name,
            transaction_id=transaction_id,
            error=f"{type(failure).__name__}: {failure}",
            rule=error.rule,
        )


def _as_domain_error(error: Exception, label: str, transaction_id: str) -> ImportError_:
    if isinstance(error, DatabaseError):
        # The database's own text (SQL, constraint names, values) stays in the server log.
        telemetry.log.error(
            "plugin_import_database_error",
            transaction_id=transaction_id,
            error=f"{type(error).__name__}: {error}",
        )
        return ImportError_(
            f"the database could not store this import (transaction {transaction_id}); "
            "nothing of it was kept, and the server log has the details",
            path=label,
            rule=Rule.DATABASE_FAILED,
        )
    if isinstance(error, OSError):
        where = display_path(error.filename) if error.filename else label
        return StorageFailed(
            f"storage error: {error.strerror or error}", path=where, rule=Rule.STORAGE_FAILED
        )
    return ImportError_(f"{type(error).__name__}: {error}", path=label, rule=Rule.INTERNAL)


def _counts(children: Sequence[Resolution]) -> tuple[int, int]:
    reused = sum(1 for r in children if r.decision == DedupDecision.LINK_EXISTING)
    return len(children) - reused, reused


def _id(row: Any) -> str | None:
    return str(row.pk) if row is not None and row.pk is not None else None


def _child_result(resolution: Resolution) -> ChildResult:
    candidate = resolution.candidate
    return ChildResult(
        name=candidate.name,
        type=candidate.type,
        content_hash=candidate.content_hash,
        decision=resolution.decision,
        artifact_id=_id(resolution.artifact),
        version_id=_id(resolution.version),
    )
