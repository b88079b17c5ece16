"""Deduplication (DESIGN section 5): for each child and for the plugin, in this order,
LINK_EXISTING, CREATE_NEW_VERSION or CREATE_NEW_ARTIFACT, found with two batched queries
whatever the number of children."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from artifacts import plain
from artifacts.models import (
    Artifact,
    ArtifactAssociation,
    ArtifactType,
    Collection,
    RelationshipType,
    Version,
    normalize_name,
)
from importer.hashing import TreeFile
from importer.layout import ChildPlan, PluginPlan
from importer.results import DedupDecision
from importer.statements import Reusable


@dataclass(frozen=True)
class Candidate:
    """Something the import may store: an artifact identity and one content state of it."""

    type: str
    name: str
    content_hash: str
    files: tuple[TreeFile, ...]
    version_label: str = ""
    invocation_name: str = ""
    metadata: dict | None = None
    location: str = ""

    @property
    def identity(self) -> tuple[str, str]:
        return (self.type, normalize_name(self.name))

    @classmethod
    def of_child(cls, child: ChildPlan) -> "Candidate":
        return cls(
            type=child.type,
            name=child.name,
            content_hash=child.content_hash,
            files=tuple(child.files),
            version_label=child.version_label,
            invocation_name=child.invocation_name,
            metadata=child.metadata,
            location=child.location,
        )

    @classmethod
    def of_plugin(cls, plan: PluginPlan) -> "Candidate":
        description = plan.manifest.get("description")
        metadata: dict = {"description": description} if isinstance(description, str) else {}
        if plan.mcp_files:
            metadata["mcp_files"] = list(plan.mcp_files)
        return cls(
            type=ArtifactType.PLUGIN,
            name=plan.name,
            content_hash=plan.content_hash,
            files=tuple(plan.files),
            version_label=plan.version_label,
            metadata=metadata,
        )


@dataclass(frozen=True)
class Stored:
    """A row an unchanged re-import links to, known by its primary key alone: building
    model instances for every child would cost more than the rest of that import."""

    pk: Any


@dataclass
class Resolution:
    candidate: Candidate
    decision: DedupDecision
    artifact: Artifact | Stored | None
    version: Version | Stored | None


def resolve(collection: Collection | None, candidates: Sequence[Candidate]) -> list[Resolution]:
    """Decide every candidate with one query for the artifacts and one for their versions."""
    artifacts, keys = _existing_artifacts(collection, candidates)
    versions = _existing_versions(keys, candidates)
    resolutions = []
    for candidate in candidates:
        artifact = artifacts.get(candidate.identity)
        version = versions.get((artifact.pk, candidate.content_hash)) if artifact else None
        if version is not None:
            decision = DedupDecision.LINK_EXISTING
        elif artifact is not None:
            decision = DedupDecision.CREATE_NEW_VERSION
        else:
            decision = DedupDecision.CREATE_NEW_ARTIFACT
        resolutions.append(Resolution(candidate, decision, artifact, version))
    return resolutions


Linkable = tuple[str, str, str]  # (type, name key, content hash) of a version in a collection


@dataclass(frozen=True)
class KnownVersions:
    """What ``collection`` held when a run began, read in one query: its plugin versions'
    hashes (a plugin whose hash is not among them cannot be re-imported unchanged) and its
    other versions as (type, name key, content hash) (a child met again with one of these is
    linked, and its view stays as it is: the planning processes build only the views that
    change)."""

    plugins: frozenset[str]
    children: frozenset[Linkable]

    @classmethod
    def of(cls, collection: str) -> "KnownVersions":
        rows = (
            Version.objects.filter(artifact__collection__name=collection)
            .order_by()
            .values_list("artifact__type", "artifact__name_key", "content_hash")
        )
        plugins, children = set(), set()
        for row in rows:
            if row[0] == ArtifactType.PLUGIN:
                plugins.add(row[2])
            else:
                children.add(row)
        return cls(frozenset(plugins), frozenset(children))


def unchanged_plugin(collection: str, candidates: Sequence[Candidate]) -> list[Resolution] | None:
    """The resolutions of a plugin re-imported unchanged, or None.

    When the plugin's tree hash is already a version of that plugin in ``collection`` and
    that version pins exactly these children at these hashes, every decision is
    LINK_EXISTING and nothing is written: two queries, however many children.
    """
    *children, plugin = candidates
    found = (
        Version.objects.filter(
            artifact__collection__name=collection,
            artifact__type=ArtifactType.PLUGIN,
            artifact__name_key=normalize_name(plugin.name),
            content_hash=plugin.content_hash,
        )
        .order_by()
        .values_list("pk", "artifact_id")[:1]
    )
    version = next(iter(found), None)
    if version is None:
        return None
    pinned = {
        (child_type, name_key): (content_hash, child_id, child_version_id)
        for child_type, name_key, content_hash, child_id, child_version_id in (
            ArtifactAssociation.objects.filter(
                parent_version_id=version[0], relationship_type=RelationshipType.CONTAINS
            )
            .order_by()
            .values_list(
                "child__type",
                "child__name_key",
                "pinned_version_hash",
                "child_id",
                "child_version_id",
            )
        )
    }
    if {c.identity: c.content_hash for c in children} != {k: v[0] for k, v in pinned.items()}:
        return None
    resolutions = [_linked(c, *pinned[c.identity][1:]) for c in children]
    return [*resolutions, _linked(plugin, version[1], version[0])]


def _linked(candidate: Candidate, artifact_id: Any, version_id: Any) -> Resolution:
    return Resolution(
        candidate, DedupDecision.LINK_EXISTING, Stored(artifact_id), Stored(version_id)
    )


# Two IN lists the identity index (collection, type, name key) answers probe by probe,
# whatever the collection's size; a pair of another type and name is left out afterwards.
_ARTIFACTS = Reusable(
    lambda collection_id, types, keys: (
        Artifact.objects.filter(collection_id=collection_id)
        .filter(type__in=types)
        .filter(name_key__in=keys)
        .order_by()
        .values_list("id", "type", "name", "name_key", "latest_version_id")
    )
)
_VERSIONS = Reusable(
    lambda hashes, artifact_ids: (
        Version.objects.filter(content_hash__in=hashes)
        .filter(artifact_id__in=artifact_ids)
        .order_by()
        .values_list("id", "artifact_id", "content_hash")
    )
)


def _existing_artifacts(
    collection: Collection | None, candidates: Sequence[Candidate]
) -> tuple[dict[tuple[str, str], Artifact], list[Any]]:
    """The candidates' artifacts (minimal instances) by identity, and their keys as the
    database driver gives them (for the next query)."""
    if collection is None or not candidates:
        return {}, []
    wanted = {c.identity for c in candidates}
    types = sorted({artifact_type for artifact_type, _ in wanted})
    keys = sorted({key for _, key in wanted})
    artifacts: dict[tuple[str, str], Artifact] = {}
    raw_keys = []
    for pk, artifact_type, name, name_key, latest in _ARTIFACTS.rows(collection.pk, types, keys):
        if (artifact_type, name_key) in wanted:
            artifacts[(artifact_type, name_key)] = Artifact(
                pk=plain.uuid_value(pk),
                collection=collection,
                type=artifact_type,
                name=name,
                name_key=name_key,
                latest_version_id=plain.uuid_value(latest),
            )
            raw_keys.append(pk)
    return artifacts, raw_keys


def _existing_versions(
    artifact_keys: list[Any], candidates: Sequence[Candidate]
) -> dict[tuple[Any, str], Version]:
    """The versions among the candidates' hashes that belong to these artifacts (keys as the
    driver gave them), in one query; only the matches become (minimal) model instances."""
    if not artifact_keys:
        return {}
    hashes = sorted({c.content_hash for c in candidates})
    versions = {}
    for pk, artifact_id, content_hash in _VERSIONS.rows(hashes, artifact_keys):
        artifact_id = plain.uuid_value(artifact_id)
        versions[(artifact_id, content_hash)] = Version(
            pk=plain.uuid_value(pk), artifact_id=artifact_id, content_hash=content_hash
        )
    return versions


@dataclass
class PlannedState:
    """What the earlier plugins of a dry run would have created, so that a later plugin of
    the same run is judged as the real import would judge it (DESIGN section 5)."""

    hashes: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def apply(self, resolutions: Sequence[Resolution]) -> None:
        """Correct the database's decisions by what this run would already have written,
        then remember what these resolutions would write."""
        for resolution in resolutions:
            resolution.decision = self._decision(resolution)
        for resolution in resolutions:
            candidate = resolution.candidate
            self.hashes.setdefault(candidate.identity, set()).add(candidate.content_hash)

    def _decision(self, resolution: Resolution) -> DedupDecision:
        planned = self.hashes.get(resolution.candidate.identity)
        if resolution.decision == DedupDecision.LINK_EXISTING or planned is None:
            return resolution.decision
        if resolution.candidate.content_hash in planned:
            return DedupDecision.LINK_EXISTING
        return DedupDecision.CREATE_NEW_VERSION


def name_conflicts(resolutions: Sequence[Resolution]) -> list[str]:
    """``name_conflict`` warnings: a new version of a child artifact that this plugin never
    contained, so it is another plugin's (or a standalone) child of the same name. One query
    for all of them."""
    *children, plugin = resolutions
    shared = {
        r.artifact.pk: r
        for r in children
        if r.decision == DedupDecision.CREATE_NEW_VERSION and r.artifact is not None
    }
    if not shared:
        return []
    containers: dict[Any, dict[Any, str]] = {}
    rows = (
        ArtifactAssociation.objects.filter(child_id__in=list(shared))
        .order_by()
        .values_list("child_id", "parent_version__artifact_id", "parent_version__artifact__name")
    )
    for child_id, plugin_id, plugin_name in rows:
        containers.setdefault(child_id, {})[plugin_id] = plugin_name
    own = plugin.artifact.pk if plugin.artifact is not None else None
    warnings = []
    for child_id, resolution in shared.items():
        plugins = containers.get(child_id, {})
        if own in plugins:
            continue
        candidate = resolution.candidate
        brought = ", ".join(sorted(set(plugins.values()))) or "a standalone import"
        warnings.append(
            f"name_conflict: {candidate.type}:{candidate.name} already exists, brought by "
            f"{brought}; this plugin's {candidate.type} becomes a new version of that artifact"
        )
    return warnings


def version_reused(plugin: Resolution) -> list[str]:
    """A new plugin version that declares a ``version`` string different content of the same
    plugin declared before: Claude Code keeps its cached copy while that string is unchanged."""
    label = plugin.candidate.version_label[:200]
    if plugin.decision != DedupDecision.CREATE_NEW_VERSION or not label or plugin.artifact is None:
        return []
    earlier = (
        Version.objects.filter(artifact=plugin.artifact, version_label=label)
        .exclude(content_hash=plugin.candidate.content_hash)
        .values_list("content_hash", flat=True)
        .first()
    )
    if earlier is None:
        return []
    return [reused_message(plugin.candidate.name, label, earlier)]


def reused_message(plugin: str, label: str, earlier: str) -> str:
    return (
        f"version_reused: version {label!r} of plugin {plugin} was declared before by different "
        f"content ({earlier[:12]}); Claude Code keeps its cached copy while the version string "
        "stays the same: raise the version in plugin.json"
    )
