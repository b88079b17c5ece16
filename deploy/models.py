"""What was deployed where: one Deployment per (project, plugin), one DeployedItem per path
it wrote (children, the plugin folder) or entry it merged (hooks, MCP servers), each with the
hash of what was written, so a later status check can tell every state apart."""

from django.db import models
from django.utils import timezone

from artifacts.models import Artifact, Version


class Deployment(models.Model):
    project = models.CharField(max_length=1024, help_text="The project folder (absolute path).")
    platform = models.CharField(max_length=32, default="claude-code")
    scope = models.CharField(
        max_length=8, default="project", help_text="project, or user (the user's skills folder)."
    )
    mode = models.CharField(
        max_length=8,
        default="flat",
        help_text="plugin: the whole tree in .claude/skills/NAME/; flat: children spread out.",
    )
    plugin = models.ForeignKey(Artifact, on_delete=models.PROTECT, related_name="deployments")
    plugin_version = models.ForeignKey(Version, on_delete=models.PROTECT, related_name="+")
    settings_hooks = models.JSONField(
        default=dict, blank=True, help_text="Hook groups merged into .claude/settings.json."
    )
    created_files = models.JSONField(
        default=list,
        blank=True,
        help_text="Project settings files this plugin's deployments created (removed when empty).",
    )
    deployed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "plugin__name_key"]
        constraints = [
            models.UniqueConstraint(fields=["project", "plugin"], name="deployment_unique_plugin"),
        ]

    def __str__(self) -> str:
        parts = self.project.rstrip("/").split("/")
        shown = self.project if len(parts) <= 3 else ".../" + "/".join(parts[-2:])
        return f"{self.plugin.name} -> {shown}"


class ItemKind(models.TextChoices):
    FILE = "file", "File"
    FOLDER = "folder", "Folder"
    MCP_ENTRY = "mcp_entry", "Entry of .mcp.json"


class DeployedItem(models.Model):
    """A path (relative to the project) or an .mcp.json entry that a deployment wrote."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="items")
    child = models.ForeignKey(
        Artifact, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    child_type = models.CharField(
        max_length=16, help_text="The child's type; 'plugin' for the plugin folder."
    )
    child_name = models.CharField(max_length=512)
    path = models.CharField(max_length=1024)
    kind = models.CharField(max_length=16, choices=ItemKind.choices)
    version_hash = models.CharField(max_length=64, help_text="The child version's content hash.")
    deployed_hash = models.CharField(max_length=64, help_text="The hash of what was written.")

    class Meta:
        ordering = ["deployment", "id"]

    def __str__(self) -> str:
        return self.path
