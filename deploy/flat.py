"""Flat mode's own rules (DESIGN section 10): what two plugins deployed flat into one project
may share, and what flat mode cannot carry (said as warnings naming each file)."""

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from artifacts.models import Artifact, ArtifactType, Version, normalize_name
from blobstore import BlobStore
from deploy.models import DeployedItem, ItemKind
from deploy.plugin_mode import version_origin
from deploy.safety import DeployRefused, read_project_settings
from deploy.targets import MCP_FILE, DeploymentPlan, Target
from importer.errors import ImportError_
from importer.hashing import hash_mcp_config

MANIFEST = ".claude-plugin/plugin.json"
PLUGIN_VARIABLES = (b"${CLAUDE_PLUGIN_ROOT}", b"${CLAUDE_PLUGIN_DATA}")
PLUGIN_TOOL_PREFIX = b"mcp__plugin_"
SCANNED_BYTES = 1024 * 1024
# Plugin files and manifest keys whose meaning only a loaded plugin has.
PLUGIN_ONLY_PATHS = {
    ".lsp.json": "LSP servers",
    "bin/": "executables on the plugin's PATH (bin/)",
    "monitors/": "monitors",
    "output-styles/": "output styles",
}
PLUGIN_ONLY_KEYS = {
    "lspServers": "LSP servers",
    "userConfig": "userConfig",
    "outputStyles": "output styles",
    "monitors": "monitors",
    "hooks": "hooks declared outside hooks/",
}


def _manifest_keys(blob_hash: str | None, store: BlobStore) -> set[str]:
    """The keys of the version's plugin.json (read from its blob; none without one)."""
    if blob_hash is None or not store.has(blob_hash):
        return set()
    try:
        document = json.loads(store.read(blob_hash))
    except ValueError:
        return set()
    return set(document) if isinstance(document, dict) else set()


def claims_of_others(root: Path, plugin: Artifact, paths: Iterable[str]) -> dict[str, Any]:
    """The deployed items of other plugins at these paths (or server names) in the project."""
    items = (
        DeployedItem.objects.filter(deployment__project=str(root), path__in=list(paths))
        .exclude(deployment__plugin=plugin)
        .select_related("deployment__plugin")
    )
    return {item.path: item for item in items}


class ClaimedByAnotherPlugin(DeployRefused):
    code = "claimed_by_another_plugin"

    def __init__(self, clashes: list[tuple[str, str]]) -> None:
        self.paths = [path for path, _ in clashes]
        shown = ", ".join(f"{path} (plugin {owner!r})" for path, owner in clashes)
        super().__init__(
            f"already deployed by another plugin with different content: {shown} "
            "(use --force to overwrite)",
            path=self.paths[0],
            rule="claimed_by_another_plugin",
        )


def check_claims(root: Path, plan: DeploymentPlan, *, force: bool) -> set[str]:
    """Paths another plugin deployed with the same content are shared (returned: this
    deploy need not write them); different content is refused naming both plugins."""
    claims = claims_of_others(root, plan.plugin, (t.path for t in plan.targets))
    shared, clashes = set(), []
    for target in plan.targets:
        other = claims.get(target.path)
        if other is None:
            continue
        if other.deployed_hash == target.deployed_hash:
            shared.add(target.path)
        else:
            clashes.append((target.path, other.deployment.plugin.name))
    if clashes and not force:
        raise ClaimedByAnotherPlugin(clashes)
    return shared


def flat_warnings(plan: DeploymentPlan, store: BlobStore) -> list[str]:
    """What flat mode cannot carry, naming each file."""
    warnings = []
    for target in plan.targets:
        warnings.extend(_content_warnings(target, store))
    warnings.extend(_plugin_only_warnings(plan.version, store))
    return warnings


def _content_warnings(target: Target, store: BlobStore) -> list[str]:
    found = []
    for tree_file in target.files:
        if tree_file.size > SCANNED_BYTES or not store.has(tree_file.sha256):
            continue
        data = store.read(tree_file.sha256)
        where = f"{target.path}/{tree_file.path}" if len(target.files) > 1 else target.path
        for variable in PLUGIN_VARIABLES:
            if variable in data:
                found.append(
                    f"{where}: refers to {variable.decode()}, which only a loaded plugin has"
                )
        if PLUGIN_TOOL_PREFIX in data:
            found.append(f"{where}: names mcp__plugin_... tools, which flat mode renames")
    return found


def _plugin_only_warnings(version: Version, store: BlobStore) -> list[str]:
    found = []
    blobs = dict(version.files.values_list("path", "blob_hash"))
    for prefix, what in PLUGIN_ONLY_PATHS.items():
        hits = [p for p in blobs if p == prefix or (prefix.endswith("/") and p.startswith(prefix))]
        if hits:
            found.append(f"{hits[0]}: {what} are not carried by flat mode")
    manifest = _manifest_keys(blobs.get(MANIFEST), store)
    for key, what in PLUGIN_ONLY_KEYS.items():
        if key in manifest:
            found.append(f".claude-plugin/plugin.json#{key}: {what} are not carried by flat mode")
    return found


def flat_lock_entry(plan: DeploymentPlan) -> dict[str, Any]:
    """The lock file's record of a flat deploy: every file written, each child's paths, and
    the settings entries merged (hooks by event, MCP servers by name)."""
    files: dict[str, dict[str, str]] = {}
    children: dict[str, dict[str, Any]] = {}
    for target in plan.targets:
        paths = _target_files(target, files)
        if target.child_type != ArtifactType.PLUGIN:
            children[f"{target.child_type}:{target.child_name}"] = {
                "content_hash": target.version_hash,
                "paths": sorted(paths),
            }
    servers = {t.path: t.mcp_config for t in plan.targets if t.kind == ItemKind.MCP_ENTRY}
    return {
        "collection": plan.plugin.collection.name,
        "mode": "flat",
        "version_hash": plan.version.content_hash,
        "version_label": plan.version.version_label,
        "origin": version_origin(plan.version),
        "files": files,
        "children": children,
        "generated": [],
        "settings": {"hooks": plan.hooks, "mcpServers": servers},
    }


def _target_files(target: Target, files: dict[str, dict[str, str]]) -> list[str]:
    if target.kind == ItemKind.MCP_ENTRY:
        return []
    if target.kind == ItemKind.FILE:
        written = {target.path: target.files[0]}
    else:
        written = {f"{target.path}/{f.path}": f for f in target.files}
    for path, tree_file in written.items():
        files[path] = {"sha256": tree_file.sha256, "mode": f"{tree_file.mode:o}"}
    return list(written)


def server_states(root: Path, entry: dict[str, Any]) -> dict[str, str]:
    """Each MCP server a flat deploy merged into ``.mcp.json``: missing, modified or in_sync."""
    locked = entry.get("settings", {}).get("mcpServers", {})
    if not locked:
        return {}
    try:
        servers = read_project_settings(root, MCP_FILE).get("mcpServers", {})
    except ImportError_:
        servers = {}
    states = {}
    for name, config in locked.items():
        now = servers.get(name)
        if now is None:
            states[f"mcp:{normalize_name(name)}"] = "missing"
        else:
            same = hash_mcp_config(now) == hash_mcp_config(config)
            states[f"mcp:{normalize_name(name)}"] = "in_sync" if same else "modified"
    return states
