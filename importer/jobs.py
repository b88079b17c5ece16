"""Background imports (DESIGN section 7) through Django's tasks API (django-tasks): the API and
the admin queue an import; its ImportRecord exists from that moment (``queued``), then
``running`` under a lease its worker renews, then ``succeeded`` or ``failed`` with the report
document. With the immediate backend (the quick start) the task runs at once in the request.

An upload is kept where every worker can read it (the bucket's ``<prefix>-uploads/``, or the
local ``uploads/``) and removed before the record turns final. A worker that dies mid-import
leaves what a killed command leaves (nothing half-committed); its record's lease runs out and
the next worker that looks marks it ``failed`` and removes its upload."""

import contextlib
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django_tasks import task

from artifacts.models import (
    FINAL_STATUSES,
    ImportKind,
    ImportRecord,
    ImportStatus,
)
from blobstore import blob_store
from importer import telemetry
from importer.remote.guard import RemoteGuard
from importer.results import DedupDecision, FailedImport, ImportReport, ImportResult
from importer.services import import_archive, import_paths

WORKER_LOST = "worker_lost"


def lease() -> timedelta:
    return timedelta(seconds=settings.SKILLMEAT_IMPORT_LEASE_SECONDS)


def queue_import(
    *,
    collection: str,
    dry_run: bool,
    source_text: str,
    upload: Path | None = None,
    filename: str = "",
    url: str = "",
    remote: bool | None = None,
    guarded: bool = True,
) -> ImportRecord:
    """Record an import as ``queued`` and hand it to the task queue; the record (final
    already when the backend ran it at once)."""
    record_id = uuid.uuid4()
    request: dict[str, Any] = {
        "dry_run": dry_run,
        "remote": remote,
        "guarded": guarded,
        "url": url,
        "filename": filename,
    }
    if upload is not None:
        request["upload"] = blob_store().keep_upload(f"{record_id}/{Path(filename).name}", upload)
    record = ImportRecord.objects.create(
        id=record_id,
        transaction_id=uuid.uuid4(),
        kind=ImportKind.REQUEST,
        collection_name=collection,
        source=source_text,
        status=ImportStatus.QUEUED,
        started_at=timezone.now(),
        request=request,
    )
    run_queued_import.enqueue(str(record.pk))
    record.refresh_from_db()
    return record


@task()
def run_queued_import(record_id: str) -> str:
    """The task a worker runs: claim the record, import under a lease, keep the report."""
    record = _claim(record_id)
    if record is None:  # already run, or reaped: nothing to do
        return record_id
    started = time.perf_counter()
    with _lease_kept(record_id):
        report = _import(record)
    _finish(record, report, started)
    return record_id


def _claim(record_id: str) -> ImportRecord | None:
    now = timezone.now()
    claimed = ImportRecord.objects.filter(pk=record_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, heartbeat_at=now, started_at=now
    )
    return ImportRecord.objects.get(pk=record_id) if claimed else None


def _import(record: ImportRecord) -> ImportReport:
    request = record.request or {}
    options = {
        "collection": record.collection_name,
        "dry_run": request.get("dry_run", False),
        "source_text": record.source,
        "remote": request.get("remote"),
        "guard": RemoteGuard.from_settings() if request.get("guarded", True) else None,
        "parent_record": str(record.pk),
    }
    try:
        if request.get("url"):
            return import_paths([request["url"]], **options)
        with _fetched_upload(request) as archive:
            return import_archive(archive, filename=request["filename"], **options)
    except Exception as error:  # the report says what happened; the record still turns final
        telemetry.log.exception("queued_import_error", record_id=str(record.pk))
        failure = FailedImport(
            name=request.get("filename") or request.get("url", ""),
            path=request.get("filename") or request.get("url", ""),
            rule="internal",
            message=f"{type(error).__name__}: the import stopped (the server log has details)",
        )
        return ImportReport(failed=[failure])


@contextlib.contextmanager
def _fetched_upload(request: dict[str, Any]) -> Iterator[Path]:
    store = blob_store()
    store.tmp.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="queued-", dir=store.tmp) as folder:
        local = Path(folder) / Path(request["filename"]).name
        store.fetch_upload(request["upload"], local)
        yield local


def _finish(record: ImportRecord, report: ImportReport, started: float) -> None:
    _discard_upload(record)
    status = ImportStatus.SUCCEEDED if report.ok else ImportStatus.FAILED
    first = report.failed[0] if report.failed else None
    ImportRecord.objects.filter(pk=record.pk, status=ImportStatus.RUNNING).update(
        status=status,
        result=report.as_dict(),
        finished_at=timezone.now(),
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        plugin_name=", ".join(r.plugin_name for r in report.results)[:512],
        error_rule=first.rule if first else "",
        error_path=first.path if first else "",
        error_message=first.message if first else "",
    )


def _discard_upload(record: ImportRecord) -> None:
    location = (record.request or {}).get("upload")
    if location:
        with contextlib.suppress(Exception):
            blob_store().discard_upload(location)


@contextlib.contextmanager
def _lease_kept(record_id: str) -> Iterator[None]:
    """Renew the record's lease from a thread of its own while the import runs."""
    stop = threading.Event()

    def renew() -> None:
        try:
            while not stop.wait(lease().total_seconds() / 3):
                ImportRecord.objects.filter(pk=record_id, status=ImportStatus.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            connection.close()

    keeper = threading.Thread(target=renew, name=f"lease-{record_id}", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join()


def reap_stale_imports() -> list[str]:
    """Mark ``failed`` every running import whose lease ran out (its worker died), listing
    the plugins that committed before, and remove its upload. Returns their ids."""
    cutoff = timezone.now() - lease()
    stale = ImportRecord.objects.filter(
        kind=ImportKind.REQUEST, status=ImportStatus.RUNNING, heartbeat_at__lt=cutoff
    )
    reaped = []
    for record in stale:
        report = ImportReport(
            results=_committed(record),
            failed=[
                FailedImport(
                    name=(record.request or {}).get("filename") or record.source,
                    path=record.source,
                    rule=WORKER_LOST,
                    message="the worker running this import stopped; what had not committed "
                    "was not kept (verify_collection --repair tidies what it left)",
                )
            ],
        )
        _discard_upload(record)
        updated = ImportRecord.objects.filter(pk=record.pk, status=ImportStatus.RUNNING).update(
            status=ImportStatus.FAILED,
            result=report.as_dict(),
            finished_at=timezone.now(),
            error_rule=WORKER_LOST,
            error_message=report.failed[0].message,
        )
        if updated:
            reaped.append(str(record.pk))
            telemetry.log.warning("queued_import_reaped", record_id=str(record.pk))
    return reaped


def _committed(record: ImportRecord) -> list[ImportResult]:
    """What the plugin records of a dead import say committed (children not kept)."""
    done = record.plugin_records.filter(status=ImportStatus.SUCCEEDED).select_related(
        "plugin_version"
    )
    return [
        ImportResult(
            plugin_id=str(r.plugin_version.artifact_id) if r.plugin_version else None,
            plugin_name=r.plugin_name,
            plugin_hash=r.plugin_hash,
            decision=DedupDecision(r.decision),
            transaction_id=str(r.transaction_id),
            dry_run=False,
            children=(),
            children_imported=r.children_imported,
            children_reused=r.children_reused,
            warnings=tuple(r.warnings),
            duration_ms=r.duration_ms,
            plugin_version_id=str(r.plugin_version_id) if r.plugin_version_id else None,
            collection=r.collection_name,
        )
        for r in done
    ]


def keep_reaping(stop: threading.Event, every: float) -> None:
    """A worker's companion loop: reap stale imports now and then until told to stop."""
    try:
        while True:
            close_old_connections()
            with contextlib.suppress(Exception):
                reap_stale_imports()
            if stop.wait(every):
                return
    finally:
        connection.close()


def is_final(record: ImportRecord) -> bool:
    return record.status in FINAL_STATUSES
