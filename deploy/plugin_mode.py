"""Plugin mode (DESIGN section 10): the plugin's whole tree at one version, byte for byte, in
``.claude/skills/<name>/``, which Claude Code (2.1.157 and later) loads as the plugin
``<name>@skills-dir`` with its own namespacing, hooks, MCP and LSP servers. No settings file is
edited; the project's lock file records every file written, and status, update and undeploy
work from it alone."""

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from django.db import transaction

from artifacts.masking import strip_url_secrets
from artifacts.models import (
    Artifact,
    ArtifactAssociation,
    ArtifactType,
    Version,
    normalize_name,
)
from blobstore import BlobStore
from deploy.lockfile import read_lock, write_lock
from deploy.models import DeployedItem, Deployment, ItemKind
from deploy.places import Place
from deploy.safety import ModifiedInProject, check_project_paths
from importer.errors import ImportError_
from importer.hashing import MODE_REGULAR, TreeFile, hash_bytes, hash_file, tree_hash
from importer.storage import rebuild_files

MANIFEST = ".claude-plugin/plugin.json"
MODE = "plugin"


@dataclass(frozen=True)
class PluginTree:
    """What plugin mode writes: the version's files, and a generated plugin.json for a
    plugin imported without one (Claude Code needs it to load the folder as a plugin)."""

    files: tuple[TreeFile, ...]
    generated: dict[str, bytes]


def version_tree(plugin: Artifact, version: Version) -> PluginTree:
    files = tuple(
        TreeFile(f.path, f.mode, f.size, f.blob_hash) for f in version.files.order_by("path")
    )
    generated = {}
    if all(f.path != MANIFEST for f in files):
        generated[MANIFEST] = (json.dumps({"name": plugin.name}, indent=2) + "\n").encode()
    return PluginTree(files, generated)


def lock_entry(plugin: Artifact, version: Version, tree: PluginTree, folder: str) -> dict[str, Any]:
    """The lock file's record of this plugin at this version (no clock time in it)."""
    files = {f"{folder}/{f.path}": {"sha256": f.sha256, "mode": f"{f.mode:o}"} for f in tree.files}
    for path, data in tree.generated.items():
        files[f"{folder}/{path}"] = {"sha256": hash_bytes(data), "mode": f"{MODE_REGULAR:o}"}
    return {
        "collection": plugin.collection.name,
        "mode": MODE,
        "version_hash": version.content_hash,
        "version_label": version.version_label,
        "origin": version_origin(version),
        "files": files,
        "children": _children(version, folder),
        "generated": sorted(f"{folder}/{path}" for path in tree.generated),
        "settings": {"hooks": {}, "mcpServers": {}},
    }


def version_origin(version: Version) -> dict[str, Any]:
    """Where the version came from, in the shape of DESIGN section 4 (credentials stripped)."""
    source = version.source
    if source.startswith(("upload:", "admin upload:")):
        kind = "upload"
    elif source.lower().endswith((".zip", ".tar.gz", ".tgz")):
        kind = "archive"
    else:
        kind = "directory"
    location = strip_url_secrets(source, replacement="") if "://" in source else source
    return {
        "kind": kind,
        "location": location,
        "ref": None,
        "commit": None,
        "sha256": None,
        "marketplace": None,
    }


def _children(version: Version, folder: str) -> dict[str, dict[str, Any]]:
    associations = (
        ArtifactAssociation.objects.filter(parent_version=version)
        .select_related("child")
        .prefetch_related("child_version__files")
        .order_by("position")
    )
    declaring = (version.metadata or {}).get("mcp_files") or [".mcp.json"]
    children = {}
    for association in associations:
        child = association.child
        children[f"{child.type}:{child.name}"] = {
            "content_hash": association.pinned_version_hash,
            "paths": _child_paths(association, folder, declaring),
        }
    return children


def _child_paths(association: ArtifactAssociation, folder: str, declaring: list[str]) -> list[str]:
    child_type = association.child.type
    location = association.source_path
    if child_type == ArtifactType.MCP:
        return sorted(f"{folder}/{path}" for path in declaring)
    if child_type in (ArtifactType.COMMAND, ArtifactType.AGENT):
        return [f"{folder}/{location}"]
    base = f"{folder}/{location}" if location else folder
    return sorted(f"{base}/{f.path}" for f in association.child_version.files.all())


# --- deploy -------------------------------------------------------------------------------


def deploy_plugin_folder(
    place: Place,
    plugin: Artifact,
    version: Version,
    store: BlobStore,
    *,
    force: bool,
    dry_run: bool,
) -> tuple[dict[str, Any], list[str]]:
    """Write the plugin's tree into its folder (the caller holds the project lock); returns
    the lock entry and the paths it replaced or removed. Refuses, before writing anything,
    files the user changed or that this tool never wrote, unless ``force``."""
    root = place.root
    tree = version_tree(plugin, version)
    folder = place.plugin_folder(plugin.name)
    entry = lock_entry(plugin, version, tree, folder)
    check_project_paths(root, [folder, *entry["files"]])
    lock = read_lock(place)
    previous = lock.get(plugin.name)
    changed, foreign = _conflicts(root, folder, entry, previous)
    if (changed or foreign) and not force:
        raise ModifiedInProject(changed, foreign)
    if dry_run:
        return entry, [*changed, *foreign]
    _swap_in(root, folder, tree, store)
    lock[plugin.name] = entry
    write_lock(place, lock)
    _record(place, plugin, version, folder, entry)
    return entry, [*changed, *foreign]


def _conflicts(
    root: Path, folder: str, entry: dict[str, Any], previous: dict[str, Any] | None
) -> tuple[list[str], list[str]]:
    wanted = entry["files"]
    written = previous["files"] if previous else {}
    changed, foreign = [], []
    for path in _files_below(root, folder):
        now = _file_hash(root / path)
        if path in wanted and now == wanted[path]["sha256"]:
            continue
        if path in written:
            if now != written[path]["sha256"]:
                changed.append(path)
        else:
            foreign.append(path)
    return changed, foreign


def _files_below(root: Path, folder: str) -> list[str]:
    base = root / folder
    if not base.is_dir() or base.is_symlink():
        return [folder] if base.exists() or base.is_symlink() else []
    return sorted(str(path.relative_to(root)) for path in base.rglob("*") if not path.is_dir())


def _file_hash(path: Path) -> str | None:
    try:
        return hash_file(path)[0]
    except (ImportError_, OSError):  # a link, a device, unreadable: never what we wrote
        return None


def _swap_in(root: Path, folder: str, tree: PluginTree, store: BlobStore) -> None:
    """Build the new folder beside the old one, then two renames: old aside, new in."""
    final = root / folder
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".skillmeat-", dir=final.parent))
    try:
        staged = scratch / "new"
        staged.mkdir()
        rebuild_files(store, tree.files, staged)
        for path, data in tree.generated.items():
            (staged / path).parent.mkdir(parents=True, exist_ok=True)
            (staged / path).write_bytes(data)
        if final.exists():
            final.rename(scratch / "old")
        staged.rename(final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@transaction.atomic
def _record(
    place: Place, plugin: Artifact, version: Version, folder: str, entry: dict[str, Any]
) -> None:
    """The database's mirror of the lock entry (for the admin and the API)."""
    Deployment.objects.filter(project=str(place.root), plugin=plugin).delete()
    deployment = Deployment.objects.create(
        project=str(place.root),
        plugin=plugin,
        plugin_version=version,
        mode=MODE,
        scope=place.scope,
    )
    start = len(folder) + 1
    files = [
        TreeFile(path[start:], int(info["mode"], 8), 0, info["sha256"])
        for path, info in entry["files"].items()
    ]
    DeployedItem.objects.create(
        deployment=deployment,
        child=plugin,
        child_type=ArtifactType.PLUGIN,
        child_name=plugin.name,
        path=folder,
        kind=ItemKind.FOLDER,
        version_hash=version.content_hash,
        deployed_hash=tree_hash(files),
    )


# --- status -------------------------------------------------------------------------------


def locked_plugin_status(
    root: Path, name: str, entry: dict[str, Any], settings_states: dict[str, str] | None = None
) -> dict[str, Any]:
    """A locked plugin's state and each child's and meta-file's, from the lock and the
    project's files; the collection is asked only for the plugin's latest version."""
    now = {path: _file_hash(root / path) for path in entry["files"]}
    settings_states = settings_states or {}
    latest = _latest_version(entry["collection"], name)
    latest_pins = pins_of(latest) if latest else None
    children = []
    owned: set[str] = set()
    for key, child in sorted(entry["children"].items()):
        child_type, child_name = key.split(":", 1)
        owned.update(child["paths"])
        extra = settings_states.get(f"{child_type}:{normalize_name(child_name)}")
        children.append(
            _child_state(child_type, child_name, child, entry["files"], now, latest_pins, extra)
        )
    meta = [
        {"path": path, "state": _file_state(entry["files"][path], now[path])}
        for path in sorted(entry["files"])
        if path not in owned
    ]
    latest_hash = latest.content_hash if latest else None
    state = (
        "unknown"
        if latest is None
        else ("current" if latest_hash == entry["version_hash"] else "outdated")
    )
    return {
        "name": name,
        "mode": entry["mode"],
        "version_hash": entry["version_hash"],
        "latest_version_hash": latest_hash,
        "state": state,
        "children": children,
        "meta_files": meta,
    }


def _latest_version(collection: str, name: str) -> Version | None:
    plugin = (
        Artifact.objects.select_related("latest_version")
        .filter(
            collection__name=collection, type=ArtifactType.PLUGIN, name_key=normalize_name(name)
        )
        .first()
    )
    return plugin.latest_version if plugin else None


def latest_pins(version_hash: str, plugin_name: str) -> dict[str, str]:
    """What the plugin version with this hash pins, by ``type:name`` (normalised)."""
    version = Version.objects.filter(
        content_hash=version_hash,
        artifact__type=ArtifactType.PLUGIN,
        artifact__name_key=normalize_name(plugin_name),
    ).first()
    return pins_of(version) if version else {}


def pins_of(version: Version) -> dict[str, str]:
    """What the plugin's latest version pins, by ``type:name`` (its own children only)."""
    rows = ArtifactAssociation.objects.filter(parent_version=version).values_list(
        "child__type", "child__name", "pinned_version_hash"
    )
    return {f"{t}:{normalize_name(n)}": h for t, n, h in rows}


def _file_state(locked: dict[str, str], now: str | None) -> str:
    if now is None:
        return "missing"
    return "in_sync" if now == locked["sha256"] else "modified"


def _child_state(
    child_type: str,
    child_name: str,
    child: dict[str, Any],
    files: dict[str, dict[str, str]],
    now: dict[str, str | None],
    latest_pins: dict[str, str] | None,
    settings_state: str | None = None,
) -> dict[str, Any]:
    states = {_file_state(files[p], now.get(p)) for p in child["paths"] if p in files}
    if settings_state is not None:  # an entry a flat deploy merged into a settings file
        states.add(settings_state)
    latest_hash = None
    if latest_pins is not None:
        latest_hash = latest_pins.get(f"{child_type}:{normalize_name(child_name)}")
    if "missing" in states:
        state = "missing"
    elif "modified" in states:
        state = "modified"
    elif latest_pins is not None and latest_hash != child["content_hash"]:
        state = "outdated"
    else:
        state = "in_sync"
    unchanged = not (states - {"in_sync"})
    return {
        "type": child_type,
        "name": child_name,
        "path": _shown_path(child_type, child["paths"]),
        "state": state,
        "deployed_hash": child["content_hash"],
        "current_hash": child["content_hash"] if unchanged else None,
        "latest_hash": latest_hash,
    }


def _shown_path(child_type: str, paths: list[str]) -> str:
    """A folder child (skill, hook) is shown by its folder, any other by its file."""
    if not paths:
        return ""
    if child_type in (ArtifactType.SKILL, ArtifactType.HOOK):
        common = os.path.commonpath(paths)
        return str(PurePosixPath(common).parent) if len(paths) == 1 else common
    return paths[0]


# --- undeploy -----------------------------------------------------------------------------


def undeploy_plugin_folder(
    place: Place, name: str, entry: dict[str, Any], *, force: bool
) -> tuple[list[str], list[str]]:
    """Remove exactly the files the lock says this plugin wrote (changed ones only with
    ``force``; those another locked plugin still claims stay), then the folders left empty;
    returns (removed, kept)."""
    root = place.root
    lock = read_lock(place)
    claimed = {path for other, e in lock.items() if other != name for path in e["files"]}
    paths = sorted(set(entry["files"]) - claimed)
    check_project_paths(root, paths)
    removed, kept = [], []
    for path in paths:
        now = _file_hash(root / path)
        if now is None and not (root / path).exists():
            continue
        if force or now == entry["files"][path]["sha256"]:
            (root / path).unlink()
            removed.append(path)
        else:
            kept.append(path)
    _remove_empty_folders(place, {str(PurePosixPath(p).parent) for p in paths})
    lock.pop(name, None)
    write_lock(place, lock)
    Deployment.objects.filter(project=str(root), plugin__name_key=normalize_name(name)).delete()
    return removed, kept


def _remove_empty_folders(place: Place, folders: Iterable[str]) -> None:
    root = place.root
    # Up to the place's own top folder (.claude in a project), never past it.
    stop = root / (PurePosixPath(place.skills_dir).parts[0] if place.skills_dir else "")
    for folder in sorted(folders, key=lambda f: f.count("/"), reverse=True):
        path = root / folder
        while path != stop and stop in path.parents:
            try:
                path.rmdir()
            except OSError:
                break
            path = path.parent
