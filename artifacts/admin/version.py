"""The version pages: a version's origin, files (each one's contents: text shown, binary offered
as a download), what a plugin version contained, and the diff against another version of the
same artifact."""

from typing import Any

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from artifacts import selectors
from artifacts.admin.display import MEDIA, ReadOnlyMixin, children_rows, link_to, short_hash, table
from artifacts.contents import is_text, read_start, version_diff
from artifacts.models import ArtifactType, Version, VersionFile

SHOWN_TEXT_BYTES = 1024 * 1024
SHOWN_OTHER_VERSIONS = 20


@admin.register(Version)
class VersionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "artifact_type",
        "hash",
        "version_label",
        "origin_kind",
        "file_count",
        "size",
        "created_at",
    ]
    list_filter = ["artifact__type", "origin_kind"]
    search_fields = ["=content_hash", "artifact__name"]
    list_select_related = ["artifact"]
    readonly_fields = [
        "artifact_link",
        "hash",
        "size",
        "file_count",
        "version_label",
        "source",
        "origin_shown",
        "warnings",
        "created_at",
        "compare",
        "file_table",
        "contained",
    ]
    fields = readonly_fields

    @property
    def media(self) -> Any:
        return super().media + MEDIA

    def get_queryset(self, request: HttpRequest) -> Any:
        versions = super().get_queryset(request).select_related("artifact__collection")
        return selectors.with_label_reuse(versions)

    @admin.display(description="warnings")
    def warnings(self, version: Version) -> SafeString:
        if not getattr(version, "label_reused", False):
            return format_html("{}", "-")
        return format_html(
            '<span class="drifted">version_reused: version {} was declared before by different '
            "content; Claude Code keeps its cached copy while the string stays the same</span>",
            version.version_label,
        )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "<uuid:version_id>/files/<path:file_path>",
                view(self.file_view),
                name="artifacts_version_file",
            ),
            path(
                "<uuid:old_id>/diff/<uuid:new_id>/",
                view(self.diff_view),
                name="artifacts_version_diff",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="artifact")
    def artifact_link(self, version: Version) -> SafeString:
        return link_to(version.artifact, str(version.artifact))

    @admin.display(description="content hash")
    def hash(self, version: Version) -> SafeString:
        return short_hash(version.content_hash)

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
        return table(["", ""], [(k, v) for k, v in rows if v])

    @admin.display(description="compare with")
    def compare(self, version: Version) -> SafeString:
        others = version.artifact.versions.exclude(pk=version.pk).order_by("-created_at")
        links = [
            format_html(
                '<a href="{}">{}</a>',
                reverse("admin:artifacts_version_diff", args=[version.pk, other.pk]),
                other.content_hash[:12],
            )
            for other in others[:SHOWN_OTHER_VERSIONS]
        ]
        if not links:
            return format_html("{}", "the only version")
        return format_html(" ".join(["{}"] * len(links)), *links)

    @admin.display(description="files")
    def file_table(self, version: Version) -> SafeString:
        rows = [
            (
                format_html(
                    '<a href="{}">{}</a>',
                    reverse("admin:artifacts_version_file", args=[version.pk, f.path]),
                    f.path,
                ),
                f.mode_text,
                f.size,
                short_hash(f.blob_hash),
                "yes" if f.is_meta else "",
            )
            for f in version.files.order_by("path")
        ]
        return table(["path", "mode", "size", "blob", "plugin's own"], rows)

    @admin.display(description="children of this version (pinned)")
    def contained(self, version: Version) -> SafeString:
        if version.artifact.type != ArtifactType.PLUGIN:
            return format_html("{}", "-")
        items = selectors.artifact_associations(
            version.artifact, include_parents=False, plugin_version=version
        ).children
        rows = children_rows(items, version.artifact.name, relationship=False)
        return table(["position", "name", "type", "pinned", "current", "drift"], rows)

    # --- pages of their own ----------------------------------------------------------

    def _page(self, request: HttpRequest, template: str, **context: Any) -> HttpResponse:
        return TemplateResponse(
            request,
            f"admin/artifacts/version/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "media": self.media,
                **context,
            },
        )

    def file_view(self, request: HttpRequest, version_id: Any, file_path: str) -> HttpResponse:
        found = (
            VersionFile.objects.select_related("version__artifact")
            .filter(version_id=version_id, path=file_path)
            .first()
        )
        if found is None:
            raise Http404("No such file in this version.")
        data = read_start(found, SHOWN_TEXT_BYTES + 1)
        text = is_text(data)
        return self._page(
            request,
            "file.html",
            title=f"{found.path} in {found.version}",
            file=found,
            version=found.version,
            text=data[:SHOWN_TEXT_BYTES].decode("utf-8", "replace") if text else None,
            truncated=len(data) > SHOWN_TEXT_BYTES,
            blob=short_hash(found.blob_hash),
            download=f"/api/v1/versions/{found.version_id}/files/{found.path}",
        )

    def diff_view(self, request: HttpRequest, old_id: Any, new_id: Any) -> HttpResponse:
        versions = Version.objects.select_related("artifact").filter(pk__in=[old_id, new_id])
        found = {v.pk: v for v in versions}
        old, new = found.get(old_id), found.get(new_id)
        if old is None or new is None or old.artifact_id != new.artifact_id:
            raise Http404("These are not two versions of one artifact.")
        return self._page(
            request,
            "diff.html",
            title=f"{old} → {new.content_hash[:12]}",
            old=old,
            new=new,
            changes=version_diff(old, new, staff=True),
        )
