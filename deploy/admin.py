"""The admin's view of deployments: what was written where, and each child's state now."""

from pathlib import Path

from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from artifacts.admin import ReadOnlyMixin
from deploy.models import DeployedItem, Deployment
from deploy.services import project_status


class DeployedItemInline(ReadOnlyMixin, admin.TabularInline):
    model = DeployedItem
    fields = ["child_type", "child_name", "kind", "path", "version_hash", "deployed_hash"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["plugin", "project", "platform", "deployed_at"]
    list_filter = ["platform"]
    search_fields = ["project", "plugin__name"]
    list_select_related = ["plugin"]
    readonly_fields = ["project", "platform", "plugin", "plugin_version", "deployed_at", "states"]
    fields = readonly_fields
    inlines = [DeployedItemInline]

    @admin.display(description="state of each child now")
    def states(self, deployment: Deployment) -> SafeString:
        statuses = [
            s for s in project_status(Path(deployment.project)) if s.name == deployment.plugin.name
        ]
        children = statuses[0].children if statuses else []
        return format_html_join(
            "",
            "<div><strong>{}</strong> {} {}</div>",
            ((c.state, c.type, c.name) for c in children),
        )
