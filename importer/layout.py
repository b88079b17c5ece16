"""A plugin's layout (DESIGN section 2): its manifest, name and children, found from its
files, and then the plan of what to store: every file hashed once, each child's content hash,
the plugin's own hash and its meta-files."""

import bisect
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from artifacts.models import ArtifactType, normalize_name
from importer.errors import LimitExceeded, Rule, ValidationFailed, display_path
from importer.frontmatter import read_frontmatter
from importer.hashing import (
    MODE_REGULAR,
    Limits,
    TreeFile,
    canonical_json,
    hash_bytes,
    hash_entries,
    refuse_special,
    tree_hash,
    walk_tree,
)
from importer.names import check_child_name, check_name
from importer.sources import (
    MANIFEST_FILE,
    PluginSource,
    component_paths,
    read_json_file,
)
from importer.storage import StagingArea

Entry = tuple[str, Path, os.stat_result]
DIRECTORY_TYPES = frozenset({ArtifactType.SKILL, ArtifactType.HOOK})
MCP_FILE = ".mcp.json"
HOOKS_FILE = "hooks/hooks.json"


@dataclass(frozen=True)
class ChildSpec:
    """A child found in the plugin: where it is and which of the plugin's files are its own."""

    type: str
    name: str
    location: str  # its file or folder in the plugin; "<json file>#<server>" for MCP
    members: tuple[str, ...] = ()
    mcp_config: Any = None


@dataclass
class PluginLayout:
    source: PluginSource
    name: str
    manifest: dict[str, Any]
    entries: list[Entry]
    children: list[ChildSpec]
    warnings: list[str] = field(default_factory=list)
    mcp_files: list[str] = field(default_factory=list)  # files that declare MCP servers


@dataclass
class ChildPlan:
    type: str
    name: str
    location: str
    content_hash: str
    files: list[TreeFile]
    metadata: dict[str, Any] = field(default_factory=dict)
    version_label: str = ""

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def identity(self) -> tuple[str, str]:
        return (self.type, normalize_name(self.name))


@dataclass
class PluginPlan:
    """Everything the import writes for one plugin, computed before any write."""

    source: PluginSource
    name: str
    manifest: dict[str, Any]
    content_hash: str
    files: list[TreeFile]
    meta_paths: frozenset[str]
    children: list[ChildPlan]
    warnings: list[str]
    mcp_files: tuple[str, ...] = ()

    @property
    def version_label(self) -> str:
        version = self.manifest.get("version")
        return version if isinstance(version, str) else ""

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def blob_digests(self) -> set[str]:
        digests = {f.sha256 for f in self.files}
        digests.update(f.sha256 for child in self.children for f in child.files)
        return digests


class PathIndex(dict[str, Any]):
    """A plugin's files by relative path; the files below a folder are found by bisection
    (a plugin of thousands of skills must not rescan every path for each of them)."""

    def __init__(self, files: Mapping[str, Any]) -> None:
        super().__init__(files)
        self.ordered = sorted(self)

    def under(self, prefix: str) -> list[str]:
        if not prefix:
            return list(self.ordered)
        # Every "<prefix>/..." sorts between "<prefix>/" and "<prefix>0" ("0" follows "/").
        low = bisect.bisect_left(self.ordered, f"{prefix}/")
        high = bisect.bisect_left(self.ordered, f"{prefix}0")
        return self.ordered[low:high]


def _child_where(layout: PluginLayout, location: str) -> str:
    return display_path(f"{layout.source.label}/{location}")


# --- detection ---------------------------------------------------------------------------


def detect_layout(source: PluginSource, limits: Limits) -> PluginLayout:
    """Find the manifest and the children of a plugin, reading only its JSON manifests."""
    root = source.root
    if root.is_symlink():
        refuse_special(root.lstat().st_mode, display_path(source.label))
    if not root.is_dir():
        raise ValidationFailed(
            "plugin folder does not exist or is not a directory",
            path=display_path(source.label),
            rule=Rule.NOT_FOUND,
        )
    entries = _collect_entries(source, limits)
    paths = PathIndex({relative: entry for relative, *entry in entries})
    manifest = _read_manifest(source, paths)
    name = _plugin_name(source, manifest)
    layout = PluginLayout(source, name, manifest, entries, [])
    layout.children = _find_children(layout, paths)
    if not manifest and not layout.children:
        raise ValidationFailed(
            f"no {MANIFEST_FILE} and no commands, agents, skills, hooks or MCP servers",
            path=display_path(source.label),
            rule=Rule.NOT_A_PLUGIN,
        )
    return layout


def _collect_entries(source: PluginSource, limits: Limits) -> list[Entry]:
    if source.scope is None:
        return list(walk_tree(source.root, label=source.label, limits=limits))
    entries: dict[str, Entry] = {}
    for relative in source.scope:
        path = source.root / relative
        where = f"{source.label}/{relative}"
        if not path.exists() and not path.is_symlink():
            raise ValidationFailed(
                "listed component does not exist", path=display_path(where), rule=Rule.NOT_FOUND
            )
        st = path.lstat()
        if path.is_dir() and not path.is_symlink():
            for sub, sub_path, sub_st in walk_tree(path, label=where, limits=limits):
                entries[f"{relative}/{sub}"] = (f"{relative}/{sub}", sub_path, sub_st)
        elif path.is_file() and not path.is_symlink():
            entries[relative] = (relative, path, st)
        else:
            refuse_special(st.st_mode, where)
    if limits.max_files is not None and len(entries) > limits.max_files:
        raise LimitExceeded(
            f"more than the limit of {limits.max_files} files",
            path=display_path(source.label),
            rule=Rule.TOO_MANY_FILES,
        )
    return list(entries.values())


def _read_manifest(source: PluginSource, paths: PathIndex) -> dict[str, Any]:
    manifest: dict[str, Any] = {}
    if MANIFEST_FILE in paths:
        where = display_path(f"{source.label}/{MANIFEST_FILE}")
        document = read_json_file(source.root / MANIFEST_FILE, where)
        if not isinstance(document, dict):
            raise ValidationFailed(
                "plugin.json must be a JSON object", path=where, rule=Rule.BAD_MANIFEST
            )
        if not isinstance(document.get("name"), str) or not document["name"].strip():
            raise ValidationFailed(
                "plugin.json has no non-empty string 'name'", path=where, rule=Rule.BAD_MANIFEST
            )
        manifest = document
    if source.entry_manifest is not None:
        manifest = {**manifest, **source.entry_manifest}
    return manifest


def _plugin_name(source: PluginSource, manifest: Mapping[str, Any]) -> str:
    where = display_path(source.label)
    if source.entry_manifest is not None or "name" not in manifest:
        name = source.display_name
    else:
        name = manifest["name"]
        where = display_path(f"{source.label}/{MANIFEST_FILE}")
    return check_name(name, kind="plugin", where=where)


def _find_children(layout: PluginLayout, paths: PathIndex) -> list[ChildSpec]:
    manifest = layout.manifest
    where = display_path(f"{layout.source.label}/{MANIFEST_FILE}")
    roots = {
        key: component_paths(manifest[key], key=key, where=where) if key in manifest else [key]
        for key in ("commands", "agents", "skills")
    }
    # Declared hook files stay meta-files; they are still checked for escaping paths.
    component_paths(manifest.get("hooks"), key="hooks", where=where)
    children = [
        *_file_children(ArtifactType.COMMAND, roots["commands"], paths, layout),
        *_file_children(ArtifactType.AGENT, roots["agents"], paths, layout),
        *_skill_children(roots["skills"], paths, layout),
        *_hook_children(paths, layout),
        *_mcp_children(paths, layout),
    ]
    return children


def _file_children(
    artifact_type: str, roots: list[str], paths: PathIndex, layout: PluginLayout
) -> list[ChildSpec]:
    found: list[ChildSpec] = []
    for root in roots:
        if root in paths:
            candidates = [(root, PurePosixPath(root).name)] if root.endswith(".md") else []
        else:
            start = len(root) + 1 if root else 0
            candidates = [(p, p[start:]) for p in paths.under(root) if p.endswith(".md")]
        for location, relative in candidates:
            name = relative[: -len(".md")]
            if not name or name.endswith("/"):
                continue
            check_child_name(
                name, artifact_type=artifact_type, where=_child_where(layout, location)
            )
            found.append(ChildSpec(artifact_type, name, location, (location,)))
    return found


def _skill_children(roots: list[str], paths: PathIndex, layout: PluginLayout) -> list[ChildSpec]:
    found: list[ChildSpec] = []
    for root in roots:
        prefix = f"{root}/" if root else ""
        if f"{prefix}SKILL.md" in paths:
            skill_dirs = [root]
        else:
            below = {
                p[len(prefix) :].split("/", 1)[0]
                for p in paths.under(root)
                if "/" in p[len(prefix) :]
            }
            skill_dirs = [f"{prefix}{d}" for d in sorted(below)]
            for directory in skill_dirs:
                if f"{directory}/SKILL.md" not in paths:
                    layout.warnings.append(
                        f"{directory}/ has no SKILL.md: its files are kept as plugin files"
                    )
            skill_dirs = [d for d in skill_dirs if f"{d}/SKILL.md" in paths]
        for directory in skill_dirs:
            name = PurePosixPath(directory).name or layout.name
            check_child_name(name, artifact_type="skill", where=_child_where(layout, directory))
            members = tuple(paths.under(directory))
            found.append(ChildSpec(ArtifactType.SKILL, name, directory, members))
    return found


def _hook_children(paths: PathIndex, layout: PluginLayout) -> list[ChildSpec]:
    if HOOKS_FILE not in paths:
        return []
    members = tuple(paths.under("hooks"))
    return [ChildSpec(ArtifactType.HOOK, layout.name, "hooks", members)]


def _mcp_children(paths: PathIndex, layout: PluginLayout) -> list[ChildSpec]:
    label = layout.source.label
    servers: list[tuple[str, Any, str]] = []
    declared = layout.manifest.get("mcpServers")
    files = [MCP_FILE] if MCP_FILE in paths else []
    manifest_where = display_path(f"{label}/{MANIFEST_FILE}")
    for relative in component_paths(declared, key="mcpServers", where=manifest_where):
        if relative in paths:
            files.append(relative)
        else:
            layout.warnings.append(f"declared mcpServers file {relative} does not exist")
    for relative in dict.fromkeys(files):
        where = display_path(f"{label}/{relative}")
        document = read_json_file(layout.source.root / relative, where)
        servers.extend(_mcp_servers(document, where, layout))
        layout.mcp_files.append(relative)
    if isinstance(declared, Mapping):
        layout.mcp_files.append(MANIFEST_FILE)
        servers.extend(_mcp_servers(declared, f"{manifest_where}#mcpServers", layout))
    return _merge_servers(servers, layout)


def _mcp_servers(document: Any, where: str, layout: PluginLayout) -> list[tuple[str, Any, str]]:
    if document is None or document == {}:
        layout.warnings.append(f"{where} declares no MCP servers")
        return []
    if not isinstance(document, Mapping):
        raise ValidationFailed("MCP servers must be a JSON object", path=where, rule=Rule.BAD_JSON)
    wrapped = document.get("mcpServers")
    servers = wrapped if isinstance(wrapped, Mapping) else document
    found = []
    for name, config in servers.items():
        server_where = f"{where}#{name}"
        check_child_name(name, artifact_type="mcp", where=server_where)
        if not isinstance(config, Mapping):
            raise ValidationFailed(
                f"MCP server {name!r} configuration must be a JSON object",
                path=server_where,
                rule=Rule.BAD_JSON,
            )
        found.append((name, config, server_where))
    return found


def _merge_servers(servers: list[tuple[str, Any, str]], layout: PluginLayout) -> list[ChildSpec]:
    merged: dict[str, ChildSpec] = {}
    for name, config, where in servers:
        key = normalize_name(name)
        earlier = merged.get(key)
        if earlier is None:
            merged[key] = ChildSpec(ArtifactType.MCP, name, where, (), config)
        elif canonical_json(earlier.mcp_config) == canonical_json(config):
            layout.warnings.append(
                f"MCP server {name!r} is declared twice with the same configuration "
                f"({earlier.location} and {where}): imported once"
            )
        else:
            raise ValidationFailed(
                f"MCP server {name!r} is declared twice with different configurations "
                f"(also at {earlier.location})",
                path=where,
                rule=Rule.DUPLICATE_CHILD,
            )
    return list(merged.values())


# --- hashing -----------------------------------------------------------------------------


def plan_plugin(layout: PluginLayout, limits: Limits, staging: StagingArea | None) -> PluginPlan:
    """Hash every file once (staging its bytes unless this is a dry run) and the children."""
    source = layout.source
    files = hash_entries(layout.entries, label=source.label, limits=limits, sink=staging)
    by_path = {f.path: f for f in files}
    read = _reader(source, by_path, staging)
    warnings = list(layout.warnings)
    children = [_plan_child(spec, by_path, staging, read, warnings) for spec in layout.children]
    children = _merge_duplicates(children, source, warnings)
    owned = {member for spec in layout.children for member in spec.members}
    _warn_about_hooks(by_path, read, warnings)
    return PluginPlan(
        source=source,
        name=layout.name,
        manifest=layout.manifest,
        content_hash=tree_hash(files),
        files=files,
        meta_paths=frozenset(set(by_path) - owned),
        children=children,
        warnings=warnings,
        mcp_files=tuple(layout.mcp_files),
    )


def _reader(
    source: PluginSource, by_path: Mapping[str, TreeFile], staging: StagingArea | None
) -> Callable[[str], bytes]:
    def read(relative: str) -> bytes:
        if staging is not None:
            return staging.blobs[by_path[relative].sha256].read_bytes()
        return (source.root / relative).read_bytes()

    return read


def _plan_child(
    spec: ChildSpec,
    by_path: Mapping[str, TreeFile],
    staging: StagingArea | None,
    read: Callable[[str], bytes],
    warnings: list[str],
) -> ChildPlan:
    if spec.type == ArtifactType.MCP:
        data = canonical_json(spec.mcp_config)
        digest = staging.receive_bytes(data) if staging else hash_bytes(data)
        files = [TreeFile(f"{spec.name}.json", MODE_REGULAR, len(data), digest)]
        metadata = {"configuration": spec.mcp_config}  # strict JSON already
        return ChildPlan(spec.type, spec.name, spec.location, digest, files, metadata)
    if spec.type in DIRECTORY_TYPES:
        start = len(spec.location) + 1
        files = [_relocated(by_path[m], m[start:]) for m in spec.members]
        plan = ChildPlan(spec.type, spec.name, spec.location, tree_hash(files), files)
        if spec.type == ArtifactType.SKILL:
            _describe(
                plan, read(f"{spec.location}/SKILL.md"), f"{spec.location}/SKILL.md", warnings
            )
        return plan
    source_file = by_path[spec.location]
    files = [_relocated(source_file, PurePosixPath(spec.location).name)]
    plan = ChildPlan(spec.type, spec.name, spec.location, source_file.sha256, files)
    _describe(plan, read(spec.location), spec.location, warnings)
    return plan


def _relocated(tree_file: TreeFile, path: str) -> TreeFile:
    return TreeFile(path, tree_file.mode, tree_file.size, tree_file.sha256)


def _describe(plan: ChildPlan, data: bytes, location: str, warnings: list[str]) -> None:
    """Frontmatter fills in the description and version label; it never decides identity."""
    metadata = read_frontmatter(data, location, warnings)
    plan.metadata = metadata
    if isinstance(metadata.get("version"), str | int | float):
        plan.version_label = str(metadata["version"])
    declared = metadata.get("name")
    if plan.type == ArtifactType.SKILL and isinstance(declared, str) and declared != plan.name:
        warnings.append(
            f"{location}: frontmatter name {declared!r} differs from the folder name; "
            f"the skill is imported as {plan.name!r}"
        )


def _merge_duplicates(
    children: list[ChildPlan], source: PluginSource, warnings: list[str]
) -> list[ChildPlan]:
    """Two children of one type and name: one child when identical, else an error."""
    kept: dict[tuple[str, str], ChildPlan] = {}
    for child in children:
        earlier = kept.get(child.identity)
        if earlier is None:
            kept[child.identity] = child
        elif earlier.content_hash == child.content_hash:
            warnings.append(
                f"{child.type} {child.name!r} appears twice with the same content "
                f"({earlier.location} and {child.location}): imported once"
            )
        else:
            raise ValidationFailed(
                f"two {child.type} children named {child.name!r} with different content "
                f"(also at {earlier.location})",
                path=display_path(f"{source.label}/{child.location}"),
                rule=Rule.DUPLICATE_CHILD,
            )
    return list(kept.values())


def _warn_about_hooks(
    by_path: Mapping[str, TreeFile], read: Callable[[str], bytes], warnings: list[str]
) -> None:
    if HOOKS_FILE not in by_path:
        return
    data = read(HOOKS_FILE).strip()
    if data in (b"", b"[]", b"{}"):
        warnings.append(f"{HOOKS_FILE} declares no hooks")
