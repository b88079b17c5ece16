"""The Django admin: browse collections, artifacts, versions with their files, and the import
history. Hashes and versions are read-only: content only changes by importing."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from artifacts.models import (
    Artifact,
    ArtifactAssociation,
    Collection,
    ImportRecord,
    Version,
    VersionFile,
)


class ReadOnlyMixin:
    """Rows written by the import service only."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "created_at"]
    search_fields = ["name"]


class VersionFileInline(ReadOnlyMixin, admin.TabularInline):
    model = VersionFile
    fields = ["path", "mode_text", "size", "blob_hash", "is_meta"]
    readonly_fields = fields
    extra = 0
    can_delete = False


class ChildAssociationInline(ReadOnlyMixin, admin.TabularInline):
    model = ArtifactAssociation
    fk_name = "parent_version"
    fields = ["position", "child", "relationship_type", "pinned_version_hash", "source_path"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Artifact)
class ArtifactAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["name", "type", "collection", "latest_version_hash", "updated_at"]
    list_filter = ["type", "collection"]
    search_fields = ["name", "versions__content_hash"]
    list_select_related = ["collection", "latest_version"]
    readonly_fields = [
        "id",
        "collection",
        "type",
        "name",
        "latest_version",
        "created_at",
        "updated_at",
    ]
    fields = readonly_fields


@admin.register(Version)
class VersionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["artifact", "content_hash", "version_label", "file_count", "size", "created_at"]
    list_filter = ["artifact__type"]
    search_fields = ["content_hash", "artifact__name"]
    list_select_related = ["artifact"]
    readonly_fields = [
        "id",
        "artifact",
        "content_hash",
        "size",
        "file_count",
        "version_label",
        "source",
        "metadata",
        "created_at",
    ]
    fields = readonly_fields
    inlines = [VersionFileInline, ChildAssociationInline]


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
