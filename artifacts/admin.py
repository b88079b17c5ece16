"""The Django admin: collections, artifacts (a plugin's current children with pinned and
current hashes and drift, a child's parents, every version with what it contained), versions
with their files, the import history, and a page to import an uploaded archive through the
import service. Hashes and versions are read-only: content changes only by importing."""

import json
from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from artifacts import selectors
from artifacts.api.uploads import (
    LimitedUploadHandler,
    UploadTooLarge,
    import_remote_checked,
    import_upload,
)
from artifacts.hashrefs import HEX, MIN_PREFIX
from artifacts.masking import configuration_for
from artifacts.models import (
    DEFAULT_COLLECTION,
    HASH_LENGTH,
    Artifact,
    ArtifactType,
    Collection,
    ImportRecord,
    UpdateState,
    Version,
    VersionFile,
)
from artifacts.permissions import CAN_IMPORT_MESSAGE, can_import
from importer.errors import ImportError_
from importer.results import DedupDecision, ImportReport
from importer.updates import check_updates


class ReadOnlyMixin:
    """Rows written by the import service only."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> SafeString:
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows),
    )
    if not body:
        return format_html("<p>{}</p>", "None.")
    return format_html(
        '<table class="skillmeat-table"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        head,
        body,
    )


def short_hash(value: str | None, *, full: bool = False) -> SafeString:
    shown = (value or "-") if full else (value or "-")[:16]
    return format_html('<code title="{}">{}</code>', value or "", shown)


def _with_count(table: SafeString, shown: int, total: int) -> SafeString:
    """A table, and a line saying so when it shows only the first part of a long list."""
    if shown >= total:
        return table
    return format_html(
        "{}<p>The first {} of {} (the API pages through all of them).</p>", table, shown, total
    )


def _drift(item: selectors.AssociationItem, plugin: str | None = None) -> SafeString:
    """Drift in words: whose newer version it is, never a bare alarm. ``plugin`` is the plugin
    whose children are listed (None when a child's parents are)."""
    if not item.drifted:
        return format_html('<span class="in-sync" style="color:#447e36">{}</span>', "current")
    others = [name for name in item.latest_from if name != plugin]
    if plugin is not None and plugin in item.latest_from:
        words = f"an update: newer in {plugin}"
    elif others:
        words = "newer in " + ", ".join(others)
    else:
        words = "newer version imported on its own"
    return format_html('<span class="drifted" style="color:#9a6700">{}</span>', words)


def _child_name(item: selectors.AssociationItem, plugin: str) -> SafeString:
    """A child's name with, for a skill, how Claude Code invokes it when that differs."""
    link = _link_by(item)
    if item.invocation_name and item.invocation_name != item.artifact_name:
        return format_html(
            '{} <span class="invocation" title="the skill\'s frontmatter name">/{}:{}</span>',
            link,
            plugin,
            item.invocation_name,
        )
    return link


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "artifact_count", "created_at"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Collection]:
        return super().get_queryset(request).annotate(artifact_total=Count("artifacts"))

    @admin.display(description="artifacts", ordering="artifact_total")
    def artifact_count(self, collection: Collection) -> int:
        return collection.artifact_total  # type: ignore[attr-defined]

    def get_readonly_fields(self, request: HttpRequest, obj: Collection | None = None) -> list:
        """A collection's views live under its name: it cannot change once it holds one."""
        if obj is not None and obj.artifacts.exists():
            return ["name"]
        return []

    def has_delete_permission(self, request: HttpRequest, obj: Collection | None = None) -> bool:
        return obj is None or not obj.artifacts.exists()


class ImportArchiveForm(forms.Form):
    file = forms.FileField(
        required=False, help_text="A .zip, .tar.gz or .tgz archive of a plugin or marketplace."
    )
    url = forms.CharField(
        required=False,
        max_length=2048,
        label="Or a remote source",
        help_text="An https git URL (optional @ref and #subfolder) or an https archive URL "
        "(optional #sha256=...), from an allowed host.",
    )
    collection = forms.CharField(initial=DEFAULT_COLLECTION)
    dry_run = forms.BooleanField(required=False, help_text="Report the decisions; write nothing.")
    skip_remote = forms.BooleanField(
        required=False,
        label="Skip remote entries",
        help_text="Do not fetch the remote entries of a fetched marketplace.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if bool(data.get("file")) == bool((data.get("url") or "").strip()):
            raise forms.ValidationError("Give an archive or a remote source (one of them).")
        return data


@admin.register(Artifact)
class ArtifactAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["name", "type", "collection", "latest_hash", "update_state", "updated_at"]
    list_filter = ["type", "collection", ("update_check__state", admin.AllValuesFieldListFilter)]
    search_fields = ["name"]
    search_help_text = "A name, part of one, or a content hash (a prefix of 8+ hex is enough)."
    list_select_related = ["collection", "latest_version", "update_check"]
    actions = ["check_for_updates"]
    readonly_fields = [
        "id",
        "collection",
        "type",
        "name",
        "latest_hash",
        "update_state",
        "configuration",
        "created_at",
        "updated_at",
        "children",
        "parents",
        "version_history",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "id",
                    "collection",
                    "type",
                    "name",
                    "latest_hash",
                    "update_state",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
        ("MCP server", {"fields": ["configuration"], "classes": ["mcp-only"]}),
        ("Current children (the latest version's associations)", {"fields": ["children"]}),
        ("Plugins whose latest version contains it", {"fields": ["parents"]}),
        ("Versions", {"fields": ["version_history"]}),
    ]
    change_list_template = "admin/artifacts/artifact/change_list.html"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        results, _ = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().lower()
        if MIN_PREFIX <= len(term) <= HASH_LENGTH and HEX.fullmatch(term):
            results = results | queryset.filter(versions__content_hash__startswith=term)
        return results.distinct(), False

    def get_fieldsets(self, request: HttpRequest, obj: Artifact | None = None) -> list:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None or obj.type != ArtifactType.MCP:
            fieldsets = [f for f in fieldsets if f[0] != "MCP server"]
        if obj is None or obj.type != ArtifactType.PLUGIN:
            fieldsets = [f for f in fieldsets if not str(f[0]).startswith("Current children")]
        return fieldsets

    @admin.display(description="latest version hash")
    def latest_hash(self, artifact: Artifact) -> SafeString:
        return short_hash(artifact.latest_version_hash, full=True)

    @admin.display(description="upstream")
    def update_state(self, artifact: Artifact) -> str:
        """The last update check of a plugin (check_updates, or the action here)."""
        if artifact.type != ArtifactType.PLUGIN:
            return "-"
        check = getattr(artifact, "update_check", None)
        if check is None:
            return "not checked"
        if check.state == UpdateState.UPDATE_AVAILABLE:
            return f"update available ({check.upstream[:12]})"
        if check.state == UpdateState.UNREACHABLE:
            return f"unreachable: {check.error}"
        return check.get_state_display()

    @admin.action(description="Check the selected plugins for updates")
    def check_for_updates(self, request: HttpRequest, queryset: QuerySet) -> None:
        plugins = queryset.filter(type=ArtifactType.PLUGIN).select_related(
            "collection", "latest_version"
        )
        updates = check_updates(plugins)
        moved = [u.plugin.name for u in updates if u.state == UpdateState.UPDATE_AVAILABLE]
        summary = f"Checked {len(updates)} plugin(s); "
        summary += f"updates available: {', '.join(moved)}." if moved else "no updates available."
        self.message_user(request, summary)

    @admin.display(description="configuration")
    def configuration(self, artifact: Artifact) -> str:
        metadata = artifact.latest_version.metadata if artifact.latest_version else {}
        # Only staff reach the admin, and staff see MCP secrets (masked for everyone else).
        return json.dumps(configuration_for(metadata, staff=True), indent=2, ensure_ascii=False)

    @admin.display(description="children")
    def children(self, artifact: Artifact) -> SafeString:
        found = selectors.artifact_associations(artifact, include_parents=False)
        items = found.children
        rows = [
            (
                i.position,
                _child_name(i, artifact.name),
                i.artifact_type,
                i.relationship_type,
                short_hash(i.pinned_version_hash),
                short_hash(i.current_version_hash),
                _drift(i, artifact.name),
            )
            for i in items
        ]
        table = _table(
            ["position", "name", "type", "relationship", "pinned hash", "current hash", "drift"],
            rows,
        )
        return _with_count(table, len(items), found.children_count)

    @admin.display(description="parents")
    def parents(self, artifact: Artifact) -> SafeString:
        found = selectors.artifact_associations(artifact, include_children=False)
        items = found.parents
        rows = [
            (
                _link_by(i),
                i.relationship_type,
                short_hash(i.pinned_version_hash),
                short_hash(i.current_version_hash),
                _drift(i),
            )
            for i in items
        ]
        table = _table(["plugin", "relationship", "pinned hash", "current hash", "drift"], rows)
        return _with_count(table, len(items), found.parents_count)

    @admin.display(description="versions")
    def version_history(self, artifact: Artifact) -> SafeString:
        versions = (
            Version.objects.filter(artifact=artifact)
            .annotate(children=Count("child_associations"))
            .order_by("-created_at")
        )
        rows = [
            (
                format_html(
                    '<a href="{}">{}</a>',
                    reverse("admin:artifacts_version_change", args=[v.pk]),
                    v.content_hash[:16],
                ),
                v.version_label or "-",
                v.file_count,
                v.children if artifact.type == ArtifactType.PLUGIN else "-",
                "latest" if v.pk == artifact.latest_version_id else "",
                v.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            )
            for v in versions
        ]
        return _table(["content hash", "label", "files", "children", "", "created"], rows)

    def get_urls(self) -> list[URLPattern]:
        entry = csrf_exempt(self._import_entry)
        return [
            path("import/", self.admin_site.admin_view(entry), name="artifacts_artifact_import"),
            *super().get_urls(),
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
                request, form=ImportArchiveForm(), error=str(too_large.detail), status=413
            )

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not can_import(request.user):
            return HttpResponse(CAN_IMPORT_MESSAGE, status=403)
        if request.method != "POST":
            return self._import_page(request, form=ImportArchiveForm())
        report, error, form = self._run_import(request)
        return self._import_page(request, form=form, report=report, error=error)

    def _import_page(
        self,
        request: HttpRequest,
        *,
        form: "ImportArchiveForm",
        report: ImportReport | None = None,
        error: str | None = None,
        status: int = 200,
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import an archive or a remote source",
            "form": form,
            "report": report,
            "groups": _groups(report) if report else [],
            "error": error,
        }
        return TemplateResponse(
            request, "admin/artifacts/artifact/import.html", context, status=status
        )

    def _run_import(
        self, request: HttpRequest
    ) -> tuple[ImportReport | None, str | None, ImportArchiveForm]:
        try:
            form = ImportArchiveForm(request.POST, request.FILES)
            valid = form.is_valid()
        except UploadTooLarge as too_large:
            return None, str(too_large.detail), ImportArchiveForm()
        if not valid:
            return None, None, form
        data = form.cleaned_data
        user = request.user.get_username()
        try:
            if data["url"]:
                report = import_remote_checked(
                    data["url"],
                    collection=data["collection"],
                    dry_run=data["dry_run"],
                    remote=False if data["skip_remote"] else None,
                    source_text=f"admin:{user}",
                )
            else:
                report = import_upload(
                    data["file"],
                    collection=data["collection"],
                    dry_run=data["dry_run"],
                    source_text=f"admin upload:{data['file'].name} by {user}",
                )
        except ImportError_ as failure:
            return None, str(failure), form
        return report, None, form


def _link_by(item: selectors.AssociationItem) -> SafeString:
    url = reverse("admin:artifacts_artifact_change", args=[item.artifact_id])
    return format_html('<a href="{}">{}</a>', url, item.artifact_name)


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


class VersionFileInline(ReadOnlyMixin, admin.TabularInline):
    model = VersionFile
    fields = ["path", "mode_text", "size", "blob_hash", "is_meta"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Version)
class VersionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "artifact",
        "artifact_type",
        "content_hash",
        "version_label",
        "file_count",
        "size",
        "created_at",
    ]
    list_filter = ["artifact__type", "origin_kind"]
    search_fields = ["=content_hash", "artifact__name"]
    list_select_related = ["artifact"]
    readonly_fields = [
        "id",
        "artifact",
        "content_hash",
        "size",
        "file_count",
        "version_label",
        "source",
        "origin_shown",
        "created_at",
        "contained",
    ]
    fields = readonly_fields
    inlines = [VersionFileInline]

    @admin.display(description="type", ordering="artifact__type")
    def artifact_type(self, version: Version) -> str:
        return version.artifact.type

    @admin.display(description="origin")
    def origin_shown(self, version: Version) -> SafeString:
        origin = version.origin
        if origin is None:
            return format_html("{}", "-")
        market = origin["marketplace"]
        rows = [
            ("kind", origin["kind"]),
            ("location", origin["location"]),
            ("ref", origin["ref"]),
            ("commit", short_hash(origin["commit"]) if origin["commit"] else None),
            ("sha256", short_hash(origin["sha256"]) if origin["sha256"] else None),
            ("subfolder", origin["path"]),
            ("marketplace", f"{market['name']} ({market['location']})" if market else None),
        ]
        return _table(["", ""], [(k, v) for k, v in rows if v])

    @admin.display(description="children of this version (pinned)")
    def contained(self, version: Version) -> SafeString:
        if version.artifact.type != ArtifactType.PLUGIN:
            return format_html("{}", "-")
        items = selectors.artifact_associations(
            version.artifact, include_parents=False, plugin_version=version
        ).children
        rows = [
            (
                i.position,
                _child_name(i, version.artifact.name),
                i.artifact_type,
                short_hash(i.pinned_version_hash),
                short_hash(i.current_version_hash),
                _drift(i, version.artifact.name),
            )
            for i in items
        ]
        return _table(["position", "name", "type", "pinned hash", "current hash", "drift"], rows)


@admin.register(ImportRecord)
class ImportRecordAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "plugin_name",
        "status",
        "decision",
        "collection_name",
        "started_at",
        "duration_ms",
    ]
    list_filter = ["status", "collection_name"]
    search_fields = ["plugin_name", "plugin_hash", "transaction_id"]
    readonly_fields = [field.name for field in ImportRecord._meta.fields]
