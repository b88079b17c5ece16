"""``update_project`` (DESIGN section 10): move every outdated plugin of a project (or the named
ones) to its collection's latest version, in the same mode. A plugin with files the user
modified is refused without ``force`` (its files listed); the others still move."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artifacts.models import ArtifactType, normalize_name
from blobstore import BlobStore
from deploy.lockfile import read_lock
from deploy.models import Deployment
from deploy.places import project_place
from deploy.plugin_mode import latest_pins
from deploy.services import plugin_deploy, project_key, status_document


@dataclass(frozen=True)
class PluginUpdate:
    name: str
    mode: str
    from_hash: str
    to_hash: str
    added: list[str]
    removed: list[str]
    changed: list[str]


@dataclass
class UpdateReport:
    project: str
    dry_run: bool
    updated: list[PluginUpdate] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)  # {"name", "modified"}
    unchanged: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refused


def project_update(
    *,
    project: Path,
    plugins: list[str] | None = None,
    dry_run: bool = False,
    force: bool = False,
    store: BlobStore | None = None,
) -> UpdateReport:
    root = Path(project_key(project))
    wanted = {normalize_name(name) for name in plugins or []}
    report = UpdateReport(project=str(root), dry_run=dry_run)
    for status in status_document(root)["plugins"]:
        if wanted and normalize_name(status["name"]) not in wanted:
            continue
        if status["state"] != "outdated":
            report.unchanged.append(status["name"])
            continue
        modified = _modified_paths(status)
        if modified and not force:
            report.refused.append({"name": status["name"], "modified": modified})
            continue
        update = _plan(status)
        if not dry_run:
            plugin_deploy(
                name=status["name"],
                project=root,
                collection=_collection(root, status),
                mode=status["mode"],
                force=force,
                store=store,
            )
        report.updated.append(update)
    return report


def _modified_paths(status: dict[str, Any]) -> list[str]:
    paths = [c["path"] for c in status["children"] if c["state"] == "modified"]
    paths += [m["path"] for m in status["meta_files"] if m["state"] == "modified"]
    return sorted(paths)


def _plan(status: dict[str, Any]) -> PluginUpdate:
    """From -> to, and the children added, removed and changed on the way."""
    deployed = {
        f"{c['type']}:{normalize_name(c['name'])}": (c["type"], c["name"], c["deployed_hash"])
        for c in status["children"]
        if c["type"] != ArtifactType.PLUGIN
    }
    pins = latest_pins(status["latest_version_hash"], status["name"])
    added = sorted(key for key in pins if key not in deployed)
    removed = sorted(f"{t}:{n}" for key, (t, n, _) in deployed.items() if key not in pins)
    changed = sorted(
        f"{t}:{n}" for key, (t, n, h) in deployed.items() if key in pins and pins[key] != h
    )
    return PluginUpdate(
        name=status["name"],
        mode=status["mode"],
        from_hash=status["version_hash"],
        to_hash=status["latest_version_hash"],
        added=added,
        removed=removed,
        changed=changed,
    )


def _collection(root: Path, status: dict[str, Any]) -> str:
    entry = read_lock(project_place(root)).get(status["name"])
    if entry is not None:
        return entry["collection"]
    deployment = Deployment.objects.select_related("plugin__collection").get(
        project=str(root), plugin__name_key=normalize_name(status["name"])
    )
    return deployment.plugin.collection.name
