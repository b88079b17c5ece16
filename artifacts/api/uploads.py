"""Imports from the web (the API and the admin): uploaded archives, with a handler that caps
their bytes while they stream in (Django itself does not cap file parts), writing them to a
temporary file, never to memory; and remote sources, checked by the guard before anything is
fetched."""

from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import HttpRequest
from rest_framework import status
from rest_framework.exceptions import APIException

from artifacts.models import ImportRecord
from importer.archive import is_archive
from importer.errors import Rule, ValidationFailed
from importer.jobs import queue_import
from importer.remote.guard import RemoteGuard
from importer.remote.spec import parse_remote
from importer.results import ImportReport
from importer.services import import_archive, import_paths


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "upload_too_large"
    default_detail = "The upload is larger than the limit."


class LimitedUploadHandler(TemporaryFileUploadHandler):
    """Refuses a request body, and any file part, past ``limit`` bytes."""

    # Multipart boundaries and the small form fields come on top of the file itself.
    ENVELOPE_BYTES = 64 * 1024

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def _refuse(self) -> UploadTooLarge:
        return UploadTooLarge(f"The upload is larger than the limit of {self.limit} bytes.")

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],  # noqa: N803 - Django's parameter name
        content_length: int,
        boundary: bytes,
        encoding: str | None = None,
    ) -> None:
        if content_length and content_length > self.limit + self.ENVELOPE_BYTES:
            raise self._refuse()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.file.close()
            raise self._refuse()
        return super().receive_data_chunk(raw_data, start)


def import_upload(
    upload: TemporaryUploadedFile,
    *,
    collection: str,
    dry_run: bool,
    source_text: str,
    remote: bool | None = None,
) -> ImportReport:
    """Import an archive uploaded through the API or the admin with the import service. The
    remote entries of an uploaded marketplace are fetched only when asked, and guarded."""
    return import_archive(
        Path(upload.temporary_file_path()),
        filename=Path(upload.name or "upload").name,
        collection=collection,
        dry_run=dry_run,
        source_text=source_text,
        remote=remote,
        guard=RemoteGuard.from_settings(),
    )


def checked_guard(url: str) -> RemoteGuard:
    """The guard, once it let ``url`` through; ``RemoteRefused`` or ``ValidationFailed`` at
    once otherwise (before anything is fetched or queued)."""
    guard = RemoteGuard.from_settings()
    guard.check(parse_remote(url, where="url"), where="url")
    return guard


def import_remote_checked(
    url: str, *, collection: str, dry_run: bool, remote: bool | None, source_text: str
) -> ImportReport:
    """Import a remote source for a web user, in this request; each fetch is guarded again."""
    guard = checked_guard(url)
    return import_paths(
        [url.strip()],
        collection=collection,
        dry_run=dry_run,
        remote=remote,
        guard=guard,
        source_text=source_text,
    )


def queue_upload(
    upload: TemporaryUploadedFile,
    *,
    collection: str,
    dry_run: bool,
    source_text: str,
    remote: bool | None = None,
) -> ImportRecord:
    """Hand an uploaded archive to the task queue (a name that is no archive: 400 at once)."""
    filename = Path(upload.name or "upload").name
    if not is_archive(Path(filename)):
        raise ValidationFailed(
            "not a .zip, .tar.gz or .tgz archive", path=filename, rule=Rule.BAD_ARCHIVE
        )
    return queue_import(
        upload=Path(upload.temporary_file_path()),
        filename=filename,
        collection=collection,
        dry_run=dry_run,
        source_text=source_text,
        remote=remote,
    )


def queue_remote(
    url: str, *, collection: str, dry_run: bool, remote: bool | None, source_text: str
) -> ImportRecord:
    """Hand a remote source to the task queue once the guard let it through."""
    checked_guard(url)
    return queue_import(
        url=url.strip(),
        collection=collection,
        dry_run=dry_run,
        source_text=source_text,
        remote=remote,
    )
