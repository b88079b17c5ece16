"""The collection's data model: collections, artifacts, their versions and files, the
plugin -> child associations pinned to a child's content hash, and the import history.

Identity and uniqueness live in database constraints; Python only saves work.
"""

import random
import time
import unicodedata
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from artifacts.names import (
    MAX_NAME_CHARACTERS,
    NAMESPACED_TYPES,
    validate_collection_name,
    validate_name,
)

HASH_LENGTH = 64
DEFAULT_COLLECTION = "default"


def ordered_uuid() -> uuid.UUID:
    """A random UUID that starts with the time in milliseconds (the layout of UUID version 7):
    rows created together sit together in the primary key's index, so an import of thousands
    of rows touches a few index pages instead of one page per row."""
    # random's generator, not the system's: no system call per id, and Python reseeds it in
    # a forked child (gunicorn workers), so processes never share a sequence
    value = (time.time_ns() // 1_000_000) << 80 | random.getrandbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # the RFC 4122 variant
    return uuid.UUID(int=value)


def normalize_name(name: str) -> str:
    """The key two names are compared by: NFC, then Unicode case folding."""
    return unicodedata.normalize("NFC", name).casefold()


class ArtifactType(models.TextChoices):
    SKILL = "skill", "Skill"
    COMMAND = "command", "Command"
    AGENT = "agent", "Agent"
    HOOK = "hook", "Hook"
    MCP = "mcp", "MCP server"
    PLUGIN = "plugin", "Plugin"


# Each type's plural: the folder its latest versions live in (collections/<c>/<plural>/) and
# the sync engine's name for the type (PLUGIN is one of them). One mapping for the whole site.
TYPE_PLURALS: dict[str, str] = {
    ArtifactType.SKILL: "skills",
    ArtifactType.COMMAND: "commands",
    ArtifactType.AGENT: "agents",
    ArtifactType.HOOK: "hooks",
    ArtifactType.MCP: "mcp",
    ArtifactType.PLUGIN: "plugins",
}


class RelationshipType(models.TextChoices):
    CONTAINS = "contains", "Contains"


class Collection(models.Model):
    """A named set of artifacts, with its own folder under ``collections/``."""

    name = models.CharField(
        max_length=MAX_NAME_CHARACTERS, unique=True, validators=[validate_collection_name]
    )
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Artifact(models.Model):
    """One identity per (collection, type, name); the name compared case-insensitively."""

    id = models.UUIDField(primary_key=True, default=ordered_uuid, editable=False)
    # No index of its own: the identity constraint's index starts with the collection (an
    # import writes fewer index pages, and lookups by collection use that one).
    collection = models.ForeignKey(
        Collection, on_delete=models.PROTECT, related_name="artifacts", db_index=False
    )
    type = models.CharField(max_length=16, choices=ArtifactType.choices)
    name = models.CharField(max_length=512)
    # normalize_name(name), stored so that the database itself enforces case-insensitive
    # uniqueness the same way on SQLite (whose lower() folds ASCII only) and PostgreSQL.
    name_key = models.CharField(max_length=512, editable=False)
    # Indexed by artifact_unique_latest_version: a version is the latest of its own artifact
    # at most, and an association finds its current plugin through it.
    latest_version = models.ForeignKey(
        "Version",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text="The most recently created version.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["collection", "type", "name_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "type", "name_key"], name="artifact_unique_identity"
            ),
            models.UniqueConstraint(
                fields=["latest_version"], name="artifact_unique_latest_version"
            ),
            models.CheckConstraint(
                condition=models.Q(type__in=ArtifactType.values), name="artifact_known_type"
            ),
        ]
        indexes = [models.Index(fields=["type", "name_key"], name="artifact_type_name_idx")]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.name_key = normalize_name(self.name)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        validate_name(self.name, allow_slash=self.type in NAMESPACED_TYPES)

    @property
    def latest_version_hash(self) -> str | None:
        return self.latest_version.content_hash if self.latest_version else None


class OriginKind(models.TextChoices):
    DIRECTORY = "directory", "Directory"
    ARCHIVE = "archive", "Archive"
    UPLOAD = "upload", "Upload"
    GIT = "git", "Git repository"
    URL = "url", "Archive URL"


class Version(models.Model):
    """One content state of an artifact. Immutable once written."""

    id = models.UUIDField(primary_key=True, default=ordered_uuid, editable=False)
    # Indexed by version_unique_content, which starts with the artifact.
    artifact = models.ForeignKey(
        Artifact, on_delete=models.CASCADE, related_name="versions", db_index=False
    )
    content_hash = models.CharField(max_length=HASH_LENGTH, db_index=True)
    size = models.BigIntegerField(help_text="Bytes of content, summed over its files.")
    file_count = models.PositiveIntegerField()
    version_label = models.CharField(
        max_length=200, blank=True, default="", help_text="The version a manifest declared."
    )
    source = models.TextField(blank=True, default="", help_text="Where this content came from.")
    origin_kind = models.CharField(
        max_length=16, blank=True, default="", choices=OriginKind.choices
    )
    origin_location = models.TextField(
        blank=True, default="", help_text="A path or a URL, never with credentials."
    )
    origin_ref = models.CharField(max_length=255, blank=True, default="")
    origin_commit = models.CharField(max_length=HASH_LENGTH, blank=True, default="")
    origin_sha256 = models.CharField(max_length=HASH_LENGTH, blank=True, default="")
    origin_path = models.TextField(blank=True, default="", help_text="The subfolder it was in.")
    origin_marketplace_name = models.CharField(max_length=512, blank=True, default="")
    origin_marketplace_location = models.TextField(blank=True, default="")
    export_sha256 = models.CharField(
        max_length=HASH_LENGTH,
        blank=True,
        default="",
        help_text="The SHA-256 of this version's served export.zip (the same bytes every time).",
    )
    invocation_name = models.CharField(
        max_length=MAX_NAME_CHARACTERS,
        blank=True,
        default="",
        help_text="A skill's frontmatter name: Claude Code invokes it as /<plugin>:<this>.",
    )
    metadata = models.JSONField(blank=True, default=dict)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["artifact", "-created_at"]
        get_latest_by = "created_at"
        constraints = [
            models.UniqueConstraint(
                fields=["artifact", "content_hash"], name="version_unique_content"
            ),
        ]

    def __str__(self) -> str:
        return version_label(self)

    @property
    def origin(self) -> dict[str, Any] | None:
        """DESIGN 4's origin document; None for versions imported before origins were kept."""
        if not self.origin_kind:
            return None
        market = None
        if self.origin_marketplace_name or self.origin_marketplace_location:
            market = {
                "name": self.origin_marketplace_name,
                "location": self.origin_marketplace_location,
            }
        return {
            "kind": self.origin_kind,
            "location": self.origin_location,
            "ref": self.origin_ref or None,
            "commit": self.origin_commit or None,
            "sha256": self.origin_sha256 or None,
            "path": self.origin_path or None,
            "marketplace": market,
        }


def version_label(version: "Version") -> str:
    """How a version is named to people: ``skill:release-notes@408839ce793a``."""
    artifact = version.artifact
    return f"{artifact.type}:{artifact.name}@{version.content_hash[:12]}"


class VersionFile(models.Model):
    """A file of a version: enough to rebuild the version byte for byte from ``objects/``.

    Paths are relative POSIX paths from the artifact's root (a skill's folder, a plugin's
    folder); a single-file artifact has one row named after its file.
    """

    # Indexed by versionfile_unique_path, which starts with the version.
    version = models.ForeignKey(
        Version, on_delete=models.CASCADE, related_name="files", db_index=False
    )
    path = models.CharField(max_length=1024)
    mode = models.PositiveIntegerField(help_text="0o100755 (executable) or 0o100644.")
    size = models.BigIntegerField()
    # Not indexed: an index of random hashes costs an import one page write per file, and
    # only an import's rollback asks which rows hold a blob (DESIGN 4 indexes the pins).
    blob_hash = models.CharField(max_length=HASH_LENGTH)
    is_meta = models.BooleanField(
        default=False, help_text="A plugin file that belongs to none of its children."
    )

    class Meta:
        ordering = ["version", "path"]
        constraints = [
            models.UniqueConstraint(fields=["version", "path"], name="versionfile_unique_path"),
        ]

    def __str__(self) -> str:
        return self.path

    @property
    def mode_text(self) -> str:
        return f"{self.mode:o}"


class ArtifactAssociation(models.Model):
    """A plugin version contains a child artifact, pinned to the child's content hash.

    Immutable like the version it belongs to.
    """

    # Indexed by association_unique_child, which starts with the parent version.
    parent_version = models.ForeignKey(
        Version, on_delete=models.CASCADE, related_name="child_associations", db_index=False
    )
    child = models.ForeignKey(
        Artifact, on_delete=models.PROTECT, related_name="parent_associations"
    )
    child_version = models.ForeignKey(Version, on_delete=models.PROTECT, related_name="+")
    relationship_type = models.CharField(
        max_length=32, choices=RelationshipType.choices, default=RelationshipType.CONTAINS
    )
    pinned_version_hash = models.CharField(max_length=HASH_LENGTH, db_index=True)
    position = models.PositiveIntegerField()
    source_path = models.CharField(
        max_length=1024, blank=True, default="", help_text="Where the child sits in the plugin."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The plugin whose latest version this association belongs to (none for an earlier
    # version), joined on its latest-version column: no column of its own, and no pass
    # through the version table (a shared child's parents read a thousand rows).
    current_parent = models.ForeignObject(
        Artifact,
        on_delete=models.DO_NOTHING,
        from_fields=["parent_version"],
        to_fields=["latest_version"],
        null=True,
        related_name="+",
    )

    class Meta:
        ordering = ["parent_version", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent_version", "child", "relationship_type"],
                name="association_unique_child",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parent_version_id} {self.relationship_type} {self.child_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValidationError("Associations are immutable once written.")
        super().save(*args, **kwargs)


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


FINAL_STATUSES = (ImportStatus.SUCCEEDED, ImportStatus.FAILED)


class ImportKind(models.TextChoices):
    PLUGIN = "plugin", "One plugin's import"
    REQUEST = "request", "An import asked for through the API or the admin"


class ImportRecord(models.Model):
    """The import history: one row per import attempt of one plugin (dry runs leave none)."""

    id = models.UUIDField(primary_key=True, default=ordered_uuid, editable=False)
    transaction_id = models.UUIDField(unique=True)
    collection_name = models.CharField(max_length=MAX_NAME_CHARACTERS)
    plugin_name = models.CharField(max_length=512, blank=True, default="")
    plugin_hash = models.CharField(max_length=HASH_LENGTH, blank=True, default="")
    plugin_version = models.ForeignKey(
        Version, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.TextField(blank=True, default="")
    origin = models.JSONField(
        blank=True, null=True, help_text="Where this import fetched from (commit, digest)."
    )
    status = models.CharField(max_length=16, choices=ImportStatus.choices)
    kind = models.CharField(max_length=16, choices=ImportKind.choices, default=ImportKind.PLUGIN)
    parent = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="plugin_records",
        help_text="The queued import this plugin's import was part of.",
    )
    request = models.JSONField(
        blank=True, null=True, help_text="What a queued import was asked to do (its upload, URL)."
    )
    result = models.JSONField(
        blank=True, null=True, help_text="A queued import's outcome: results, skipped, failed."
    )
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="A running import's last sign of life (its lease)."
    )
    decision = models.CharField(max_length=32, blank=True, default="")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(default=0.0)
    children_imported = models.PositiveIntegerField(default=0)
    children_reused = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(blank=True, default=list)
    error_rule = models.CharField(max_length=100, blank=True, default="")
    error_path = models.TextField(blank=True, default="")
    error_message = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.plugin_name} {self.status} {self.started_at:%Y-%m-%d %H:%M:%S}"


class UpdateState(models.TextChoices):
    UP_TO_DATE = "up_to_date", "up to date"
    UPDATE_AVAILABLE = "update_available", "update available"
    UNREACHABLE = "unreachable", "unreachable"
    NOT_REMOTE = "not_remote", "not remote"


class UpdateCheck(models.Model):
    """The last update check of a plugin: whether the origin of its latest version moved."""

    artifact = models.OneToOneField(
        Artifact, on_delete=models.CASCADE, primary_key=True, related_name="update_check"
    )
    state = models.CharField(max_length=20, choices=UpdateState.choices)
    current = models.CharField(
        max_length=HASH_LENGTH, blank=True, default="", help_text="The commit or digest we have."
    )
    upstream = models.CharField(
        max_length=HASH_LENGTH, blank=True, default="", help_text="The commit or digest upstream."
    )
    error = models.TextField(blank=True, default="")
    checked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.artifact}: {self.get_state_display()}"
