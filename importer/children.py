"""Where a plugin's children are (DESIGN section 2, Claude Code's merge rules): commands and
agents in their default folders unless declared paths replace them; skills in ``skills/``
plus declared paths (a skill folder or a folder of them); a single-skill plugin's root;
the hook folder; MCP servers from ``.mcp.json``, declared files and inline maps."""

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from artifacts.models import ArtifactType, normalize_name
from importer.errors import Rule, ValidationFailed, display_path
from importer.hashing import canonical_json
from importer.names import check_child_name
from importer.sources import MANIFEST_FILE, read_json_file

if TYPE_CHECKING:
    from importer.layout import PluginLayout

MCP_FILE = ".mcp.json"
HOOKS_FILE = "hooks/hooks.json"
SKILL_FILE = "SKILL.md"
DEFAULT_SKILLS = "skills"
# A single-skill plugin's root skill holds every file of no other child but these.
NEVER_IN_ROOT_SKILL = (".claude-plugin/", MCP_FILE)


@dataclass(frozen=True)
class ChildSpec:
    """A child found in the plugin: where it is and which of the plugin's files are its own."""

    type: str
    name: str
    location: str  # its file or folder in the plugin ("" for the root); "<file>#<server>" for MCP
    members: tuple[str, ...] = ()
    mcp_config: Any = None


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

    def subfolders(self, prefix: str) -> list[str]:
        """The folders directly below ``prefix`` that hold files."""
        start = len(prefix) + 1 if prefix else 0
        below = {p[start:].split("/", 1)[0] for p in self.under(prefix) if "/" in p[start:]}
        return [f"{prefix}/{name}" if prefix else name for name in sorted(below)]


def find_children(layout: "PluginLayout", paths: PathIndex) -> list[ChildSpec]:
    children = [
        *_file_children(ArtifactType.COMMAND, _file_roots("commands", layout), paths, layout),
        *_file_children(ArtifactType.AGENT, _file_roots("agents", layout), paths, layout),
        *_skill_children(_skill_roots(layout, paths), paths, layout),
        *_hook_children(paths, layout),
        *_mcp_children(paths, layout),
    ]
    return _with_root_skill_members(children, paths)


def _child_where(layout: "PluginLayout", location: str) -> str:
    return display_path(f"{layout.source.label}/{location}" if location else layout.source.label)


def _file_roots(key: str, layout: "PluginLayout") -> list[str]:
    """Declared command or agent paths replace the default folder."""
    declarations = layout.declarations
    return declarations.paths.get(key, []) if declarations.declares(key) else [key]


def _file_children(
    artifact_type: str, roots: list[str], paths: PathIndex, layout: "PluginLayout"
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


def _skill_roots(layout: "PluginLayout", paths: PathIndex) -> list[tuple[str, bool]]:
    """(path, is the default folder). ``skills/`` is always scanned and declared paths add to
    it, except for a marketplace-root ``strict: false`` entry, whose list is complete. A root
    ``SKILL.md`` with no ``skills/`` folder and no ``skills`` key is a single-skill plugin."""
    declarations = layout.declarations
    declared = declarations.paths.get("skills", [])
    if layout.source.scope is not None:
        return [(path, False) for path in declared]
    roots = [(DEFAULT_SKILLS, True), *((p, False) for p in declared if p != DEFAULT_SKILLS)]
    single = SKILL_FILE in paths and not paths.under(DEFAULT_SKILLS)
    if single and not declarations.declares("skills"):
        roots.append(("", False))
    return roots


def _skill_children(
    roots: list[tuple[str, bool]], paths: PathIndex, layout: "PluginLayout"
) -> list[ChildSpec]:
    directories: dict[str, None] = {}
    for root, is_default in roots:
        prefix = f"{root}/" if root else ""
        if not is_default and f"{prefix}{SKILL_FILE}" in paths:
            directories[root] = None
            continue
        for folder in paths.subfolders(root):
            if f"{folder}/{SKILL_FILE}" in paths:
                directories[folder] = None
            elif root:  # the plugin root's other folders are no skill folders
                layout.warnings.append(
                    f"{folder}/ has no {SKILL_FILE}: its files are kept as plugin files"
                )
    found = []
    for directory in directories:
        name = PurePosixPath(directory).name or layout.name
        check_child_name(name, artifact_type="skill", where=_child_where(layout, directory))
        members = tuple(paths.under(directory)) if directory else ()
        found.append(ChildSpec(ArtifactType.SKILL, name, directory, members))
    return found


def _with_root_skill_members(children: list[ChildSpec], paths: PathIndex) -> list[ChildSpec]:
    """A single-skill plugin's skill holds every file no other child holds, except the
    manifest folder and ``.mcp.json`` (the plugin's own)."""
    owned = {member for child in children for member in child.members}
    result = []
    for child in children:
        if child.type == ArtifactType.SKILL and child.location == "":
            members = tuple(
                path
                for path in paths.ordered
                if path not in owned and not path.startswith(NEVER_IN_ROOT_SKILL)
            )
            child = ChildSpec(child.type, child.name, "", members)
        result.append(child)
    return result


def _hook_children(paths: PathIndex, layout: "PluginLayout") -> list[ChildSpec]:
    if HOOKS_FILE not in paths:
        return []
    members = tuple(paths.under("hooks"))
    return [ChildSpec(ArtifactType.HOOK, layout.name, "hooks", members)]


def _mcp_children(paths: PathIndex, layout: "PluginLayout") -> list[ChildSpec]:
    label = layout.source.label
    declarations = layout.declarations
    servers: list[tuple[str, Any, str]] = []
    files = [MCP_FILE] if MCP_FILE in paths else []
    for relative in declarations.paths.get("mcpServers", []):
        if relative in paths:
            files.append(relative)
        else:
            layout.warnings.append(f"declared mcpServers file {relative} does not exist")
    for relative in dict.fromkeys(files):
        where = display_path(f"{label}/{relative}")
        document = read_json_file(paths[relative][0], where)
        servers.extend(_mcp_servers(document, where, layout))
        layout.mcp_files.append(relative)
    for inline, where in declarations.inline.get("mcpServers", []):
        layout.mcp_files.append(MANIFEST_FILE)
        servers.extend(_mcp_servers(inline, display_path(where), layout))
    return _merge_servers(servers, layout)


def _mcp_servers(document: Any, where: str, layout: "PluginLayout") -> list[tuple[str, Any, str]]:
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


def _merge_servers(servers: list[tuple[str, Any, str]], layout: "PluginLayout") -> list[ChildSpec]:
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
