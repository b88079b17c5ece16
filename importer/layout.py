"""A plugin's layout (DESIGN section 2): its manifest, name and children, found from its
files, and then the plan of what to store: every file hashed once, each child's content hash,
the plugin's own hash and its meta-files."""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from artifacts.models import ArtifactType, normalize_name
from artifacts.names import MAX_NAME_CHARACTERS
from importer.children import HOOKS_FILE, ChildSpec, PathIndex, find_children
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
    resolve_file_link,
    tree_hash,
    walk_tree,
)
from importer.manifest import Declarations, check_manifest_types, declared_components
from importer.names import check_name
from importer.sources import MANIFEST_FILE, PluginSource, read_json_file
from importer.storage import StagingArea

Entry = tuple[str, Path, os.stat_result]
DIRECTORY_TYPES = frozenset({ArtifactType.SKILL, ArtifactType.HOOK})


@dataclass
class PluginLayout:
    source: PluginSource
    name: str
    manifest: dict[str, Any]
    entries: list[Entry]
    children: list[ChildSpec]
    warnings: list[str] = field(default_factory=list)
    mcp_files: list[str] = field(default_factory=list)  # files that declare MCP servers
    declarations: Declarations = field(default_factory=Declarations)


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
    def invocation_name(self) -> str:
        """A skill's frontmatter ``name``: how Claude Code invokes it (``/<plugin>:<name>``)."""
        declared = self.metadata.get("name")
        if self.type != ArtifactType.SKILL or not isinstance(declared, str):
            return ""
        return declared.strip()[:MAX_NAME_CHARACTERS]

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

    def views(self) -> list[tuple[str, list[TreeFile]]]:
        """What each artifact's view shows, in the order of the import's candidates: the
        children, then the plugin (its meta-files)."""
        meta = [f for f in self.files if f.path in self.meta_paths]
        children = [(child.type, child.files) for child in self.children]
        return [*children, (ArtifactType.PLUGIN, meta)]


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
    warnings: list[str] = []
    entries = _collect_entries(source, limits, warnings)
    paths = PathIndex({relative: entry for relative, *entry in entries})
    manifest, declarations = read_manifest(source, paths)
    name = _plugin_name(source, manifest)
    layout = PluginLayout(source, name, manifest, entries, [], warnings, declarations=declarations)
    layout.children = find_children(layout, paths)
    if not layout.children:
        if not manifest and source.entry_name is None:
            raise ValidationFailed(
                f"no {MANIFEST_FILE} and no commands, agents, skills, hooks or MCP servers",
                path=display_path(source.label),
                rule=Rule.NOT_A_PLUGIN,
            )
        layout.warnings.append(
            "no commands, agents, skills, hooks or MCP servers: every file is kept as a plugin file"
        )
    return layout


def _collect_entries(source: PluginSource, limits: Limits, warnings: list[str]) -> list[Entry]:
    if source.scope is None:
        return list(walk_tree(source.root, label=source.label, limits=limits, warnings=warnings))
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
            walked = walk_tree(
                path, label=where, limits=limits, boundary=source.root, warnings=warnings
            )
            for sub, sub_path, sub_st in walked:
                entries[f"{relative}/{sub}"] = (f"{relative}/{sub}", sub_path, sub_st)
        elif path.is_file() and not path.is_symlink():
            entries[relative] = (relative, path, st)
        elif path.is_symlink():  # a listed file link: a copy of a file inside, as anywhere
            inside = Path(os.path.realpath(source.root))
            target, target_st = resolve_file_link(path, inside, where)
            warnings.append(f"{display_path(relative)}: a link, imported as a copy")
            entries[relative] = (relative, target, target_st)
        else:
            refuse_special(st.st_mode, where)
    if limits.max_files is not None and len(entries) > limits.max_files:
        raise LimitExceeded(
            f"more than the limit of {limits.max_files} files",
            path=display_path(source.label),
            rule=Rule.TOO_MANY_FILES,
        )
    return list(entries.values())


def read_manifest(source: PluginSource, paths: PathIndex) -> tuple[dict[str, Any], Declarations]:
    """plugin.json (checked key by key) merged with what the marketplace entry says, and the
    component declarations of both."""
    where = display_path(f"{source.label}/{MANIFEST_FILE}")
    document: dict[str, Any] = {}
    if MANIFEST_FILE in paths:
        document = _plugin_json(paths[MANIFEST_FILE][0], where)
    declarations = Declarations()
    if source.entry_manifest is not None:
        declared = declared_components(document)
        if declared:
            raise ValidationFailed(
                "the marketplace entry is strict: false (it is the manifest), so plugin.json "
                f"may not declare components too ({', '.join(declared)})",
                path=where,
                rule=Rule.BAD_MANIFEST,
            )
        declarations.add(source.entry_manifest, source.entry_where)
        return {**document, **source.entry_manifest}, declarations
    declarations.add(document, where)
    if source.entry_components:
        declarations.add(source.entry_components, source.entry_where)
    return document, declarations


def _plugin_json(path: Path, where: str) -> dict[str, Any]:
    document = read_json_file(path, where)
    if not isinstance(document, dict):
        raise ValidationFailed(
            "plugin.json must be a JSON object", path=where, rule=Rule.BAD_MANIFEST
        )
    if not isinstance(document.get("name"), str) or not document["name"].strip():
        raise ValidationFailed(
            "plugin.json has no non-empty string 'name'", path=where, rule=Rule.BAD_MANIFEST
        )
    check_manifest_types(document, where)
    return document


def _plugin_name(source: PluginSource, manifest: Mapping[str, Any]) -> str:
    where = display_path(source.label)
    if source.entry_manifest is not None or "name" not in manifest:
        name = source.display_name
    else:
        name = manifest["name"]
        where = display_path(f"{source.label}/{MANIFEST_FILE}")
    return check_name(name, kind="plugin", where=where)


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
            return staging.read(by_path[relative].sha256)
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
        start = len(spec.location) + 1 if spec.location else 0
        files = [_relocated(by_path[m], m[start:]) for m in spec.members]
        plan = ChildPlan(spec.type, spec.name, spec.location, tree_hash(files), files)
        if spec.type == ArtifactType.SKILL:
            skill_file = str(PurePosixPath(spec.location, "SKILL.md"))
            _describe(plan, read(skill_file), skill_file, warnings)
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
