"""The admin's view of deployments: what was deployed where, in which mode, the plugin's state
against its latest version, and each child's state now, in colour."""

from typing import Any

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from artifacts.admin import ReadOnlyMixin, short_hash
from artifacts.admin.display import MEDIA
from deploy.models import DeployedItem, Deployment
from deploy.places import recorded_place
from deploy.services import place_status
from importer.errors import ImportError_

STATE_COLOURS = {
    "in_sync": "#447e36",
    "current": "#447e36",
    "outdated": "#9a6700",
    "modified": "#ba2121",
    "missing": "#ba2121",
    "unknown": "#666666",
}


def _state(state: str) -> SafeString:
    colour = STATE_COLOURS.get(state, "#666666")
    return format_html(
        '<strong class="state-{}" style="color:{}">{}</strong>', state, colour, state
    )


class DeployedItemInline(ReadOnlyMixin, admin.TabularInline):
    model = DeployedItem
    fields = ["child_type", "child_name", "kind", "path", "version", "deployed"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description="version hash")
    def version(self, item: DeployedItem) -> SafeString:
        return short_hash(item.version_hash)

    @admin.display(description="deployed hash")
    def deployed(self, item: DeployedItem) -> SafeString:
        return short_hash(item.deployed_hash)


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["plugin", "mode", "scope", "project", "platform", "deployed_at"]
    list_filter = ["mode", "scope", "platform"]
    search_fields = ["project", "plugin__name"]
    list_select_related = ["plugin"]
    readonly_fields = [
        "project",
        "scope",
        "mode",
        "platform",
        "plugin",
        "plugin_version",
        "deployed_at",
        "plugin_state",
        "states",
    ]
    fields = readonly_fields
    inlines = [DeployedItemInline]

    @property
    def media(self) -> Any:
        return super().media + MEDIA

    def _status(self, deployment: Deployment) -> dict | None:
        """The deployment's status, worked out once per page (two fields show it)."""
        if not hasattr(deployment, "_status"):
            deployment._status = self._read_status(deployment)  # type: ignore[attr-defined]
        return deployment._status  # type: ignore[attr-defined]

    def _read_status(self, deployment: Deployment) -> dict | None:
        try:
            document = place_status(recorded_place(deployment.project, deployment.scope))
        except (ImportError_, OSError):  # a project that is gone or unreadable: said so
            return None
        found = [p for p in document["plugins"] if p["name"] == deployment.plugin.name]
        return found[0] if found else None

    @admin.display(description="plugin state")
    def plugin_state(self, deployment: Deployment) -> SafeString:
        status = self._status(deployment)
        if status is None:
            return format_html("{}", "the project cannot be read")
        latest = status["latest_version_hash"] or "-"
        return format_html(
            "{} (deployed {}, latest {})",
            _state(status["state"]),
            status["version_hash"][:12],
            latest[:12],
        )

    @admin.display(description="state of each child now")
    def states(self, deployment: Deployment) -> SafeString:
        status = self._status(deployment)
        children = status["children"] if status else []
        return format_html_join(
            "",
            "<div>{} {} {} <code>{}</code></div>",
            ((_state(c["state"]), c["type"], c["name"], c["path"]) for c in children),
        )
