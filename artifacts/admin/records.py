"""Collections and the import history."""

import json
from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from artifacts.admin.display import MEDIA, ReadOnlyMixin, short_hash
from artifacts.models import Collection, ImportRecord


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


@admin.register(ImportRecord)
class ImportRecordAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "plugin_name",
        "status",
        "decision",
        "collection_name",
        "hash",
        "started_at",
        "duration_ms",
    ]
    list_filter = ["status", "collection_name"]
    search_fields = ["plugin_name", "plugin_hash", "transaction_id"]
    readonly_fields = [
        "hash" if field.name == "plugin_hash" else field.name
        for field in ImportRecord._meta.fields
        if field.name != "origin"
    ] + ["origin_shown"]

    @property
    def media(self) -> Any:
        return super().media + MEDIA

    @admin.display(description="plugin hash")
    def hash(self, record: ImportRecord) -> SafeString:
        return short_hash(record.plugin_hash)

    @admin.display(description="origin")
    def origin_shown(self, record: ImportRecord) -> SafeString:
        if not record.origin:
            return format_html("{}", "-")
        return format_html("<pre>{}</pre>", json.dumps(record.origin, indent=2))
