"""Filters of the artifact list (django-filter)."""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django_filters import rest_framework as filters

from artifacts.models import Artifact, ArtifactType, Version, normalize_name


class ArtifactFilter(filters.FilterSet):
    collection = filters.CharFilter(field_name="collection__name", help_text="Collection name.")
    type = filters.ChoiceFilter(choices=ArtifactType.choices)
    name = filters.CharFilter(method="filter_name", help_text="Exact name, case-insensitive.")
    content_hash = filters.CharFilter(
        method="filter_content_hash", help_text="Artifacts with a version of this content hash."
    )
    search = filters.CharFilter(method="filter_search", help_text="Part of the name.")

    class Meta:
        model = Artifact
        fields = ["collection", "type", "name", "content_hash", "search"]

    def filter_name(self, queryset: QuerySet[Artifact], name: str, value: str) -> QuerySet:
        return queryset.filter(name_key=normalize_name(value))

    def filter_content_hash(self, queryset: QuerySet[Artifact], name: str, value: str) -> QuerySet:
        versions = Version.objects.filter(artifact=OuterRef("pk"), content_hash=value.lower())
        return queryset.filter(Exists(versions))

    def filter_search(self, queryset: QuerySet[Artifact], name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name_key__contains=normalize_name(value)))
