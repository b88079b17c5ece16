"""Small builders of rows for tests that need the model without an import."""

from artifacts.models import Artifact, ArtifactType, Collection, Version


def default_collection() -> Collection:
    return Collection.objects.get(name="default")


def make_artifact(
    name: str, type_: str = ArtifactType.SKILL, collection: Collection | None = None
) -> Artifact:
    return Artifact.objects.create(
        collection=collection or default_collection(), type=type_, name=name
    )


def make_version(
    artifact: Artifact, content_hash: str, size: int = 1, file_count: int = 1
) -> Version:
    return Version.objects.create(
        artifact=artifact, content_hash=content_hash, size=size, file_count=file_count
    )
