"""Where a plugin's pieces go in a Claude Code project, and how to hash what is there now.

A deployment writes each child at its pinned version to the standard location, the plugin's
meta-files and hooks folder under ``.claude/plugins/<name>/``, and MCP servers as entries of
the project's ``.mcp.json``; ``${CLAUDE_PLUGIN_ROOT}`` becomes ``.claude/plugins/<name>``.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from artifacts.models import (
    TYPE_PLURALS,
    Artifact,
    ArtifactAssociation,
    ArtifactType,
    Version,
    VersionFile,
)
from deploy.models import ItemKind
from deploy.safety import CLAUDE_DIR, read_project_settings
from importer.errors import ImportError_
from importer.hashing import TreeFile, hash_file, hash_mcp_config, scan_tree, tree_hash

PLUGIN_ROOT_VARIABLE = "${CLAUDE_PLUGIN_ROOT}"
MCP_FILE = ".mcp.json"
SETTINGS_FILE = ".claude/settings.json"
UNREADABLE = "unreadable"


def plugin_root(plugin_name: str) -> str:
    return f"{CLAUDE_DIR}/{TYPE_PLURALS[ArtifactType.PLUGIN]}/{plugin_name}"


# Anchored on the project, so a hook or server runs from any working directory; the
# replacement is textual, so the plugin's own quoting around the variable still holds.
HOOK_ROOT = "${{CLAUDE_PROJECT_DIR}}/{folder}"
MCP_ROOT = "${{CLAUDE_PROJECT_DIR:-.}}/{folder}"


def resolve_plugin_root(value: Any, plugin_name: str, template: str = HOOK_ROOT) -> Any:
    """Every ``${CLAUDE_PLUGIN_ROOT}`` in a JSON value, replaced by the plugin's folder
    anchored on ``${CLAUDE_PROJECT_DIR}`` (``template`` says how)."""
    if isinstance(value, str):
        root = template.format(folder=plugin_root(plugin_name))
        return value.replace(PLUGIN_ROOT_VARIABLE, root)
    if isinstance(value, Mapping):
        return {k: resolve_plugin_root(v, plugin_name, template) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_plugin_root(v, plugin_name, template) for v in value]
    return value


@dataclass(frozen=True)
class Target:
    """One thing a deployment writes: a file, a folder, or an .mcp.json entry."""

    child_type: str
    child_name: str
    child: Artifact | None
    version_hash: str
    path: str  # relative to the project; the server name for an MCP entry
    kind: str
    files: tuple[TreeFile, ...] = ()
    mcp_config: Any = None

    @property
    def deployed_hash(self) -> str:
        if self.kind == ItemKind.MCP_ENTRY:
            return hash_mcp_config(self.mcp_config)
        if self.kind == ItemKind.FILE:
            return self.files[0].sha256
        return tree_hash(self.files)


@dataclass
class DeploymentPlan:
    plugin: Artifact
    version: Version
    targets: list[Target] = field(default_factory=list)
    hooks: dict[str, list[Any]] = field(default_factory=dict)


def _tree_files(files: Iterable[VersionFile], prefix: str = "") -> tuple[TreeFile, ...]:
    return tuple(TreeFile(f"{prefix}{f.path}", f.mode, f.size, f.blob_hash) for f in files)


def plan_deployment(plugin: Artifact, version: Version, hooks_json: bytes | None) -> DeploymentPlan:
    """Every target of a plugin version, children at their pinned versions."""
    plan = DeploymentPlan(plugin=plugin, version=version)
    associations = (
        ArtifactAssociation.objects.filter(parent_version=version)
        .select_related("child", "child_version")
        .prefetch_related("child_version__files")
        .order_by("position")
    )
    hook_files: tuple[TreeFile, ...] = ()
    for association in associations:
        child, pinned = association.child, association.child_version
        files = _tree_files(pinned.files.all())
        target = _child_target(plugin.name, child, pinned, files)
        if child.type == ArtifactType.HOOK:
            hook_files = _tree_files(pinned.files.all(), "hooks/")
        plan.targets.append(target)
    meta = _tree_files(VersionFile.objects.filter(version=version, is_meta=True))
    plan.targets.append(
        Target(
            child_type=ArtifactType.PLUGIN,
            child_name=plugin.name,
            child=plugin,
            version_hash=version.content_hash,
            path=plugin_root(plugin.name),
            kind=ItemKind.FOLDER,
            files=meta + hook_files,
        )
    )
    plan.hooks = _hook_groups(hooks_json, plugin.name)
    return plan


def _child_target(
    plugin_name: str, child: Artifact, pinned: Version, files: tuple[TreeFile, ...]
) -> Target:
    common = {
        "child_type": child.type,
        "child_name": child.name,
        "child": child,
        "version_hash": pinned.content_hash,
    }
    if child.type == ArtifactType.MCP:
        config = resolve_plugin_root(
            (pinned.metadata or {}).get("configuration"), plugin_name, MCP_ROOT
        )
        return Target(**common, path=child.name, kind=ItemKind.MCP_ENTRY, mcp_config=config)
    if child.type == ArtifactType.SKILL:
        return Target(
            **common,
            path=f"{CLAUDE_DIR}/{TYPE_PLURALS[child.type]}/{child.name}",
            kind=ItemKind.FOLDER,
            files=files,
        )
    if child.type == ArtifactType.HOOK:
        return Target(
            **common, path=f"{plugin_root(plugin_name)}/hooks", kind=ItemKind.FOLDER, files=files
        )
    folder = TYPE_PLURALS[child.type]
    (only,) = files
    renamed = (TreeFile(PurePosixPath(child.name).name + ".md", only.mode, only.size, only.sha256),)
    return Target(
        **common, path=f"{CLAUDE_DIR}/{folder}/{child.name}.md", kind=ItemKind.FILE, files=renamed
    )


def _hook_groups(hooks_json: bytes | None, plugin_name: str) -> dict[str, list[Any]]:
    """The plugin's hook groups by event, as they go into .claude/settings.json."""
    if not hooks_json:
        return {}
    try:
        document = json.loads(hooks_json)
    except ValueError:
        return {}
    hooks = document.get("hooks") if isinstance(document, Mapping) else None
    if not isinstance(hooks, Mapping):
        return {}
    return {
        event: resolve_plugin_root(groups, plugin_name)
        for event, groups in hooks.items()
        if isinstance(groups, list)
    }


def current_hash(project: Path, kind: str, path: str) -> str | None:
    """The hash of what the project holds at ``path`` now (None when nothing is there)."""
    if kind == ItemKind.MCP_ENTRY:
        try:
            servers = read_project_settings(project, MCP_FILE).get("mcpServers", {})
        except ImportError_:
            return UNREADABLE
        entry = servers.get(path)
        return None if entry is None else hash_mcp_config(entry)
    location = project / path
    if not location.exists() and not location.is_symlink():
        return None
    try:
        if kind == ItemKind.FILE:
            return hash_file(location)[0]
        return tree_hash(scan_tree(location))
    except (ImportError_, OSError):
        return UNREADABLE
