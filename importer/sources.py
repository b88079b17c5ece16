"""Detection: what a path given to the importer holds. A plugin directory, a marketplace
directory (``.claude-plugin/marketplace.json``) whose entries name plugins, or an archive of
either. Remote marketplace sources are reported as skipped, never fetched."""

import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from importer.errors import Rule, UnsafePath, ValidationFailed, display_path
from importer.hashing import read_file_bytes, refuse_special
from importer.jsondoc import loads_document
from importer.names import check_name
from importer.results import Skipped

MARKETPLACE_FILE = ".claude-plugin/marketplace.json"
MANIFEST_FILE = ".claude-plugin/plugin.json"
COMPONENT_KEYS = ("commands", "agents", "skills", "hooks", "mcpServers")
MAX_JSON_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class PluginSource:
    """One plugin to import: its folder on disk and what a marketplace said of it."""

    root: Path
    label: str  # how errors and the import history name it
    entry_name: str | None = None
    entry_manifest: Mapping[str, Any] | None = None  # a strict: false marketplace entry
    scope: tuple[str, ...] | None = None  # only these paths below root (see DESIGN 3)
    fallback_name: str | None = None  # the name of a manifest-less plugin at an archive's top

    @property
    def display_name(self) -> str:
        return self.entry_name or self.fallback_name or self.root.name


@dataclass
class Detection:
    sources: list[PluginSource] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


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


def relative_component_path(value: object, *, key: str, where: str) -> str:
    """A declared component path (``./commands``) as a clean path relative to the plugin."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(
            f"{key} path must be a non-empty string", path=where, rule=Rule.BAD_MANIFEST
        )
    if value.startswith("/") or "\\" in value or (len(value) > 1 and value[1] == ":"):
        raise UnsafePath(f"{key} path {value!r} is absolute", path=where, rule=Rule.PATH_ESCAPES)
    parts = PurePosixPath(value).parts
    if ".." in parts:
        raise UnsafePath(f"{key} path {value!r} contains '..'", path=where, rule=Rule.PATH_ESCAPES)
    clean = PurePosixPath(*[p for p in parts if p != "."]) if parts else PurePosixPath()
    return str(clean) if str(clean) != "." else ""


def component_paths(value: object, *, key: str, where: str) -> list[str]:
    """The paths a manifest declares for a component: a string or a list of them."""
    if isinstance(value, str):
        return [relative_component_path(value, key=key, where=where)]
    if isinstance(value, list):
        return [relative_component_path(v, key=key, where=where) for v in value]
    return []


def detect_directory(path: Path, label: str, fallback_name: str | None = None) -> Detection:
    if (path / MARKETPLACE_FILE).is_file():
        return detect_marketplace(path, label)
    source = PluginSource(root=path, label=label, fallback_name=fallback_name)
    return Detection(sources=[source])


def detect_marketplace(root: Path, label: str) -> Detection:
    where = f"{label}/{MARKETPLACE_FILE}"
    document = read_json_file(root / MARKETPLACE_FILE, where)
    entries = _marketplace_entries(document, where)
    detection = Detection()
    for index, entry in enumerate(entries):
        entry_where = f"{where}#plugins[{index}]"
        name = check_name(entry["name"], kind="plugin", where=entry_where)
        source = entry["source"]
        if isinstance(source, Mapping):
            kind = source.get("source", "unknown")
            detection.skipped.append(Skipped(name, f"remote source ({kind}) is not fetched"))
            continue
        if not isinstance(source, str) or not source.strip():
            raise ValidationFailed(
                "source must be a relative path or a source object",
                path=entry_where,
                rule=Rule.BAD_MARKETPLACE,
            )
        if "://" in source or source.startswith("git@"):
            detection.skipped.append(Skipped(name, f"remote source ({source}) is not fetched"))
            continue
        detection.sources.append(_entry_source(root, label, entry, name, entry_where))
    return detection


def _marketplace_entries(document: Any, where: str) -> list[Mapping[str, Any]]:
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
    for index, entry in enumerate(plugins):
        if not isinstance(entry, Mapping) or "name" not in entry or "source" not in entry:
            raise ValidationFailed(
                "plugin entry must be an object with 'name' and 'source'",
                path=f"{where}#plugins[{index}]",
                rule=Rule.BAD_MARKETPLACE,
            )
    return plugins


def _entry_source(
    root: Path, label: str, entry: Mapping[str, Any], name: str, where: str
) -> PluginSource:
    relative = relative_component_path(entry["source"], key="source", where=where)
    plugin_root = root / relative if relative else root
    display = f"{label}/{relative}" if relative else label
    if entry.get("strict", True) is not False:
        return PluginSource(root=plugin_root, label=display, entry_name=name)
    manifest = {k: v for k, v in entry.items() if k not in ("source", "strict")}
    scope = None
    if not relative:
        # The entry's own root is the marketplace: the plugin is only what the entry lists.
        listed = [
            path
            for key in COMPONENT_KEYS
            for path in component_paths(entry.get(key), key=key, where=where)
        ]
        scope = tuple(dict.fromkeys(listed))
    return PluginSource(
        root=plugin_root,
        label=display_path(display),
        entry_name=name,
        entry_manifest=manifest,
        scope=scope,
    )
