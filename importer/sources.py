"""Detection: what a path given to the importer holds. A plugin directory, a marketplace
directory (``.claude-plugin/marketplace.json``) whose entries name plugins, or an archive of
either. Entries with remote sources are listed for the service to fetch (or skip); an entry
that is bad on its own fails alone."""

import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artifacts.models import normalize_name
from importer.errors import ImportError_, Rule, ValidationFailed, display_path
from importer.hashing import read_file_bytes, refuse_special
from importer.jsondoc import loads_document
from importer.manifest import (
    DECLARING_KEYS,
    check_manifest_types,
    component_paths,
    relative_component_path,
)
from importer.names import check_name
from importer.origin import Origin
from importer.remote.spec import NotFetched, RemoteSource, entry_remote, looks_remote
from importer.results import FailedImport, Skipped

MARKETPLACE_FILE = ".claude-plugin/marketplace.json"
MANIFEST_FILE = ".claude-plugin/plugin.json"
MAX_JSON_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class PluginSource:
    """One plugin to import: its folder on disk and what a marketplace said of it."""

    root: Path
    label: str  # how errors and the import history name it
    entry_name: str | None = None
    entry_manifest: Mapping[str, Any] | None = None  # a strict: false marketplace entry
    entry_components: Mapping[str, Any] | None = None  # a strict: true entry's component keys
    scope: tuple[str, ...] | None = None  # only these paths below root (see DESIGN 3)
    entry_where: str = ""  # the marketplace entry, for errors in what it declares
    fallback_name: str | None = None  # the name of a manifest-less plugin at an archive's top
    origin: Origin | None = None

    @property
    def display_name(self) -> str:
        return self.entry_name or self.fallback_name or self.root.name


@dataclass(frozen=True)
class RemoteEntry:
    """A marketplace entry whose plugin is fetched from elsewhere."""

    name: str
    remote: RemoteSource
    entry: Mapping[str, Any]
    where: str
    marketplace_origin: Origin  # the marketplace's own origin, with its name

    def plugin_source(self, root: Path, origin: Origin, label: str) -> PluginSource:
        """The fetched plugin, read with what the entry declares."""
        market = self.marketplace_origin.marketplace
        if market is not None:
            origin = origin.listed_in(market.name, market.location)
        return _declared_source(root, label, self.entry, self.name, self.where, origin=origin)


@dataclass
class Detection:
    sources: list[PluginSource] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    failed: list[FailedImport] = field(default_factory=list)  # marketplace entries, alone
    remote: list[RemoteEntry] = field(default_factory=list)


def read_json_file(path: Path, where: str) -> Any:
    """Parse a small JSON file, refusing links and special files; None for an empty file."""
    st = path.lstat()
    if not stat.S_ISREG(st.st_mode):
        refuse_special(st.st_mode, where)
    if st.st_size > MAX_JSON_BYTES:
        raise ValidationFailed(
            f"JSON file is larger than {MAX_JSON_BYTES} bytes", path=where, rule=Rule.BAD_JSON
        )
    text = read_file_bytes(path, where)
    if not text.strip():
        return None
    return loads_document(text, where)


def detect_directory(
    path: Path,
    label: str,
    fallback_name: str | None = None,
    *,
    origin: Origin,
    origin_text: str = "",
) -> Detection:
    """``origin_text``: how a marketplace found here is named in its plugins' origins."""
    if (path / MARKETPLACE_FILE).is_file():
        return detect_marketplace(path, label, origin, origin_text or origin.location)
    source = PluginSource(root=path, label=label, fallback_name=fallback_name, origin=origin)
    return Detection(sources=[source])


def detect_marketplace(root: Path, label: str, origin: Origin, origin_text: str) -> Detection:
    """The plugins a marketplace lists. The marketplace as a whole must be sound (``bad_json``,
    ``bad_marketplace``); an entry that is bad on its own fails alone, listed in ``failed``."""
    where = f"{label}/{MARKETPLACE_FILE}"
    document = read_json_file(root / MARKETPLACE_FILE, where)
    entries = _marketplace_entries(document, where)
    plugin_root = _plugin_root(document, where)
    place = _Marketplace(root, label, plugin_root, origin.listed_in(document["name"], origin_text))
    detection = Detection()
    seen: dict[str, str] = {}
    for index, entry in enumerate(entries):
        entry_where = f"{where}#plugins[{index}]"
        try:
            source = _entry(place, entry, entry_where, seen)
        except ImportError_ as error:
            name = entry.get("name") if isinstance(entry, Mapping) else None
            shown = display_path(name) if isinstance(name, str) and name else f"plugins[{index}]"
            detection.failed.append(
                FailedImport(name=shown, path=error.path, rule=error.rule, message=error.message)
            )
            continue
        if isinstance(source, Skipped):
            detection.skipped.append(source)
        elif isinstance(source, RemoteEntry):
            detection.remote.append(source)
        else:
            detection.sources.append(source)
    return detection


@dataclass(frozen=True)
class _Marketplace:
    root: Path
    label: str
    plugin_root: str
    origin: Origin  # with the marketplace's name and location


def _entry(
    place: _Marketplace, entry: Any, where: str, seen: dict[str, str]
) -> "PluginSource | RemoteEntry | Skipped":
    if not isinstance(entry, Mapping) or "name" not in entry or "source" not in entry:
        raise ValidationFailed(
            "plugin entry must be an object with 'name' and 'source'",
            path=where,
            rule=Rule.BAD_MARKETPLACE,
        )
    name = check_name(entry["name"], kind="plugin", where=where)
    key = normalize_name(name)
    if key in seen:
        raise ValidationFailed(
            f"plugin name {name!r} is already listed (as {seen[key]!r})",
            path=where,
            rule=Rule.BAD_MARKETPLACE,
        )
    seen[key] = name
    source = entry["source"]
    if isinstance(source, str) and not source.strip():
        raise ValidationFailed(
            "source must be a relative path or a source object",
            path=where,
            rule=Rule.BAD_MARKETPLACE,
        )
    if isinstance(source, str) and not looks_remote(source):
        return _entry_source(place, entry, name, where)
    check_manifest_types(entry, where)
    remote = entry_remote(source, f"{where}.source")
    if isinstance(remote, NotFetched):
        return Skipped(name, remote.reason)
    return RemoteEntry(name, remote, entry, where, place.origin)


def _plugin_root(document: Mapping[str, Any], where: str) -> str:
    """``metadata.pluginRoot``: where bare-name sources (``"formatter"``) are found."""
    metadata = document.get("metadata")
    value = metadata.get("pluginRoot") if isinstance(metadata, Mapping) else None
    if value is None:
        return ""
    return relative_component_path(value, key="pluginRoot", where=f"{where}#metadata.pluginRoot")


def _marketplace_entries(document: Any, where: str) -> list[Any]:
    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed(message, path=where, rule=Rule.BAD_MARKETPLACE)

    if not isinstance(document, Mapping):
        raise refuse("marketplace.json must be a JSON object")
    if not isinstance(document.get("name"), str) or not document["name"].strip():
        raise refuse("marketplace has no string 'name'")
    owner = document.get("owner")
    if not isinstance(owner, Mapping) or not isinstance(owner.get("name"), str):
        raise refuse("marketplace has no string 'owner.name'")
    plugins = document.get("plugins")
    if not isinstance(plugins, list):
        raise refuse("marketplace has no 'plugins' list")
    return plugins


def _entry_source(
    place: _Marketplace, entry: Mapping[str, Any], name: str, where: str
) -> PluginSource:
    text = entry["source"]
    bare = not text.startswith(".") and "/" not in text
    relative = relative_component_path(text, key="source", where=where)
    if bare and place.plugin_root:
        relative = f"{place.plugin_root}/{relative}"
    plugin_folder = place.root / relative if relative else place.root
    display = display_path(f"{place.label}/{relative}" if relative else place.label)
    check_manifest_types(entry, where)
    origin = place.origin.below(relative)
    return _declared_source(
        plugin_folder, display, entry, name, where, origin=origin, scoped=not relative
    )


def _declared_source(
    root: Path,
    label: str,
    entry: Mapping[str, Any],
    name: str,
    where: str,
    *,
    origin: Origin,
    scoped: bool = False,
) -> PluginSource:
    """A plugin folder read with what its marketplace entry declares. ``scoped``: the folder is
    the marketplace itself, so the plugin is only what the entry lists."""
    if entry.get("strict", True) is not False:
        components = {k: v for k, v in entry.items() if k in DECLARING_KEYS}
        return PluginSource(
            root=root,
            label=label,
            entry_name=name,
            entry_components=components or None,
            entry_where=where,
            origin=origin,
        )
    manifest = {k: v for k, v in entry.items() if k not in ("source", "strict")}
    scope = None
    if scoped:
        # The entry's own root is the marketplace: the plugin is only what the entry lists.
        listed = [
            path
            for key in DECLARING_KEYS
            for path in component_paths(entry.get(key), key=key, where=where)
        ]
        scope = tuple(dict.fromkeys(listed))
    return PluginSource(
        root=root,
        label=label,
        entry_name=name,
        entry_manifest=manifest,
        scope=scope,
        entry_where=where,
        origin=origin,
    )
