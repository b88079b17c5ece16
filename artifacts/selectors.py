"""Reads of the collection, each in a constant number of queries whatever the row count."""

from django.db.models import F, QuerySet

from artifacts.models import Artifact, ArtifactAssociation, ArtifactType, Version, VersionFile


def artifact_list(*, collection: str | None = None) -> QuerySet[Artifact]:
    artifacts = Artifact.objects.select_related("collection", "latest_version")
    if collection:
        artifacts = artifacts.filter(collection__name=collection)
    return artifacts.order_by("collection__name", "type", "name_key")


def plugin_children(
    plugin: Artifact, *, version: Version | None = None, relationship_type: str | None = None
) -> QuerySet[ArtifactAssociation]:
    """The associations of a plugin version (its latest unless ``version`` is given), ordered
    by position then name, with each child's current latest version at hand."""
    parent_version_id = version.pk if version is not None else plugin.latest_version_id
    associations = ArtifactAssociation.objects.filter(parent_version_id=parent_version_id)
    if relationship_type:
        associations = associations.filter(relationship_type=relationship_type)
    return associations.select_related("child", "child__latest_version", "child_version").order_by(
        "position", "child__name_key"
    )


def artifact_parents(
    artifact: Artifact, *, relationship_type: str | None = None
) -> QuerySet[ArtifactAssociation]:
    """The plugins whose latest version contains ``artifact``."""
    associations = ArtifactAssociation.objects.filter(
        child=artifact,
        parent_version__artifact__type=ArtifactType.PLUGIN,
        parent_version__artifact__latest_version=F("parent_version"),
    )
    if relationship_type:
        associations = associations.filter(relationship_type=relationship_type)
    return associations.select_related(
        "parent_version__artifact",
        "parent_version__artifact__latest_version",
        "child__latest_version",
    ).order_by("parent_version__artifact__name_key")


def version_files(version: Version) -> QuerySet[VersionFile]:
    return VersionFile.objects.filter(version=version).order_by("path")
