"""Detection: what a path given to the importer holds. A plugin directory, a marketplace
directory (``.claude-plugin/marketplace.json``) whose entries name plugins, or an archive of
either. Remote marketplace sources are reported as skipped, never fetched; an entry that is
bad on its own fails alone."""

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

    @property
    def display_name(self) -> str:
        return self.entry_name or self.fallback_name or self.root.name


@dataclass
class Detection:
    sources: list[PluginSource] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    failed: list[FailedImport] = field(default_factory=list)  # marketplace entries, alone


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


def detect_directory(path: Path, label: str, fallback_name: str | None = None) -> Detection:
    if (path / MARKETPLACE_FILE).is_file():
        return detect_marketplace(path, label)
    source = PluginSource(root=path, label=label, fallback_name=fallback_name)
    return Detection(sources=[source])


def detect_marketplace(root: Path, label: str) -> Detection:
    """The plugins a marketplace lists. The marketplace as a whole must be sound (``bad_json``,
    ``bad_marketplace``); an entry that is bad on its own fails alone, listed in ``failed``."""
    where = f"{label}/{MARKETPLACE_FILE}"
    document = read_json_file(root / MARKETPLACE_FILE, where)
    entries = _marketplace_entries(document, where)
    plugin_root = _plugin_root(document, where)
    detection = Detection()
    seen: dict[str, str] = {}
    for index, entry in enumerate(entries):
        entry_where = f"{where}#plugins[{index}]"
        try:
            source = _entry(root, label, entry, entry_where, plugin_root, seen)
        except ImportError_ as error:
            name = entry.get("name") if isinstance(entry, Mapping) else None
            shown = display_path(name) if isinstance(name, str) and name else f"plugins[{index}]"
            detection.failed.append(
                FailedImport(name=shown, path=error.path, rule=error.rule, message=error.message)
            )
            continue
        if isinstance(source, Skipped):
            detection.skipped.append(source)
        else:
            detection.sources.append(source)
    return detection


def _entry(
    root: Path,
    label: str,
    entry: Any,
    where: str,
    plugin_root: str,
    seen: dict[str, str],
) -> "PluginSource | Skipped":
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
    if isinstance(source, Mapping):
        kind = source.get("source", "unknown")
        return Skipped(name, f"remote source ({kind}) is not fetched")
    if not isinstance(source, str) or not source.strip():
        raise ValidationFailed(
            "source must be a relative path or a source object",
            path=where,
            rule=Rule.BAD_MARKETPLACE,
        )
    if "://" in source or source.startswith("git@"):
        return Skipped(name, f"remote source ({source}) is not fetched")
    return _entry_source(root, label, entry, name, where, plugin_root)


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
    root: Path, label: str, entry: Mapping[str, Any], name: str, where: str, plugin_root: str
) -> PluginSource:
    text = entry["source"]
    bare = not text.startswith(".") and "/" not in text
    relative = relative_component_path(text, key="source", where=where)
    if bare and plugin_root:
        relative = f"{plugin_root}/{relative}"
    plugin_folder = root / relative if relative else root
    display = display_path(f"{label}/{relative}" if relative else label)
    check_manifest_types(entry, where)
    if entry.get("strict", True) is not False:
        components = {k: v for k, v in entry.items() if k in DECLARING_KEYS}
        return PluginSource(
            root=plugin_folder,
            label=display,
            entry_name=name,
            entry_components=components or None,
            entry_where=where,
        )
    manifest = {k: v for k, v in entry.items() if k not in ("source", "strict")}
    scope = None
    if not relative:
        # The entry's own root is the marketplace: the plugin is only what the entry lists.
        listed = [
            path
            for key in DECLARING_KEYS
            for path in component_paths(entry.get(key), key=key, where=where)
        ]
        scope = tuple(dict.fromkeys(listed))
    return PluginSource(
        root=plugin_folder,
        label=display,
        entry_name=name,
        entry_manifest=manifest,
        scope=scope,
        entry_where=where,
    )
