"""The artifact pages: the list (child counts, drift and upstream columns and filters), a
plugin's description, current children and versions, a child's parents and, for each of its
versions, the plugins that brought it; actions to check for updates and to delete."""

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from artifacts import selectors
from artifacts.admin.display import (
    MEDIA,
    ReadOnlyMixin,
    children_rows,
    drift,
    link_by,
    short_hash,
    table,
    with_count,
)
from artifacts.admin.imports import ImportPage
from artifacts.hashrefs import HEX, MIN_PREFIX
from artifacts.masking import configuration_for
from artifacts.models import (
    HASH_LENGTH,
    Artifact,
    ArtifactAssociation,
    ArtifactType,
    UpdateState,
    Version,
)
from artifacts.permissions import can_delete
from importer.errors import ImportError_
from importer.removal import remove_artifact
from importer.updates import check_updates


def _count(associations: QuerySet) -> Coalesce:
    counted = associations.order_by().values("parent_version").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def annotate_counts(artifacts: QuerySet[Artifact]) -> QuerySet[Artifact]:
    """Each plugin's current children and how many of them drifted, two subqueries."""
    current = ArtifactAssociation.objects.filter(parent_version=OuterRef("latest_version"))
    drifted = current.exclude(child_version=F("child__latest_version"))
    return artifacts.annotate(child_total=_count(current), drift_total=_count(drifted))


class DriftFilter(admin.SimpleListFilter):
    title = "drift"
    parameter_name = "drift"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("drifted", "a child has a newer version"), ("current", "every child current")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        plugins = queryset.filter(type=ArtifactType.PLUGIN)
        if self.value() == "drifted":
            return plugins.filter(drift_total__gt=0)
        if self.value() == "current":
            return plugins.filter(drift_total=0)
        return queryset


class UpstreamFilter(admin.SimpleListFilter):
    title = "upstream"
    parameter_name = "upstream"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*UpdateState.choices, ("unchecked", "not checked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "unchecked":
            return queryset.filter(type=ArtifactType.PLUGIN, update_check__isnull=True)
        if self.value():
            return queryset.filter(update_check__state=self.value())
        return queryset


SUMMARY = [
    "id",
    "collection",
    "type",
    "name",
    "description",
    "latest_hash",
    "update_state",
    "created_at",
    "updated_at",
]


@admin.register(Artifact)
class ArtifactAdmin(ImportPage, ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "type",
        "collection",
        "latest_hash",
        "child_count",
        "drift_count",
        "update_state",
        "updated",
    ]
    list_filter = ["type", "collection", DriftFilter, UpstreamFilter]
    search_fields = ["name"]
    search_help_text = "A name, part of one, or a content hash (a prefix of 8+ hex is enough)."
    list_select_related = ["collection", "latest_version", "update_check"]
    actions = ["check_for_updates", "remove_selected"]
    readonly_fields = [*SUMMARY, "configuration", "children", "parents", "version_history"]
    fieldsets = [
        (None, {"fields": SUMMARY}),
        ("MCP server", {"fields": ["configuration"], "classes": ["mcp-only"]}),
        ("Current children (the latest version's associations)", {"fields": ["children"]}),
        ("Plugins whose latest version contains it", {"fields": ["parents"]}),
        ("Versions", {"fields": ["version_history"]}),
    ]
    change_list_template = "admin/artifacts/artifact/change_list.html"

    @property
    def media(self) -> Any:
        return super().media + MEDIA

    def get_queryset(self, request: HttpRequest) -> QuerySet[Artifact]:
        return annotate_counts(super().get_queryset(request))

    def get_urls(self) -> list[URLPattern]:
        return [*self.import_urls(), *super().get_urls()]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        results, _ = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().lower()
        if MIN_PREFIX <= len(term) <= HASH_LENGTH and HEX.fullmatch(term):
            matching = {
                "versions__content_hash__gte": term,
                "versions__content_hash__lt": term + "g",
            }
            results = results | queryset.filter(**matching)  # a range the hash index serves
        return results.distinct(), False

    def get_fieldsets(self, request: HttpRequest, obj: Artifact | None = None) -> list:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None or obj.type != ArtifactType.MCP:
            fieldsets = [f for f in fieldsets if f[0] != "MCP server"]
        if obj is None or obj.type != ArtifactType.PLUGIN:
            fieldsets = [f for f in fieldsets if not str(f[0]).startswith("Current children")]
        return fieldsets

    # --- columns ---------------------------------------------------------------------

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, artifact: Artifact) -> str:
        return artifact.updated_at.strftime("%Y-%m-%d %H:%M")

    @admin.display(description="latest version")
    def latest_hash(self, artifact: Artifact) -> SafeString:
        return short_hash(artifact.latest_version_hash)

    @admin.display(description="children", ordering="child_total")
    def child_count(self, artifact: Artifact) -> Any:
        return artifact.child_total if artifact.type == ArtifactType.PLUGIN else "-"  # type: ignore[attr-defined]

    @admin.display(description="drift", ordering="drift_total")
    def drift_count(self, artifact: Artifact) -> SafeString:
        if artifact.type != ArtifactType.PLUGIN:
            return format_html("{}", "-")
        drifted = artifact.drift_total  # type: ignore[attr-defined]
        if not drifted:
            return format_html('<span class="in-sync">{}</span>', "current")
        return format_html('<span class="drifted">{} with newer versions</span>', drifted)

    @admin.display(description="upstream")
    def update_state(self, artifact: Artifact) -> SafeString:
        """The last update check of a plugin (check_updates, or the action here)."""
        if artifact.type != ArtifactType.PLUGIN:
            return format_html("{}", "-")
        check = getattr(artifact, "update_check", None)
        if check is None:
            return format_html("{}", "not checked")
        if check.state == UpdateState.UPDATE_AVAILABLE:
            return format_html(
                '<span class="update-available" title="{}">update available ({})</span>',
                check.upstream,
                check.upstream[:12],
            )
        if check.state == UpdateState.UNREACHABLE:
            return format_html('<span class="unreachable">unreachable: {}</span>', check.error)
        return format_html("{}", check.get_state_display())

    # --- the page of one artifact --------------------------------------------------

    @admin.display(description="description")
    def description(self, artifact: Artifact) -> str:
        metadata = artifact.latest_version.metadata if artifact.latest_version else {}
        return str((metadata or {}).get("description") or "-")

    @admin.display(description="configuration")
    def configuration(self, artifact: Artifact) -> str:
        metadata = artifact.latest_version.metadata if artifact.latest_version else {}
        # Only staff reach the admin, and staff see MCP secrets (masked for everyone else).
        return json.dumps(configuration_for(metadata, staff=True), indent=2, ensure_ascii=False)

    @admin.display(description="children")
    def children(self, artifact: Artifact) -> SafeString:
        found = selectors.artifact_associations(artifact, include_parents=False)
        headers = ["position", "name", "type", "relationship", "pinned", "current", "drift"]
        shown = table(headers, children_rows(found.children, artifact.name))
        return with_count(shown, len(found.children), found.children_count)

    @admin.display(description="parents")
    def parents(self, artifact: Artifact) -> SafeString:
        found = selectors.artifact_associations(artifact, include_children=False)
        rows = [
            (
                link_by(i),
                i.relationship_type,
                short_hash(i.pinned_version_hash),
                short_hash(i.current_version_hash),
                drift(i),
            )
            for i in found.parents
        ]
        shown = table(["plugin", "relationship", "pinned", "current", "drift"], rows)
        return with_count(shown, len(found.parents), found.parents_count)

    @admin.display(description="versions")
    def version_history(self, artifact: Artifact) -> SafeString:
        versions = list(
            Version.objects.filter(artifact=artifact)
            .annotate(children=Count("child_associations"))
            .order_by("-created_at")
        )
        brought = _brought_by(versions)
        rows = [
            (
                format_html(
                    '<a href="{}">{}</a>',
                    reverse("admin:artifacts_version_change", args=[v.pk]),
                    v.content_hash[:12],
                ),
                v.version_label or "-",
                v.file_count,
                v.children if artifact.type == ArtifactType.PLUGIN else brought.get(v.pk, "-"),
                _compare_link(artifact, v),
                v.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            )
            for v in versions
        ]
        fourth = "children" if artifact.type == ArtifactType.PLUGIN else "brought by"
        return table(["version", "label", "files", fourth, "", "created"], rows)

    # --- actions ---------------------------------------------------------------------

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

    @admin.action(description="Delete the selected artifacts (with their versions)")
    def remove_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        if not can_delete(request.user):
            self.message_user(request, "Deleting needs the delete permission.", messages.ERROR)
            return None
        if request.POST.get("post") != "yes":
            return self._confirm_removal(request, queryset)
        with_children = bool(request.POST.get("with_children"))
        force = bool(request.POST.get("force"))
        for artifact in queryset.select_related("collection"):
            try:
                report = remove_artifact(artifact, with_children=with_children, force=force)
            except ImportError_ as refused:
                self.message_user(request, f"{artifact}: {refused.message}", messages.ERROR)
                continue
            kept = f"; kept {', '.join(report.kept_children)}" if report.kept_children else ""
            deleted = ", ".join(report.artifacts)
            self.message_user(request, f"Deleted {deleted}{kept}.", messages.SUCCESS)
        return None

    def _confirm_removal(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Delete these artifacts?",
            "artifacts": annotate_counts(queryset.select_related("collection")),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(
            request, "admin/artifacts/artifact/remove_confirmation.html", context
        )


def _brought_by(versions: list[Version]) -> dict[Any, SafeString]:
    """Per version of a child: the plugins whose versions pinned it (one query)."""
    pins = (
        ArtifactAssociation.objects.filter(child_version__in=versions)
        .values_list("child_version_id", "parent_version__artifact__name")
        .distinct()
        .order_by("parent_version__artifact__name")
    )
    names: dict[Any, list[str]] = {}
    for version_id, plugin in pins:
        names.setdefault(version_id, []).append(plugin)
    return {
        version_id: format_html_join(", ", "{}", ((n,) for n in plugins))
        for version_id, plugins in names.items()
    }


def _compare_link(artifact: Artifact, version: Version) -> SafeString:
    if artifact.latest_version_id in (None, version.pk):
        return format_html("{}", "latest")
    url = reverse("admin:artifacts_version_diff", args=[version.pk, artifact.latest_version_id])
    return format_html('<a href="{}">compare with latest</a>', url)
