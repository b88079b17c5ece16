"""The admin's import page: an uploaded archive or a remote source, through the import service
with the API's permission, size and remote-source rules, in the admin's own form layout. A
collection is chosen from the existing ones (a new one is named on purpose, never by a typo), and
a dry run offers a confirm step that imports what was checked without a second upload."""

import secrets
import shutil
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin import helpers
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from artifacts.api.uploads import (
    LimitedUploadHandler,
    UploadTooLarge,
    import_remote_checked,
    import_upload,
    queue_remote,
    queue_upload,
)
from artifacts.models import DEFAULT_COLLECTION, Collection
from artifacts.names import validate_name
from artifacts.permissions import CAN_IMPORT_MESSAGE, can_import
from blobstore import blob_store
from importer.errors import ImportError_
from importer.jobs import is_final, queue_import
from importer.results import DedupDecision, ImportReport

CONFIRM_SALT = "skillmeat.admin.import-confirm"
CONFIRM_MAX_AGE = 3600  # seconds a dry run's upload is kept for its confirm step
FIELDSETS = [
    ("What to import", {"fields": ["file", "url"]}),
    ("Where", {"fields": ["collection", "new_collection"]}),
    ("How", {"fields": ["dry_run", "skip_remote"]}),
]


class ImportForm(forms.Form):
    file = forms.FileField(
        required=False, help_text="A .zip, .tar.gz or .tgz archive of a plugin or marketplace."
    )
    url = forms.CharField(
        required=False,
        max_length=2048,
        label="Or a remote source",
        help_text="An https git URL (optional @ref and #subfolder) or an https archive URL "
        "(optional #sha256=...), from an allowed host.",
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )
    collection = forms.ChoiceField(initial=DEFAULT_COLLECTION)
    new_collection = forms.CharField(
        required=False,
        max_length=512,
        label="Or a new collection",
        help_text="Creates this collection (names follow the name rule).",
    )
    dry_run = forms.BooleanField(
        required=False, initial=True, help_text="Report the decisions first; write nothing."
    )
    skip_remote = forms.BooleanField(
        required=False,
        label="Skip remote entries",
        help_text="Do not fetch the remote entries of a fetched marketplace.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = list(Collection.objects.order_by("name").values_list("name", flat=True))
        self.fields["collection"].choices = [(n, n) for n in names or [DEFAULT_COLLECTION]]

    def clean_new_collection(self) -> str:
        name = self.cleaned_data.get("new_collection", "").strip()
        if not name:
            return ""
        validate_name(name)
        if Collection.objects.filter(name=name).exists():
            raise ValidationError(f"{name!r} exists already: choose it above.")
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if bool(data.get("file")) == bool((data.get("url") or "").strip()):
            raise ValidationError("Give an archive or a remote source (one of them).")
        data["target"] = data.get("new_collection") or data.get("collection")
        return data


class ImportPage:
    """The import page of the artifact admin (a mixin of its ModelAdmin)."""

    def import_urls(self) -> list[URLPattern]:
        entry = csrf_exempt(self._import_entry)
        return [
            path("import/", self.admin_site.admin_view(entry), name="artifacts_artifact_import"),
        ]

    def _import_entry(self, request: HttpRequest) -> HttpResponse:
        # The size cap must be in place before anything reads the body, CSRF checks included;
        # a body past it is refused while CSRF reads it, and answered with the form again.
        request.upload_handlers = [
            LimitedUploadHandler(request, settings.SKILLMEAT_MAX_TOTAL_BYTES)
        ]
        try:
            return csrf_protect(self.import_view)(request)
        except UploadTooLarge as too_large:
            return self._import_page(
                request, form=ImportForm(), error=str(too_large.detail), status=413
            )

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not can_import(request.user):
            return HttpResponse(CAN_IMPORT_MESSAGE, status=403)
        if request.method != "POST":
            return self._import_page(request, form=ImportForm())
        if "confirm" in request.POST:
            report, error = _confirmed(request)
            return self._import_page(request, form=ImportForm(), report=report, error=error)
        try:
            form = ImportForm(request.POST, request.FILES)
            valid = form.is_valid()
        except UploadTooLarge as too_large:
            return self._import_page(request, form=ImportForm(), error=str(too_large.detail))
        if not valid:
            return self._import_page(request, form=form)
        report, error = _run(request, form.cleaned_data)
        confirm = _keep_for_confirm(form.cleaned_data, report) if report else None
        return self._import_page(request, form=form, report=report, error=error, confirm=confirm)

    def _import_page(
        self,
        request: HttpRequest,
        *,
        form: ImportForm,
        report: ImportReport | None = None,
        error: str | None = None,
        confirm: str | None = None,
        status: int = 200,
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import an archive or a remote source",
            "adminform": helpers.AdminForm(form, FIELDSETS, {}),
            "form": form,
            "report": report,
            "groups": _groups(report) if report else [],
            "error": error,
            "confirm": confirm,
            "media": self.media + form.media,
        }
        return TemplateResponse(
            request, "admin/artifacts/artifact/import.html", context, status=status
        )


def _run(request: HttpRequest, data: dict[str, Any]) -> tuple[ImportReport | None, str | None]:
    """A dry run at once (its answer is the page); an import through the task queue."""
    if not data["dry_run"]:
        return _queued(request, data)
    user = request.user.get_username()
    try:
        if data["url"]:
            report = import_remote_checked(
                data["url"],
                collection=data["target"],
                dry_run=data["dry_run"],
                remote=False if data["skip_remote"] else None,
                source_text=f"admin:{user}",
            )
        else:
            report = import_upload(
                data["file"],
                collection=data["target"],
                dry_run=data["dry_run"],
                source_text=f"admin upload:{data['file'].name} by {user}",
            )
    except ImportError_ as failure:
        return None, str(failure)
    return report, None


def _queued(request: HttpRequest, data: dict[str, Any]) -> tuple[ImportReport | None, str | None]:
    user = request.user.get_username()
    options = {"collection": data["target"], "dry_run": False}
    try:
        if data["url"]:
            record = queue_remote(
                data["url"],
                remote=False if data["skip_remote"] else None,
                source_text=f"admin:{user}",
                **options,
            )
        else:
            record = queue_upload(
                data["file"],
                source_text=f"admin upload:{data['file'].name} by {user}",
                **options,
            )
    except ImportError_ as failure:
        return None, str(failure)
    if not is_final(record):
        url = reverse("admin:artifacts_importrecord_change", args=[record.pk])
        messages.info(request, format_html('Queued: <a href="{}">follow the import</a>.', url))
        return None, None
    return ImportReport.from_dict(record.result or {}), None


def _keep_for_confirm(data: dict[str, Any], report: ImportReport) -> str | None:
    """After a dry run that would import something: keep the upload (in ``tmp/``, removed
    by the confirm step or, once stale, by ``verify_collection --repair``) and sign what the
    confirm step needs."""
    if not data["dry_run"] or not report.results:
        return None
    kept = {"collection": data["target"], "skip_remote": data["skip_remote"]}
    if data["url"]:
        return signing.dumps({**kept, "url": data["url"]}, salt=CONFIRM_SALT)
    token = secrets.token_hex(16)
    name = Path(data["file"].name or "upload.zip").name
    folder = blob_store().tmp / f"pending-{token}"
    folder.mkdir(parents=True)
    shutil.copyfile(data["file"].temporary_file_path(), folder / name)
    return signing.dumps({**kept, "token": token, "name": name}, salt=CONFIRM_SALT)


def _confirmed(request: HttpRequest) -> tuple[ImportReport | None, str | None]:
    """The confirm step: import for real what the dry run checked."""
    try:
        kept = signing.loads(request.POST["confirm"], salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:
        return None, "This confirmation has expired or is not valid: run the dry run again."
    user = request.user.get_username()
    if "url" in kept:
        data = {**kept, "file": None, "dry_run": False, "target": kept["collection"]}
        return _queued(request, data)
    folder = blob_store().tmp / f"pending-{kept['token']}"
    archive = folder / Path(kept["name"]).name
    if not archive.is_file():
        return None, "The checked upload is gone: upload it again."
    try:
        record = queue_import(
            upload=archive,
            filename=archive.name,
            collection=kept["collection"],
            dry_run=False,
            source_text=f"admin upload:{archive.name} by {user}",
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if not is_final(record):
        url = reverse("admin:artifacts_importrecord_change", args=[record.pk])
        messages.info(request, format_html('Queued: <a href="{}">follow the import</a>.', url))
        return None, None
    return ImportReport.from_dict(record.result or {}), None


def _groups(report: ImportReport) -> list[dict[str, Any]]:
    """Per plugin: its decision and its children grouped as new / new version / reused."""
    titles: list[tuple[DedupDecision, str]] = [
        (DedupDecision.CREATE_NEW_ARTIFACT, "new"),
        (DedupDecision.CREATE_NEW_VERSION, "new version"),
        (DedupDecision.LINK_EXISTING, "reused"),
    ]
    return [
        {
            "result": result,
            "groups": [
                (title, [c for c in result.children if c.decision == decision])
                for decision, title in titles
            ],
        }
        for result in report.results
    ]
