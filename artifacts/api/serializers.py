"""Serializers of the REST API. Output shapes only: writes go through the import service."""

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from artifacts.masking import (
    blob_hash_for,
    configuration_for,
    hash_for,
    origin_for,
    source_for,
)
from artifacts.models import (
    Artifact,
    ArtifactType,
    Collection,
    OriginKind,
    Version,
    VersionFile,
)
from artifacts.plain import iso_text, json_value, uuid_text
from artifacts.selectors import (
    DEFAULT_ASSOCIATION_LIMIT,
    MAX_ASSOCIATION_LIMIT,
    AssociationItem,
    Associations,
)
from importer.results import DedupDecision

DECISIONS = [(d.value, d.value) for d in DedupDecision]


def is_staff(context: dict[str, Any]) -> bool:
    request = context.get("request")
    return bool(request and request.user and request.user.is_staff)


class CollectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Collection
        fields = ["id", "name", "description", "created_at"]


class ArtifactSerializer(serializers.ModelSerializer):
    collection = serializers.CharField(source="collection_name", read_only=True)
    latest_version_hash = serializers.CharField(
        source="latest_hash", read_only=True, allow_null=True
    )
    latest_version_id = serializers.UUIDField(read_only=True, allow_null=True)
    invocation_name = serializers.CharField(
        read_only=True,
        help_text="A skill's frontmatter name in its latest version, else empty.",
    )
    configuration = serializers.SerializerMethodField(
        help_text="An MCP server's configuration (env values and headers masked for non-staff)."
    )

    class Meta:
        model = Artifact
        fields = [
            "id",
            "collection",
            "type",
            "name",
            "latest_version_hash",
            "latest_version_id",
            "configuration",
            "invocation_name",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field({"type": "object", "nullable": True, "additionalProperties": {}})
    def get_configuration(self, row: Mapping[str, Any]) -> Any:
        if row["type"] != ArtifactType.MCP:
            return None
        return configuration_for(json_value(row["latest_metadata"]), staff=self.staff)

    @cached_property
    def staff(self) -> bool:
        """Whether the reader is staff: asked once for a whole page (``many`` rows share the
        child serializer)."""
        return is_staff(self.context)

    def to_representation(self, row: Mapping[str, Any]) -> dict[str, Any]:
        # Built directly from a row of selectors.artifact_rows() (plain or converted): for
        # 1,000 artifacts DRF's generic field machinery would cost more than the query.
        return {
            "id": uuid_text(row["id"]),
            "collection": row["collection_name"],
            "type": row["type"],
            "name": row["name"],
            "latest_version_hash": hash_for(row["latest_hash"], row["type"], staff=self.staff),
            "latest_version_id": uuid_text(row["latest_version_id"]),
            "configuration": self.get_configuration(row),
            "invocation_name": row["invocation_name"],
            "created_at": iso_text(row["created_at"]),
            "updated_at": iso_text(row["updated_at"]),
        }


class VersionFileSerializer(serializers.ModelSerializer):
    mode = serializers.CharField(source="mode_text", help_text="100755 or 100644")
    # Declared, not derived from the model: the derived ranges differ between databases and
    # the committed schema must not.
    size = serializers.IntegerField(read_only=True)

    class Meta:
        model = VersionFile
        fields = ["path", "mode", "size", "blob_hash", "is_meta"]


class MarketplaceOriginSerializer(serializers.Serializer):
    name = serializers.CharField()
    location = serializers.CharField()


class OriginSerializer(serializers.Serializer):
    """Where a version came from (DESIGN 4); absent values are null."""

    kind = serializers.ChoiceField(choices=OriginKind.choices)
    location = serializers.CharField(help_text="A path (staff only) or a URL without credentials.")
    ref = serializers.CharField(allow_null=True, help_text="The git ref asked for.")
    commit = serializers.CharField(allow_null=True, help_text="The commit the ref resolved to.")
    sha256 = serializers.CharField(allow_null=True, help_text="The archive's SHA-256.")
    path = serializers.CharField(allow_null=True, help_text="The subfolder it was in.")
    marketplace = MarketplaceOriginSerializer(allow_null=True)


class VersionSerializer(serializers.ModelSerializer):
    size = serializers.IntegerField(read_only=True)
    file_count = serializers.IntegerField(read_only=True)
    is_latest = serializers.SerializerMethodField()
    metadata = serializers.SerializerMethodField()
    origin = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()
    files = VersionFileSerializer(many=True, read_only=True)

    class Meta:
        model = Version
        fields = [
            "id",
            "content_hash",
            "size",
            "file_count",
            "version_label",
            "invocation_name",
            "source",
            "origin",
            "metadata",
            "warnings",
            "is_latest",
            "created_at",
            "files",
        ]

    @extend_schema_field(OriginSerializer(allow_null=True))
    def get_origin(self, version: Version) -> Any:
        return origin_for(version.origin, staff=is_staff(self.context))

    def get_warnings(self, version: Version) -> list[str]:
        """``version_reused`` when an earlier version declared the same version string."""
        if not getattr(version, "label_reused", False):
            return []
        return [
            f"version_reused: version {version.version_label!r} was declared before by "
            "different content; Claude Code keeps its cached copy while the string stays the same"
        ]

    def get_is_latest(self, version: Version) -> bool:
        return version.artifact.latest_version_id == version.pk

    def to_representation(self, version: Version) -> dict[str, Any]:
        """Readers who are not staff see no MCP content hash, no blob hash of a file that
        declares MCP servers, and no server path."""
        document = super().to_representation(version)
        staff = is_staff(self.context)
        if staff:
            return document
        artifact_type = version.artifact.type
        document["content_hash"] = hash_for(version.content_hash, artifact_type, staff=False)
        document["source"] = source_for(version.source, staff=False)
        for item in document["files"]:
            item["blob_hash"] = blob_hash_for(
                item["blob_hash"],
                path=item["path"],
                version_metadata=version.metadata or {},
                artifact_type=artifact_type,
                staff=False,
            )
        return document

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_metadata(self, version: Version) -> Any:
        metadata = dict(version.metadata or {})
        if "configuration" in metadata:
            metadata["configuration"] = configuration_for(
                version.metadata, staff=is_staff(self.context)
            )
        return metadata


class AssociationItemSerializer(serializers.Serializer):
    artifact_id = serializers.UUIDField()
    artifact_name = serializers.CharField()
    artifact_type = serializers.ChoiceField(choices=ArtifactType.choices)
    invocation_name = serializers.CharField(
        help_text="A skill child's frontmatter name (its /<plugin>:<name>), else empty."
    )
    relationship_type = serializers.CharField()
    pinned_version_hash = serializers.CharField()
    current_version_hash = serializers.CharField(allow_null=True)
    drifted = serializers.BooleanField(
        help_text="The child's latest version differs from the pinned one."
    )
    latest_from = serializers.ListField(
        child=serializers.CharField(),
        help_text=(
            "The plugins whose versions contain the child's latest version (empty for a "
            "standalone import): a drift brought by another plugin is no update of this one. "
            "In the order the plugins entered the collection; at most 20 names, the plugin of "
            "this association first when it is one of them and the list is cut."
        ),
    )
    latest_from_count = serializers.IntegerField(
        help_text="How many plugins contain the child's latest version (latest_from names 20)."
    )
    position = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class AssociationsSerializer(serializers.Serializer):
    artifact_id = serializers.UUIDField()
    parents = AssociationItemSerializer(many=True)
    children = AssociationItemSerializer(many=True)
    parents_count = serializers.IntegerField(help_text="All parents, whatever the page.")
    children_count = serializers.IntegerField(help_text="All children, whatever the page.")

    def to_representation(self, associations: Associations) -> dict[str, Any]:
        """Built directly from the selector's items (a page holds up to 5,000 of them; the
        generic field machinery would cost more than the query). Pinned and current hashes
        are the child's: masked for readers when the child is an MCP server (the queried
        artifact for parents, each item for children)."""
        staff = is_staff(self.context)
        parent_type = self.context.get("artifact_type", "")
        return {
            "artifact_id": str(associations.artifact_id),
            "parents": [_item_document(i, parent_type, staff) for i in associations.parents],
            "children": [_item_document(i, i.artifact_type, staff) for i in associations.children],
            "parents_count": associations.parents_count,
            "children_count": associations.children_count,
        }


def _item_document(item: AssociationItem, child_type: str, staff: bool) -> dict[str, Any]:
    return {
        "artifact_id": item.artifact_id,
        "artifact_name": item.artifact_name,
        "artifact_type": item.artifact_type,
        "invocation_name": item.invocation_name,
        "relationship_type": item.relationship_type,
        "pinned_version_hash": hash_for(item.pinned_version_hash, child_type, staff=staff),
        "current_version_hash": hash_for(item.current_version_hash, child_type, staff=staff),
        "drifted": item.drifted,
        "latest_from": item.latest_from,
        "latest_from_count": item.latest_from_count,
        "position": item.position,
        "created_at": item.created_at,
    }


class AssociationsQuerySerializer(serializers.Serializer):
    include_parents = serializers.BooleanField(default=True)
    include_children = serializers.BooleanField(default=True)
    relationship_type = serializers.CharField(required=False, allow_blank=False)
    plugin_version = serializers.CharField(
        required=False, help_text="A version id or content hash of the plugin (default: latest)."
    )
    limit = serializers.IntegerField(
        required=False,
        default=DEFAULT_ASSOCIATION_LIMIT,
        min_value=1,
        max_value=MAX_ASSOCIATION_LIMIT,
        help_text="At most this many items in each list.",
    )
    parents_offset = serializers.IntegerField(required=False, default=0, min_value=0)
    children_offset = serializers.IntegerField(required=False, default=0, min_value=0)


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="A .zip, .tar.gz or .tgz archive.")
    url = serializers.CharField(
        required=False,
        max_length=2048,
        help_text="A remote source instead of a file: an https git URL (with optional @ref and "
        "#subfolder) or an https archive URL (with optional #sha256=<hex>), from a host in "
        "SKILLMEAT_REMOTE_HOSTS.",
    )
    collection = serializers.CharField(required=False, default="default")
    dry_run = serializers.BooleanField(required=False, default=False)
    remote = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Fetch a marketplace's remote entries (default: yes for a fetched marketplace).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("file" in attrs) == ("url" in attrs):
            raise serializers.ValidationError({"file": "send exactly one of 'file' and 'url'"})
        return attrs


class ChildResultSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=ArtifactType.choices)
    content_hash = serializers.CharField()
    decision = serializers.ChoiceField(choices=DECISIONS)
    artifact_id = serializers.UUIDField(allow_null=True)
    version_id = serializers.UUIDField(allow_null=True)


class ImportResultSerializer(serializers.Serializer):
    plugin_id = serializers.UUIDField(allow_null=True)
    plugin_name = serializers.CharField()
    plugin_hash = serializers.CharField()
    decision = serializers.ChoiceField(choices=DECISIONS)
    transaction_id = serializers.UUIDField()
    dry_run = serializers.BooleanField()
    children = ChildResultSerializer(many=True)
    children_imported = serializers.IntegerField()
    children_reused = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField())
    duration_ms = serializers.FloatField()
    plugin_version_id = serializers.UUIDField(allow_null=True)
    collection = serializers.CharField()


class SkippedSerializer(serializers.Serializer):
    name = serializers.CharField()
    reason = serializers.CharField()


class FailedImportSerializer(serializers.Serializer):
    name = serializers.CharField()
    path = serializers.CharField()
    rule = serializers.CharField()
    message = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    results = ImportResultSerializer(many=True)
    skipped = SkippedSerializer(many=True)
    failed = FailedImportSerializer(many=True)


class ErrorItemSerializer(serializers.Serializer):
    path = serializers.CharField()
    rule = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = ErrorItemSerializer(many=True)
