"""Update checks (DESIGN section 11): whether the origin of each plugin's latest version moved.

"What we have" is the commit (or archive digest) of the latest successful import of that version,
so a plugin re-imported unchanged from a newer commit counts as current. A git origin is asked by
fetching its ref into the mirror (incremental, no checkout); a plugin whose folder is the same
tree at both commits is up to date even when the repository moved. A plugin listed in a remote
marketplace is checked against the marketplace's current entry (its pin, its ref, or its archive).
``--import`` imports what moved through the import service, where dedup links every unchanged
child."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from django.utils import timezone

from artifacts.models import (
    Artifact,
    ArtifactType,
    ImportRecord,
    ImportStatus,
    OriginKind,
    UpdateCheck,
    UpdateState,
    normalize_name,
)
from importer.errors import ImportError_
from importer.hashing import Limits
from importer.origin import Origin
from importer.remote.fetch import Fetcher
from importer.remote.gitfetch import same_folder, upstream_commit
from importer.remote.spec import COMMIT, ArchiveSource, GitSource, looks_remote, parse_remote
from importer.results import ImportReport
from importer.services import ImportOptions, import_paths
from importer.sources import detect_directory


@dataclass(frozen=True)
class PluginUpdate:
    plugin: Artifact
    state: str
    current: str | None = None
    upstream: str | None = None
    error: str | None = None
    source: str | None = None  # what to import to get the update (a marketplace for an entry)
    entry: str | None = None  # its marketplace entry's name, when it came from one

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.plugin.name,
            "collection": self.plugin.collection.name,
            "state": self.state,
            "current": self.current,
            "upstream": self.upstream,
            "error": self.error,
        }


@dataclass(frozen=True)
class Listed:
    """A marketplace entry as listed now: its name, and the source of its plugin."""

    name: str
    source: GitSource | ArchiveSource
    folder: str | None  # the plugin's folder inside the marketplace's repository


def current_origins(plugins: list[Artifact]) -> dict[Any, Origin | None]:
    """Per plugin: the origin of the latest successful import of its latest version."""
    latest = {p.latest_version_id: p for p in plugins}
    records = (
        ImportRecord.objects.filter(
            plugin_version_id__in=latest, status=ImportStatus.SUCCEEDED, origin__isnull=False
        )
        .order_by("-started_at")
        .values_list("plugin_version_id", "origin")
    )
    found: dict[Any, Origin | None] = {}
    for version_id, origin in records:
        found.setdefault(latest[version_id].pk, Origin.from_dict(origin))
    for plugin in plugins:
        if plugin.pk not in found and plugin.latest_version is not None:
            found[plugin.pk] = Origin.from_dict(plugin.latest_version.origin)
    return found


@dataclass
class Checker:
    fetcher: Fetcher
    markets: dict[str, list[Listed] | ImportError_] = field(default_factory=dict)

    def check(self, plugin: Artifact, origin: Origin | None) -> PluginUpdate:
        if origin is None or not origin.is_remote:
            return PluginUpdate(plugin, UpdateState.NOT_REMOTE)
        current = origin.commit if origin.kind == OriginKind.GIT else origin.sha256
        try:
            source, entry = self._upstream_source(plugin, origin)
            found = self._compare(plugin, origin, source, entry, current)
        except ImportError_ as error:
            reason = f"{error.path}: {error.message}" if error.path else error.message
            return PluginUpdate(plugin, UpdateState.UNREACHABLE, current, error=reason)
        if found.source is not None and entry is not None and origin.marketplace is not None:
            # An entry of a marketplace is imported through that marketplace.
            return replace(found, source=origin.marketplace.location)
        return found

    def _upstream_source(
        self, plugin: Artifact, origin: Origin
    ) -> tuple[GitSource | ArchiveSource, str | None]:
        market = origin.marketplace
        if market is not None and looks_remote(market.location):
            listed = self._listed(market.location)
            match = _matching_entry(listed, plugin.name, origin)
            if match is None:
                raise ImportError_(f"no longer listed in marketplace {market.name!r}")
            return match.source, match.name
        if origin.kind == OriginKind.URL:
            return ArchiveSource(url=origin.location), None
        pin = origin.ref if origin.ref and COMMIT.match(origin.ref) else None
        ref = None if pin else origin.ref
        return GitSource(url=origin.location, ref=ref, sha=pin, path=origin.path or ""), None

    def _listed(self, location: str) -> list[Listed]:
        if location not in self.markets:
            try:
                self.markets[location] = self._read_marketplace(location)
            except ImportError_ as error:
                self.markets[location] = error
        listed = self.markets[location]
        if isinstance(listed, ImportError_):
            raise listed
        return listed

    def _read_marketplace(self, location: str) -> list[Listed]:
        remote = parse_remote(location, where=location)
        with self.fetcher.fetched(remote) as (folder, origin):
            if not folder.is_dir():
                raise ImportError_(f"{location} is an archive, not a repository")
            detection = detect_directory(folder, location, origin=origin, origin_text=location)
        listed = [
            Listed(s.display_name, _pinned(remote, s.origin), s.origin.path if s.origin else None)
            for s in detection.sources
        ]
        listed += [Listed(e.name, e.remote, None) for e in detection.remote]
        return listed

    def _compare(
        self,
        plugin: Artifact,
        origin: Origin,
        source: GitSource | ArchiveSource,
        entry: str | None,
        current: str | None,
    ) -> PluginUpdate:
        found = PluginUpdate(plugin, UpdateState.UP_TO_DATE, current, entry=entry)
        if isinstance(source, ArchiveSource):
            upstream = source.sha256 or self._digest(source)
            moved = upstream != current
            return replace(found, upstream=upstream, **_moved(moved, source.describe()))
        settings = self.fetcher.fetch_settings(source)
        upstream = upstream_commit(source, settings)
        moved = upstream != current
        if moved and current and same_folder(source, settings, current, upstream):
            moved = False
        return replace(found, upstream=upstream, **_moved(moved, source.describe()))

    def _digest(self, source: ArchiveSource) -> str:
        with self.fetcher.fetched(source) as (_, origin):
            assert origin.sha256 is not None
            return origin.sha256


def _moved(moved: bool, source: str) -> dict[str, Any]:
    if not moved:
        return {}
    return {"state": UpdateState.UPDATE_AVAILABLE, "source": source}


def _pinned(remote: Any, origin: Origin | None) -> GitSource:
    """A plugin inside a fetched marketplace's repository: that repository, at its folder."""
    assert isinstance(remote, GitSource) and origin is not None
    return replace(remote, path=origin.path or "")


def _matching_entry(listed: list[Listed], name: str, origin: Origin) -> Listed | None:
    key = normalize_name(name)
    for item in listed:
        if normalize_name(item.name) == key:
            return item
    for item in listed:
        source = item.source
        if item.folder is not None and item.folder == origin.path:
            return item
        if source.location == origin.location and getattr(source, "path", "") == (
            origin.path or ""
        ):
            return item
    return None


def check_updates(
    plugins: Iterable[Artifact], *, fetcher: Fetcher | None = None
) -> list[PluginUpdate]:
    """Check each plugin and remember the outcome (the admin shows it)."""
    plugins = list(plugins)
    origins = current_origins(plugins)
    checker = Checker(fetcher or default_fetcher())
    updates = [checker.check(plugin, origins.get(plugin.pk)) for plugin in plugins]
    _remember(updates)
    return updates


def _remember(updates: list[PluginUpdate]) -> None:
    now = timezone.now()
    for update in updates:
        UpdateCheck.objects.update_or_create(
            artifact=update.plugin,
            defaults={
                "state": update.state,
                "current": update.current or "",
                "upstream": update.upstream or "",
                "error": update.error or "",
                "checked_at": now,
            },
        )


def default_fetcher() -> Fetcher:
    options = ImportOptions()
    assert options.store is not None
    return Fetcher(limits=options.limits or Limits.from_settings(), tmp=options.store.tmp)


def plugins_to_check(collection: str | None = None, names: Iterable[str] = ()) -> Any:
    plugins = Artifact.objects.filter(type=ArtifactType.PLUGIN).select_related(
        "collection", "latest_version"
    )
    if collection:
        plugins = plugins.filter(collection__name=collection)
    keys = [normalize_name(n) for n in names]
    if keys:
        plugins = plugins.filter(name_key__in=keys)
    return plugins.order_by("collection__name", "name_key")


def import_updates(updates: Iterable[PluginUpdate]) -> ImportReport:
    """Import what moved: one marketplace run per marketplace (only its moved entries), one
    run per other source."""
    report = ImportReport()
    for (collection, source), entries in _grouped(updates).items():
        only = frozenset(normalize_name(e) for e in entries) if entries else None
        report.extend(import_paths([source], collection=collection, remote=True, only=only))
    return report


def _grouped(updates: Iterable[PluginUpdate]) -> dict[tuple[str, str], list[str]]:
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for update in updates:
        if update.state != UpdateState.UPDATE_AVAILABLE or update.source is None:
            continue
        key = (update.plugin.collection.name, update.source)
        if update.entry is not None:
            groups[key].append(update.entry)
        else:
            groups.setdefault(key, [])  # the whole source
    return groups
