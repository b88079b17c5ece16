"""The rows of one import, written in bulk inside the import's transaction: new artifacts,
new versions and their files, moved latest-version pointers, and the plugin version's
associations pinned to each child's content hash."""

from collections.abc import Callable, Sequence
from typing import Any

from django.utils import timezone

from artifacts.models import (
    Artifact,
    ArtifactAssociation,
    Collection,
    RelationshipType,
    Version,
    VersionFile,
    normalize_name,
    ordered_uuid,
)
from importer.bulk import insert_rows, insert_values, update_rows
from importer.dedup import Resolution
from importer.origin import Origin
from importer.results import DedupDecision

StepHook = Callable[..., None]
VERSION_FILE_FIELDS = ("version_id", "path", "mode", "size", "blob_hash", "is_meta")
ASSOCIATION_FIELDS = (
    "parent_version_id",
    "child_id",
    "child_version_id",
    "relationship_type",
    "pinned_version_hash",
    "position",
    "source_path",
    "created_at",
)


def write_rows(
    collection: Collection,
    children: Sequence[Resolution],
    plugin: Resolution,
    *,
    source: str,
    origin: Origin | None,
    meta_paths: frozenset[str],
    step: StepHook,
) -> None:
    """Create what the decisions call for; fills in each resolution's artifact and version."""
    now = timezone.now()
    rows = _Rows(origin.version_fields() if origin else {})
    for index, resolution in enumerate(children):
        step("child", index=index, name=resolution.candidate.name)
        rows.add(collection, resolution, source=source, now=now)
    step("plugin_version")
    rows.add(collection, plugin, source=source, now=now, meta_paths=meta_paths)
    rows.save()
    step("associations")
    if plugin.decision != DedupDecision.LINK_EXISTING:
        insert_values(ArtifactAssociation, ASSOCIATION_FIELDS, _associations(plugin, children, now))


class _Rows:
    def __init__(self, origin: dict[str, str]) -> None:
        self.origin = origin  # the origin columns every new version gets
        self.artifacts: list[Artifact] = []
        self.versions: list[Version] = []
        self.files: list[tuple] = []  # VERSION_FILE_FIELDS of each file
        self.moved: list[Artifact] = []

    def add(
        self,
        collection: Collection,
        resolution: Resolution,
        *,
        source: str,
        now: object,
        meta_paths: frozenset[str] = frozenset(),
    ) -> None:
        if resolution.decision == DedupDecision.LINK_EXISTING:
            return
        candidate = resolution.candidate
        if resolution.artifact is None:
            resolution.artifact = Artifact(
                id=ordered_uuid(),
                collection=collection,
                type=candidate.type,
                name=candidate.name,
                name_key=normalize_name(candidate.name),
                created_at=now,
                updated_at=now,
            )
            self.artifacts.append(resolution.artifact)
        else:
            resolution.artifact.updated_at = now
            self.moved.append(resolution.artifact)
        version = Version(
            id=ordered_uuid(),
            artifact=resolution.artifact,
            content_hash=candidate.content_hash,
            size=sum(f.size for f in candidate.files),
            file_count=len(candidate.files),
            version_label=candidate.version_label[:200],
            invocation_name=candidate.invocation_name,
            source=source,
            metadata=candidate.metadata or {},
            created_at=now,
            **self.origin,
        )
        # Foreign keys are checked at commit on SQLite and PostgreSQL alike, so the artifact
        # may point at its new latest version before that row is inserted.
        resolution.artifact.latest_version = version
        resolution.version = version
        self.versions.append(version)
        self.files.extend(
            (version.pk, f.path, f.mode, f.size, f.sha256, f.path in meta_paths)
            for f in candidate.files
        )

    def save(self) -> None:
        insert_rows(Artifact, self.artifacts)
        insert_rows(Version, self.versions)
        insert_values(VersionFile, VERSION_FILE_FIELDS, self.files)
        update_rows(Artifact, self.moved, ["latest_version", "updated_at"])


def _associations(plugin: Resolution, children: Sequence[Resolution], now: object) -> list[tuple]:
    """The plugin version's associations, as ASSOCIATION_FIELDS values."""
    assert plugin.version is not None
    return [
        (
            plugin.version.pk,
            _pk(child.artifact),
            _pk(child.version),
            RelationshipType.CONTAINS,
            child.candidate.content_hash,
            position,
            child.candidate.location,
            now,
        )
        for position, child in enumerate(children)
    ]


def _pk(row: Any) -> Any:
    assert row is not None
    return row.pk
