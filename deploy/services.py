"""The sync engine's services: deploy a plugin into a project, report the status of what was
deployed, undeploy it. Files go through a temporary path and an atomic rename; settings and
.mcp.json entries of the user or of other plugins are left as they are."""

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from django.db import transaction

from artifacts.hashrefs import version_by_reference
from artifacts.models import (
    DEFAULT_COLLECTION,
    Artifact,
    ArtifactType,
    Version,
    normalize_name,
    version_label,
)
from blobstore import BlobStore, blob_store
from deploy.flat import (
    check_claims,
    claims_of_others,
    flat_lock_entry,
    flat_warnings,
    server_states,
)
from deploy.lockfile import read_lock, write_lock
from deploy.models import DeployedItem, Deployment, ItemKind
from deploy.places import PROJECT, USER, Place, place_for, project_place
from deploy.plugin_mode import (
    MODE as MODE_PLUGIN,
)
from deploy.plugin_mode import (
    deploy_plugin_folder,
    locked_plugin_status,
    pins_of,
    undeploy_plugin_folder,
)
from deploy.safety import (
    ModifiedInProject,
    check_project_paths,
    project_lock,
    read_project_settings,
)
from deploy.targets import (
    CLAUDE_DIR,
    MCP_FILE,
    SETTINGS_FILE,
    DeploymentPlan,
    Target,
    current_hash,
    plan_deployment,
)
from importer.errors import ImportError_, Rule, ValidationFailed
from importer.hashing import hash_mcp_config
from importer.storage import rebuild_files

SUPPORTED_PLATFORMS = ("claude-code",)
MODE_FLAT = "flat"


class DeployError(ImportError_):
    code = "deploy_failed"


@dataclass(frozen=True)
class DeployResult:
    plugin: str
    project: str
    version_hash: str
    dry_run: bool
    written: list[str]
    removed: list[str]
    mcp_servers: list[str]
    hook_events: list[str]
    mode: str = "flat"
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ChildStatus:
    type: str
    name: str
    path: str
    state: str
    deployed_hash: str
    current_hash: str | None
    latest_hash: str | None


@dataclass(frozen=True)
class PluginStatus:
    name: str
    version_hash: str
    latest_version_hash: str | None = None
    children: list[ChildStatus] = field(default_factory=list)


@dataclass(frozen=True)
class UndeployResult:
    plugin: str
    project: str
    removed: list[str]
    kept: list[str]


def project_key(project: Path) -> str:
    return str(Path(project).expanduser().resolve())


def find_plugin(name: str, collection: str) -> Artifact:
    plugin = (
        Artifact.objects.select_related("latest_version")
        .filter(
            collection__name=collection, type=ArtifactType.PLUGIN, name_key=normalize_name(name)
        )
        .first()
    )
    if plugin is None:
        raise DeployError(
            f"no plugin {name!r} in collection {collection!r}", path=name, rule=Rule.NOT_FOUND
        )
    return plugin


def plugin_version(plugin: Artifact, reference: str | None) -> Version:
    if not reference:
        assert plugin.latest_version is not None
        return plugin.latest_version
    version = version_by_reference(Version.objects.filter(artifact=plugin), reference)
    if version is None:
        raise DeployError(
            f"no version of {plugin.name!r} has a hash starting with {reference!r}",
            path=reference,
            rule=Rule.NOT_FOUND,
        )
    return version


def check_platform(platform: str) -> None:
    if platform not in SUPPORTED_PLATFORMS:
        raise DeployError(
            f"unsupported platform {platform!r} (supported: {', '.join(SUPPORTED_PLATFORMS)})",
            path=platform,
            rule="unsupported_platform",
        )


# --- deploy -------------------------------------------------------------------------------


def plugin_deploy(
    *,
    name: str,
    project: Path | None,
    collection: str = DEFAULT_COLLECTION,
    version: str | None = None,
    platform: str = "claude-code",
    mode: str = MODE_PLUGIN,
    scope: str = PROJECT,
    force: bool = False,
    dry_run: bool = False,
    store: BlobStore | None = None,
) -> DeployResult:
    """Deploy a plugin (latest or chosen version) into a Claude Code project: in plugin mode
    (the default) its whole tree as a skills-directory plugin, in flat mode its children
    spread into the project's own folders and settings."""
    check_platform(platform)
    place = _place(scope, project, mode)
    root = place.root
    store = store or blob_store()
    plugin = find_plugin(name, collection)
    chosen = plugin_version(plugin, version)
    if mode == MODE_PLUGIN:
        return _deploy_as_plugin(place, plugin, chosen, store, force=force, dry_run=dry_run)
    plan = plan_deployment(plugin, chosen, _hooks_json(store, chosen))
    store.require(
        (f.sha256 for target in plan.targets for f in target.files),
        needed_by=version_label(chosen),
    )
    _check_settings_files(root)  # before the lock file is made; again under the lock
    # A dry run writes nothing at all, not even the lock file.
    with contextlib.nullcontext() if dry_run else project_lock(root):
        return _deploy_locked(root, plan, store, platform=platform, force=force, dry_run=dry_run)


def _place(scope: str, project: Path | None, mode: str) -> Place:
    """Where to deploy: a project (which must exist), or the user's skills folder."""
    if mode not in (MODE_PLUGIN, MODE_FLAT):
        raise DeployError(f"unknown mode {mode!r} (plugin or flat)", path=mode, rule="bad_mode")
    if scope not in (PROJECT, USER):
        raise DeployError(
            f"unknown scope {scope!r} (project or user)", path=scope, rule="bad_scope"
        )
    if scope == USER and mode == MODE_FLAT:
        raise DeployError(
            "flat mode writes into a project's settings; the user scope takes plugin mode",
            path=scope,
            rule="bad_scope",
        )
    place = place_for(scope, project)
    if scope == PROJECT and not place.root.is_dir():
        raise DeployError(
            "project folder does not exist", path=str(place.root), rule=Rule.NOT_FOUND
        )
    return place


def _deploy_as_plugin(
    place: Place,
    plugin: Artifact,
    chosen: Version,
    store: BlobStore,
    *,
    force: bool,
    dry_run: bool,
) -> DeployResult:
    root = place.root
    check_project_paths(root, [place.plugin_folder(plugin.name)])
    store.require(chosen.files.values_list("blob_hash", flat=True), needed_by=version_label(chosen))
    with contextlib.nullcontext() if dry_run else project_lock(root, place.flock_path):
        _, replaced = deploy_plugin_folder(
            place, plugin, chosen, store, force=force, dry_run=dry_run
        )
    return DeployResult(
        plugin=plugin.name,
        project=str(root),
        version_hash=chosen.content_hash,
        dry_run=dry_run,
        written=[place.plugin_folder(plugin.name)],
        removed=replaced,
        mcp_servers=[],
        hook_events=[],
        mode=MODE_PLUGIN,
    )


def deploy_from_lock(
    *, project: Path | None, scope: str = PROJECT, store: BlobStore | None = None
) -> list[DeployResult]:
    """Rebuild every plugin the lock file records at its locked version, byte for byte (a
    teammate's fresh clone); fails clearly when the collection lacks that version."""
    place = _place(scope, project, MODE_PLUGIN)
    results = []
    for name, entry in sorted(read_lock(place).items()):
        plugin = find_plugin(name, entry["collection"])
        version = Version.objects.filter(
            artifact=plugin, content_hash=entry["version_hash"]
        ).first()
        if version is None:
            raise DeployError(
                f"the collection {entry['collection']!r} has no version "
                f"{entry['version_hash'][:12]} of {name!r} that the lock file records",
                path=name,
                rule=Rule.NOT_FOUND,
            )
        results.append(
            plugin_deploy(
                name=name,
                project=project,
                scope=scope,
                collection=entry["collection"],
                version=version.content_hash,
                mode=entry["mode"],
                store=store,
            )
        )
    return results


def _deploy_locked(
    root: Path,
    plan: DeploymentPlan,
    store: BlobStore,
    *,
    platform: str,
    force: bool,
    dry_run: bool,
) -> DeployResult:
    """The deploy itself, under the project's lock: every check before the first write."""
    plugin, chosen = plan.plugin, plan.version
    previous = (
        Deployment.objects.filter(project=str(root), plugin=plugin)
        .prefetch_related("items")
        .first()
    )
    previous_items = {item.path: item for item in previous.items.all()} if previous else {}
    check_project_paths(
        root,
        [
            *(t.path for t in plan.targets if t.kind != ItemKind.MCP_ENTRY),
            *(p for p, item in previous_items.items() if item.kind != ItemKind.MCP_ENTRY),
        ],
    )
    _check_settings_files(root)
    shared = check_claims(root, plan, force=force)
    changed, foreign = _conflicts(root, plan.targets, previous_items)
    if (changed or foreign) and not force:
        raise ModifiedInProject(changed, foreign)
    stale = _stale_items(root, plan, previous_items, force)
    result = DeployResult(
        plugin=plugin.name,
        project=str(root),
        version_hash=chosen.content_hash,
        dry_run=dry_run,
        written=[t.path for t in plan.targets if t.kind != ItemKind.MCP_ENTRY],
        removed=[item.path for item in stale],
        mcp_servers=[t.path for t in plan.targets if t.kind == ItemKind.MCP_ENTRY],
        hook_events=sorted(plan.hooks),
        warnings=flat_warnings(plan, store),
    )
    if dry_run:
        return result
    _write_targets(
        root,
        [t for t in plan.targets if t.kind != ItemKind.MCP_ENTRY and t.path not in shared],
        store,
    )
    for item in stale:
        _remove_path(root, item.path)
    created = [f for f in (MCP_FILE, SETTINGS_FILE) if not (root / f).exists()]
    created = sorted({*created, *(previous.created_files if previous else [])})
    place = project_place(root)
    lock = read_lock(place)
    # Without a database record (a teammate's clone), the lock says which hooks were ours.
    locked_hooks = lock.get(plugin.name, {}).get("settings", {}).get("hooks", {})
    _merge_mcp(root, plan, previous_items, force)
    _merge_hooks(root, plan.hooks, previous.settings_hooks if previous else locked_hooks)
    _record(root, plan, platform, [f for f in created if (root / f).exists()])
    lock[plugin.name] = flat_lock_entry(plan)
    write_lock(place, lock)
    return result


def _check_settings_files(root: Path) -> None:
    """The project's settings files are sound JSON of the right shape, or nothing is done."""
    for settings_file in (MCP_FILE, SETTINGS_FILE):
        read_project_settings(root, settings_file)


def _hooks_json(store: BlobStore, version: Version) -> bytes | None:
    hooks = version.files.filter(path="hooks/hooks.json").first()
    return store.read(hooks.blob_hash) if hooks and store.has(hooks.blob_hash) else None


def _conflicts(
    root: Path, targets: list[Target], previous: Mapping[str, DeployedItem]
) -> tuple[list[str], list[str]]:
    """Paths holding something other than what we deployed there or are about to: changed
    since our last deploy, or never written by this tool."""
    changed, foreign = [], []
    for target in targets:
        now = current_hash(root, target.kind, target.path)
        if now is None or now == target.deployed_hash:
            continue
        earlier = previous.get(target.path)
        if earlier is not None and now == earlier.deployed_hash:
            continue
        shown = target.path if target.kind != ItemKind.MCP_ENTRY else f"{MCP_FILE}#{target.path}"
        (changed if earlier is not None else foreign).append(shown)
    return changed, foreign


def _stale_items(
    root: Path, plan: DeploymentPlan, previous: Mapping[str, DeployedItem], force: bool
) -> list[DeployedItem]:
    """What the previous deployment wrote that this one no longer does (unchanged ones)."""
    wanted = {t.path for t in plan.targets}
    stale = []
    for path, item in previous.items():
        if path in wanted or item.kind == ItemKind.MCP_ENTRY:
            continue
        now = current_hash(root, item.kind, path)
        if now is not None and (force or now == item.deployed_hash):
            stale.append(item)
    return stale


@contextlib.contextmanager
def _temporary_beside(final: Path) -> Iterator[Path]:
    """A temporary path in the same folder as ``final`` (so the rename is atomic)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".skillmeat-", dir=final.parent))
    try:
        yield scratch / "new"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _write_targets(root: Path, targets: list[Target], store: BlobStore) -> None:
    """Stage every file and folder beside its final place first; only then rename them in,
    so that a failure while staging leaves the project as it was."""
    with contextlib.ExitStack() as stack:
        staged = []
        for target in targets:
            final = root / target.path
            path = stack.enter_context(_temporary_beside(final))
            _stage_target(target, path, store)
            staged.append((path, final))
        for path, final in staged:
            if path.is_dir() and final.exists():
                os.rename(final, path.parent / "old")
            os.replace(path, final)


def _stage_target(target: Target, staged: Path, store: BlobStore) -> None:
    if target.kind == ItemKind.FILE:
        (only,) = target.files
        rebuild_files(store, [replace(only, path=staged.name)], staged.parent)
        return
    staged.mkdir()
    rebuild_files(store, target.files, staged)


def _remove_path(root: Path, path: str) -> None:
    location = root / path
    if location.is_dir() and not location.is_symlink():
        shutil.rmtree(location)
    else:
        location.unlink(missing_ok=True)
    _remove_empty_parents(root, location.parent)


def _remove_empty_parents(root: Path, folder: Path) -> None:
    stop = root / CLAUDE_DIR
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def write_json(path: Path, document: dict[str, Any]) -> None:
    with _temporary_beside(path) as staged:
        staged.write_text(
            json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        os.replace(staged, path)


def _merge_mcp(
    root: Path, plan: DeploymentPlan, previous: Mapping[str, DeployedItem], force: bool
) -> None:
    servers_now = {t.path: t.mcp_config for t in plan.targets if t.kind == ItemKind.MCP_ENTRY}
    ours_before = [item for item in previous.values() if item.kind == ItemKind.MCP_ENTRY]
    if not servers_now and not ours_before:
        return
    document = read_project_settings(root, MCP_FILE)
    servers = document.setdefault("mcpServers", {})
    for item in ours_before:
        if item.path not in servers_now and _unchanged_entry(servers, item, force):
            del servers[item.path]
    servers.update(servers_now)
    write_json(root / MCP_FILE, document)


def _unchanged_entry(servers: Mapping[str, Any], item: DeployedItem, force: bool) -> bool:
    entry = servers.get(item.path)
    return entry is not None and (force or hash_mcp_config(entry) == item.deployed_hash)


def _merge_hooks(
    root: Path, hooks: dict[str, list[Any]], previous: Mapping[str, list[Any]]
) -> None:
    if not hooks and not previous:
        return
    path = root / SETTINGS_FILE
    document = read_project_settings(root, SETTINGS_FILE)
    current = document.setdefault("hooks", {})
    _take_out_groups(current, previous)
    for event, groups in hooks.items():
        current.setdefault(event, []).extend(groups)
    if not current:
        del document["hooks"]
    write_json(path, document)


def _take_out_groups(
    current: dict[str, list[Any]], groups_by_event: Mapping[str, list[Any]]
) -> None:
    """Remove exactly the hook groups a deployment added (one occurrence each)."""
    for event, groups in groups_by_event.items():
        present = current.get(event, [])
        for group in groups:
            if group in present:
                present.remove(group)
        if event in current and not present:
            del current[event]


@transaction.atomic
def _record(root: Path, plan: DeploymentPlan, platform: str, created_files: list[str]) -> None:
    Deployment.objects.filter(project=str(root), plugin=plan.plugin).delete()
    deployment = Deployment.objects.create(
        project=str(root),
        platform=platform,
        plugin=plan.plugin,
        plugin_version=plan.version,
        mode=MODE_FLAT,
        settings_hooks=plan.hooks,
        created_files=created_files,
    )
    DeployedItem.objects.bulk_create(
        DeployedItem(
            deployment=deployment,
            child=t.child,
            child_type=t.child_type,
            child_name=t.child_name,
            path=t.path,
            kind=t.kind,
            version_hash=t.version_hash,
            deployed_hash=t.deployed_hash,
        )
        for t in plan.targets
    )


# --- status -------------------------------------------------------------------------------


def project_status(project: Path, *, skip: frozenset[str] = frozenset()) -> list[PluginStatus]:
    """Each child of a flat deployment recorded in the database (but those of ``skip``, known
    from the lock file): missing, modified, outdated (the plugin's own latest version pins
    another content) or in_sync. Joins, never IN lists, so that a plugin of thousands of
    children stays within SQLite's limits."""
    root = Path(project_key(project))
    deployments = [
        d
        for d in Deployment.objects.filter(project=str(root), mode=MODE_FLAT).select_related(
            "plugin__latest_version", "plugin_version"
        )
        if d.plugin.name not in skip
    ]
    items = (
        DeployedItem.objects.filter(deployment__project=str(root))
        .exclude(child_type=ArtifactType.PLUGIN)
        .select_related("child__latest_version")
        .order_by("deployment_id", "id")
    )
    by_deployment: dict[int, list[DeployedItem]] = {}
    for item in items:
        by_deployment.setdefault(item.deployment_id, []).append(item)
    return [_plugin_status(root, d, by_deployment.get(d.pk, [])) for d in deployments]


def _plugin_status(root: Path, deployment: Deployment, items: list[DeployedItem]) -> PluginStatus:
    latest = deployment.plugin.latest_version
    pins = pins_of(latest)  # one query per plugin, whatever its number of children
    return PluginStatus(
        name=deployment.plugin.name,
        version_hash=deployment.plugin_version.content_hash,
        latest_version_hash=latest.content_hash,
        children=[_child_status(root, item, pins) for item in items],
    )


def _child_status(root: Path, item: DeployedItem, latest_pins: dict[str, str]) -> ChildStatus:
    now = current_hash(root, item.kind, item.path)
    latest_hash = latest_pins.get(f"{item.child_type}:{normalize_name(item.child_name)}")
    if now is None:
        state = "missing"
    elif now != item.deployed_hash:
        state = "modified"
    elif latest_hash != item.version_hash:
        state = "outdated"
    else:
        state = "in_sync"
    path = item.path if item.kind != ItemKind.MCP_ENTRY else f"{MCP_FILE}#{item.path}"
    return ChildStatus(
        item.child_type, item.child_name, path, state, item.deployed_hash, now, latest_hash
    )


def status_document(project: Path | None, scope: str = PROJECT) -> dict[str, Any]:
    """Every plugin of the project (or the user's skills folder): plugin-mode ones from the
    lock file alone, flat ones from the deployment records."""
    return place_status(place_for(scope, project))


def place_status(place: Place) -> dict[str, Any]:
    root = place.root
    locked = read_lock(place) if root.is_dir() else {}
    plugins = [
        locked_plugin_status(root, name, entry, server_states(root, entry))
        for name, entry in sorted(locked.items())
    ]
    if place.scope == PROJECT:
        for status in project_status(root, skip=frozenset(locked)):
            plugins.append(_flat_document(status))
    return {"project": str(root), "plugins": plugins}


def _flat_document(status: "PluginStatus") -> dict[str, Any]:
    latest = status.latest_version_hash
    state = (
        "unknown"
        if latest is None
        else ("current" if latest == status.version_hash else "outdated")
    )
    return {
        "name": status.name,
        "mode": MODE_FLAT,
        "version_hash": status.version_hash,
        "latest_version_hash": latest,
        "state": state,
        "children": [asdict(child) for child in status.children],
        "meta_files": [],
    }


def status_is_clean(document: dict[str, Any]) -> bool:
    """True when every plugin is current and every child and meta-file in sync."""
    return all(
        plugin["state"] == "current"
        and all(c["state"] == "in_sync" for c in plugin["children"])
        and all(m["state"] == "in_sync" for m in plugin["meta_files"])
        for plugin in document["plugins"]
    )


# --- undeploy -----------------------------------------------------------------------------


def plugin_undeploy(
    *, name: str, project: Path | None, force: bool = False, scope: str = PROJECT
) -> UndeployResult:
    """Remove what a deployment wrote, and nothing else; changed files stay unless forced."""
    place = place_for(scope, project)
    root = place.root
    locked = {normalize_name(n): (n, e) for n, e in read_lock(place).items()}
    locked_name, entry = locked.get(normalize_name(name), (name, None))
    if entry is not None and entry["mode"] == MODE_PLUGIN:
        with project_lock(root, place.flock_path):
            removed, kept = undeploy_plugin_folder(place, locked_name, entry, force=force)
        return UndeployResult(locked_name, str(root), removed, kept)
    deployment = (
        Deployment.objects.filter(project=str(root), plugin__name_key=normalize_name(name))
        .select_related("plugin")
        .prefetch_related("items")
        .first()
    )
    if deployment is None and entry is not None:
        return _undeploy_flat_from_lock(place, locked_name, entry, force=force)
    if deployment is None:
        raise ValidationFailed(
            f"plugin {name!r} is not deployed in this project", path=str(root), rule=Rule.NOT_FOUND
        )
    _check_settings_files(root)
    with project_lock(root):
        result = _undeploy_locked(root, deployment, force=force)
        lock = read_lock(place)
        if lock.pop(deployment.plugin.name, None) is not None:
            write_lock(place, lock)
        return result


def _undeploy_flat_from_lock(
    place: Place, name: str, entry: dict[str, Any], *, force: bool
) -> UndeployResult:
    """A flat deploy this database never recorded (a teammate's clone): the lock file says
    which files and settings entries were written."""
    root = place.root
    _check_settings_files(root)
    with project_lock(root):
        removed, kept = undeploy_plugin_folder(place, name, entry, force=force)
        removed.extend(_remove_locked_servers(root, entry, force=force))
        _merge_hooks(root, {}, entry["settings"].get("hooks", {}))
    return UndeployResult(name, str(root), removed, kept)


def _remove_locked_servers(root: Path, entry: dict[str, Any], *, force: bool) -> list[str]:
    # Called once this plugin has left the lock: what remains there is another plugin's.
    still_claimed = {
        server
        for other_entry in read_lock(project_place(root)).values()
        for server in other_entry.get("settings", {}).get("mcpServers", {})
    }
    written = {
        server: hash_mcp_config(config)
        for server, config in entry["settings"].get("mcpServers", {}).items()
        if server not in still_claimed
    }
    removed, _ = _remove_servers(root, written, force)
    return removed


def _undeploy_locked(root: Path, deployment: Deployment, *, force: bool) -> UndeployResult:
    items = sorted(deployment.items.all(), key=lambda i: i.path)
    check_project_paths(
        root,
        [*(i.path for i in items if i.kind != ItemKind.MCP_ENTRY), *deployment.created_files],
    )
    _check_settings_files(root)
    # What another plugin deployed flat still claims stays until that plugin goes too.
    claimed = claims_of_others(root, deployment.plugin, (i.path for i in items))
    items = [i for i in items if i.path not in claimed]
    removed, kept = [], []
    for item in items:
        if item.kind == ItemKind.MCP_ENTRY:
            continue
        if any(item.path.startswith(f"{gone}/") for gone in removed):
            continue
        now = current_hash(root, item.kind, item.path)
        if now is None:
            continue
        if force or now == item.deployed_hash:
            _remove_path(root, item.path)
            removed.append(item.path)
        else:
            kept.append(item.path)
    removed_entries, kept_entries = _remove_mcp_entries(
        root, [i for i in items if i.kind == ItemKind.MCP_ENTRY], force
    )
    _merge_hooks(root, {}, deployment.settings_hooks)
    removed.extend(_remove_emptied_files(root, deployment.created_files))
    deployment.delete()
    return UndeployResult(
        deployment.plugin.name, str(root), removed + removed_entries, kept + kept_entries
    )


def _remove_emptied_files(root: Path, created: list[str]) -> list[str]:
    """Settings files the deployment created, once nothing is left in them."""
    removed = []
    for relative in created:
        path = root / relative
        document = read_project_settings(root, relative)
        if document.get("mcpServers") == {}:
            del document["mcpServers"]
        if path.exists() and not document:
            path.unlink()
            removed.append(relative)
    return removed


def _remove_mcp_entries(
    root: Path, items: list[DeployedItem], force: bool
) -> tuple[list[str], list[str]]:
    return _remove_servers(root, {item.path: item.deployed_hash for item in items}, force)


def _remove_servers(
    root: Path, written: Mapping[str, str], force: bool
) -> tuple[list[str], list[str]]:
    """Take out of ``.mcp.json`` the servers a deploy wrote (name -> hash of what it wrote),
    unless the user changed them since (``force`` takes those too)."""
    if not written:
        return [], []
    document = read_project_settings(root, MCP_FILE)
    servers = document.get("mcpServers", {})
    removed, kept = [], []
    for name, deployed_hash in written.items():
        if name not in servers:
            continue
        if force or hash_mcp_config(servers[name]) == deployed_hash:
            del servers[name]
            removed.append(f"{MCP_FILE}#{name}")
        else:
            kept.append(f"{MCP_FILE}#{name}")
    write_json(root / MCP_FILE, document)
    return removed, kept
