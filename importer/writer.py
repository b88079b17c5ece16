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
from importer.bulk import insert_values, update_values
from importer.dedup import Resolution, Stored
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


ARTIFACT_FIELDS = (
    "id",
    "collection_id",
    "type",
    "name",
    "name_key",
    "latest_version_id",
    "created_at",
    "updated_at",
)
VERSION_FIELDS = (
    "id",
    "artifact_id",
    "content_hash",
    "size",
    "file_count",
    "version_label",
    "invocation_name",
    "source",
    "metadata",
    "created_at",
    "export_sha256",
)

ORIGIN_FIELDS = tuple(
    field.attname for field in Version._meta.concrete_fields if field.name.startswith("origin_")
)


class _Rows:
    """The new rows as plain values (building model instances would cost more than writing
    them); resolutions get the new keys as :class:`Stored` references."""

    def __init__(self, origin: dict[str, str]) -> None:
        # the origin columns every new version gets ("" where the import has no origin)
        self.origin = tuple(origin.get(name, "") for name in ORIGIN_FIELDS)
        self.artifacts: list[tuple] = []  # ARTIFACT_FIELDS
        self.versions: list[tuple] = []  # VERSION_FIELDS + the origin columns
        self.files: list[tuple] = []  # VERSION_FILE_FIELDS
        self.moved: list[tuple] = []  # (latest_version_id, updated_at, id)

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
        version_id = ordered_uuid()
        # Foreign keys are checked at commit on SQLite and PostgreSQL alike, so the artifact
        # may point at its new latest version before that row is inserted.
        if resolution.artifact is None:
            artifact_id = ordered_uuid()
            self.artifacts.append(
                _row(
                    ARTIFACT_FIELDS,
                    id=artifact_id,
                    collection_id=collection.pk,
                    type=candidate.type,
                    name=candidate.name,
                    name_key=normalize_name(candidate.name),
                    latest_version_id=version_id,
                    created_at=now,
                    updated_at=now,
                )
            )
            resolution.artifact = Stored(artifact_id)
        else:
            self.moved.append((version_id, now, resolution.artifact.pk))
        resolution.version = Stored(version_id)
        version = _row(
            VERSION_FIELDS,
            id=version_id,
            artifact_id=resolution.artifact.pk,
            content_hash=candidate.content_hash,
            size=sum(f.size for f in candidate.files),
            file_count=len(candidate.files),
            version_label=candidate.version_label[:200],
            invocation_name=candidate.invocation_name,
            source=source,
            metadata=candidate.metadata or {},
            created_at=now,
            export_sha256="",
        )
        self.versions.append(version + self.origin)
        self.files.extend(
            (version_id, f.path, f.mode, f.size, f.sha256, f.path in meta_paths)
            for f in candidate.files
        )

    def save(self) -> None:
        insert_values(Artifact, ARTIFACT_FIELDS, self.artifacts)
        insert_values(Version, VERSION_FIELDS + ORIGIN_FIELDS, self.versions)
        insert_values(VersionFile, VERSION_FILE_FIELDS, self.files)
        update_values(Artifact, ("latest_version_id", "updated_at"), self.moved)


def _row(fields: Sequence[str], **values: Any) -> tuple:
    """The values of one row in the order of ``fields`` (every one of them given)."""
    return tuple(values[name] for name in fields)


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
