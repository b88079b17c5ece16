"""Filters of the artifact list (django-filter)."""

from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters
from rest_framework.exceptions import ValidationError

from artifacts.hashrefs import HashReferenceError, matching_hashes
from artifacts.models import Artifact, ArtifactType, Version, normalize_name


class ArtifactFilter(filters.FilterSet):
    collection = filters.CharFilter(field_name="collection__name", help_text="Collection name.")
    type = filters.ChoiceFilter(choices=ArtifactType.choices)
    name = filters.CharFilter(method="filter_name", help_text="Exact name, case-insensitive.")
    content_hash = filters.CharFilter(
        method="filter_content_hash",
        help_text="Artifacts with a version of this content hash (or a unique prefix of 8+ hex).",
    )
    search = filters.CharFilter(method="filter_search", help_text="Part of the name.")

    class Meta:
        model = Artifact
        fields = ["collection", "type", "name", "content_hash", "search"]

    def filter_name(self, queryset: QuerySet[Artifact], name: str, value: str) -> QuerySet:
        return queryset.filter(name_key=normalize_name(value))

    def filter_content_hash(self, queryset: QuerySet[Artifact], name: str, value: str) -> QuerySet:
        """A full hash or a unique prefix of 8+ hex. Readers who are not staff cannot test
        guesses against MCP servers' hashes (they commit to masked secrets)."""
        candidates = Version.objects.all()
        if not self._is_staff():
            candidates = candidates.exclude(artifact__type=ArtifactType.MCP)
            queryset = queryset.exclude(type=ArtifactType.MCP)
        try:
            hashes = matching_hashes(candidates, value)
        except HashReferenceError as error:
            raise ValidationError({"content_hash": [str(error)]}) from error
        if not hashes:
            return queryset.none()
        holders = Version.objects.filter(content_hash=hashes[0]).values("artifact_id")
        return queryset.filter(pk__in=holders)

    def _is_staff(self) -> bool:
        user = getattr(self.request, "user", None)
        return bool(user and user.is_staff)

    def filter_search(self, queryset: QuerySet[Artifact], name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name_key__contains=normalize_name(value)))
