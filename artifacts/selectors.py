"""Reads of the collection, each in a constant number of queries whatever the row count."""

import uuid
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from django.db import models
from django.db.models import Count, Exists, F, OuterRef, QuerySet

from artifacts import plain
from artifacts.hashrefs import version_by_reference
from artifacts.models import Artifact, ArtifactAssociation, ArtifactType, Version, VersionFile

LIST_ORDER = ("collection_id", "type", "name_key")
DEFAULT_ASSOCIATION_LIMIT = 500
MAX_LATEST_FROM = 20  # plugin names per association item; latest_from_count counts them all
MAX_ASSOCIATION_LIMIT = 5000
ARTIFACT_ROW_FIELDS = (
    "id",
    "type",
    "name",
    "created_at",
    "updated_at",
    "latest_version_id",
    "collection_name",
    "latest_hash",
    "latest_metadata",
    "invocation_name",
)


def artifact_keys() -> QuerySet[Artifact]:
    """Artifacts in the list's order, without joins: what filters and the paginator work on.
    The identity constraint's index (collection, type, name key) serves the order, so a deep
    page skips index entries rather than sorting and joining every row before it."""
    return Artifact.objects.order_by(*LIST_ORDER)


def artifact_rows(*, collection: str | None = None) -> QuerySet:
    """Artifacts as plain rows (dicts) with their collection's name and their latest
    version's hash and metadata: listing thousands stays one cheap query, no model objects."""
    artifacts = Artifact.objects.annotate(
        collection_name=F("collection__name"),
        latest_hash=F("latest_version__content_hash"),
        latest_metadata=F("latest_version__metadata"),
        invocation_name=F("latest_version__invocation_name"),
    )
    if collection:
        artifacts = artifacts.filter(collection__name=collection)
    return artifacts.order_by(*LIST_ORDER).values(*ARTIFACT_ROW_FIELDS)


def artifact_rows_of(keys: QuerySet) -> list[dict[str, Any]]:
    """The rows of ``artifact_rows`` (plain, see :mod:`artifacts.plain`) for the artifacts
    that ``keys`` selects (a sliced ``values("pk")`` queryset in the list's order): one
    query, the page a subquery."""
    return plain.fetch(artifact_rows().filter(pk__in=keys))


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
    """The plugins whose latest version contains ``artifact`` (joined on their latest
    version: :attr:`ArtifactAssociation.current_parent`)."""
    associations = ArtifactAssociation.objects.filter(
        child=artifact, current_parent__type=ArtifactType.PLUGIN
    )
    if relationship_type:
        associations = associations.filter(relationship_type=relationship_type)
    return associations.select_related(
        "current_parent", "current_parent__latest_version", "child__latest_version", "child_version"
    ).order_by("current_parent__name_key")


def version_files(version: Version) -> QuerySet[VersionFile]:
    return VersionFile.objects.filter(version=version).order_by("path")


class AssociationItem(NamedTuple):
    """One side of an association, as the API and the admin show it (a page holds up to
    5,000: a tuple is the cheapest immutable record to build)."""

    artifact_id: str
    artifact_name: str
    artifact_type: str
    invocation_name: str
    relationship_type: str
    pinned_version_hash: str
    current_version_hash: str | None
    drifted: bool
    latest_from: list[str]
    latest_from_count: int
    position: int
    created_at: str  # ISO 8601, as the API writes it


@dataclass(frozen=True)
class Associations:
    artifact_id: uuid.UUID
    parents: list[AssociationItem] = field(default_factory=list)
    children: list[AssociationItem] = field(default_factory=list)
    parents_count: int = 0
    children_count: int = 0


@dataclass(frozen=True)
class Window:
    """A page of each list: at most ``limit`` items from each offset."""

    limit: int = DEFAULT_ASSOCIATION_LIMIT
    parents_offset: int = 0
    children_offset: int = 0


@dataclass(frozen=True)
class Bringers:
    """The plugins whose versions contain one child version: all of them (a set of their ids'
    :func:`~artifacts.plain.uuid_key`) and, in the order they entered the collection (ordered
    ids), the first :data:`MAX_LATEST_FROM` (keys too), the ones an item names (``names``,
    once they are read)."""

    every: set[str]
    first: list[str]
    names: list[str] = field(default_factory=list)

    def latest_from(self, own_key: str, own_name: str) -> list[str]:
        """The names an item shows: the first ones, its own plugin (``own_key``) first when
        the list is cut and it is one of them."""
        if len(self.every) <= MAX_LATEST_FROM or own_key not in self.every:
            return list(self.names)
        if own_key in self.first:
            at = self.first.index(own_key)
            return [own_name, *self.names[:at], *self.names[at + 1 :]]
        return [own_name, *self.names[: MAX_LATEST_FROM - 1]]


NO_BRINGERS = Bringers(every=set(), first=[])


def _item(row: dict[str, Any], brought: Bringers, own: tuple[str, str]) -> AssociationItem:
    """One item from a plain row of :func:`_page`. ``brought``: the plugins that contain the
    child's latest version; the item names at most
    :data:`MAX_LATEST_FROM` of them and counts them all (a shared child's list would repeat
    on each of its thousands of parents). ``own``: the id (its key) and name of the plugin of
    this association."""
    current = row["current"]
    return AssociationItem(
        artifact_id=row["shown_id"],
        artifact_name=row["shown_name"],
        artifact_type=row["shown_type"],
        invocation_name=row["invocation_name"],
        relationship_type=row["relationship_type"],
        pinned_version_hash=row["pinned_version_hash"],
        current_version_hash=current,
        drifted=current != row["pinned_version_hash"],
        latest_from=brought.latest_from(*own),
        latest_from_count=len(brought.every),
        position=row["position"],
        created_at=plain.iso_text(row["created_at"]),
    )


def _page(
    associations: QuerySet, shown: str, window: tuple[int, int], child: Artifact | None = None
) -> tuple[list[dict], int]:
    """A page (offset, limit) of associations as plain rows (:mod:`artifacts.plain`) naming
    the ``shown`` side (the parent plugin or the child), its id and its child's latest
    version id as text, and the count of them all: one query, the count a window over every
    row. ``child``: the one child of every association (a parents list), whose latest version
    is then not joined on each row."""
    fields: dict[str, Any] = {
        "shown_id": F(f"{shown}__id"),
        "shown_name": F(f"{shown}__name"),
        "shown_type": F(f"{shown}__type"),
        "invocation_name": F("child_version__invocation_name"),
        "total": models.Window(Count("pk")),
    }
    if child is None:
        fields["latest_id"] = F("child__latest_version_id")
        fields["current"] = F("child__latest_version__content_hash")
    start, limit = window
    values = associations.values(
        "relationship_type", "pinned_version_hash", "position", "created_at", **fields
    )
    rows = plain.fetch(values[start : start + limit])
    for row in rows:
        row["shown_key"] = plain.uuid_key(row["shown_id"])
        row["shown_id"] = plain.uuid_text(row["shown_id"])
    if child is not None:
        latest = child.latest_version
        latest_id = plain.uuid_text(child.latest_version_id)
        for row in rows:
            row["latest_id"] = latest_id
            row["current"] = latest.content_hash if latest else None
    else:
        for row in rows:
            row["latest_id"] = plain.uuid_text(row["latest_id"])
    if rows:
        return rows, rows[0]["total"]
    return rows, associations.count() if start else 0


def plugins_containing(version_ids: set[str | None]) -> dict[str, Bringers]:
    """For each child version (by its id's text), the plugins whose versions contain it (one
    query, no join to their names): who brought a child's latest version, so that an update
    of this plugin's child is told apart from a same-named child of another plugin."""
    version_ids = set(version_ids) - {None}
    if not version_ids:
        return {}
    pairs = (
        ArtifactAssociation.objects.filter(child_version_id__in=version_ids)
        .order_by()  # the models' default orderings would join and sort for nothing
        .values_list("child_version_id", "parent_version__artifact_id")
        .distinct()  # a plugin's versions often share a child's version
    )
    found: dict[Any, list[Any]] = {}
    for version_id, plugin_id in plain.fetch_tuples(pairs):
        found.setdefault(version_id, []).append(plugin_id)
    return {plain.uuid_text(version_id): _bringers(ids) for version_id, ids in found.items()}


def _bringers(plugin_ids: list[Any]) -> Bringers:
    """Plugin ids as the driver gives them (sorted alike on every backend: 32 hex digits or
    UUIDs) into :class:`Bringers`."""
    every = set(map(plain.uuid_key, plugin_ids))
    first = sorted(plugin_ids)[:MAX_LATEST_FROM]
    return Bringers(every, [plain.uuid_key(plugin_id) for plugin_id in first])


def named(brought: dict[str, Bringers]) -> dict[str, Bringers]:
    """``brought`` with the names of the plugins each names, read in one query."""
    ids = {plugin_id for bringers in brought.values() for plugin_id in bringers.first}
    if not ids:
        return brought
    rows = plain.fetch(Artifact.objects.filter(pk__in=ids).order_by().values("id", "name"))
    names = {plain.uuid_key(row["id"]): row["name"] for row in rows}
    return {
        version_id: replace(bringers, names=[names[i] for i in bringers.first])
        for version_id, bringers in brought.items()
    }


def plugin_version_of(plugin: Artifact, reference: str) -> Version | None:
    """A plugin's version by id, content hash or unique hash prefix (8+ hex); raises
    :class:`HashReferenceError` for an ambiguous or malformed prefix."""
    versions = Version.objects.filter(artifact=plugin)
    try:
        return versions.filter(pk=uuid.UUID(reference)).first()
    except ValueError:
        return version_by_reference(versions, reference)


def artifact_associations(
    artifact: Artifact,
    *,
    include_parents: bool = True,
    include_children: bool = True,
    relationship_type: str | None = None,
    plugin_version: Version | None = None,
    window: Window | None = None,
) -> Associations:
    """The plugins containing ``artifact`` and, for a plugin, the children of its latest (or
    the given) version, each with pinned and current hashes: a page of each list (a shared
    child can have thousands of parents) and their full counts, in a constant number of
    queries."""
    window = window or Window()
    parent_rows: list[dict[str, Any]] = []
    child_rows: list[dict[str, Any]] = []
    parents_count = children_count = 0
    if include_parents:
        found = artifact_parents(artifact, relationship_type=relationship_type)
        shown, page = "current_parent", (window.parents_offset, window.limit)
        parent_rows, parents_count = _page(found, shown, page, child=artifact)
    if include_children and artifact.type == ArtifactType.PLUGIN:
        found = plugin_children(
            artifact, version=plugin_version, relationship_type=relationship_type
        )
        page = (window.children_offset, window.limit)
        child_rows, children_count = _page(found, "child", page)
    brought = named(plugins_containing({row["latest_id"] for row in (*parent_rows, *child_rows)}))
    parents = [
        _item(
            row,
            brought.get(row["latest_id"], NO_BRINGERS),
            own=(row["shown_key"], row["shown_name"]),
        )
        for row in parent_rows
    ]
    own = (artifact.pk.hex, artifact.name)
    children = [
        _item(row, brought.get(row["latest_id"], NO_BRINGERS), own=own) for row in child_rows
    ]
    return Associations(
        artifact_id=artifact.pk,
        parents=parents,
        children=children,
        parents_count=parents_count,
        children_count=children_count,
    )


def with_label_reuse(versions: QuerySet[Version]) -> QuerySet[Version]:
    """Annotate ``label_reused``: an earlier version of the same artifact declared the same
    version string for different content (Claude Code would keep its cached copy)."""
    earlier = (
        Version.objects.filter(
            artifact=OuterRef("artifact"),
            version_label=OuterRef("version_label"),
            created_at__lt=OuterRef("created_at"),
        )
        .exclude(version_label="")
        .exclude(content_hash=OuterRef("content_hash"))
    )
    return versions.annotate(label_reused=Exists(earlier))
