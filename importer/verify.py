"""Verify and repair the storage root against the database (DESIGN section 6).

Verify checks that every blob a row needs exists and re-hashes to its name, that every
version's files rebuild to its content hash, that the type folders and ``plugins/<name>/``
equal the latest versions, and lists leftovers of interrupted imports and, for information only,
garbage: blobs that no version file refers to (deleted artifacts, rolled-back imports). Repair
rebuilds views, sets corrupted blobs aside (so presenting the same bytes again heals them), and
removes garbage and leftovers older than a grace period, under the import lock, so an import in
flight never loses a blob it wrote but has not committed yet. It never deletes a blob a row
needs.
"""

import shutil
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from artifacts.models import TYPE_PLURALS, Artifact, ArtifactType, Collection, VersionFile
from blobstore import BlobStore, Entry, blob_store
from importer.errors import ImportError_, display_path
from importer.hashing import TreeFile, hash_file, scan_tree, tree_hash
from importer.locking import import_lock
from importer.names import check_child_name, check_name
from importer.storage import ViewWriter, is_directory_view, view_path, views_enabled

SINGLE_FILE_TYPES = frozenset({ArtifactType.COMMAND, ArtifactType.AGENT, ArtifactType.MCP})


@dataclass(frozen=True)
class Problem:
    kind: str  # missing_blob, corrupt_blob, stray_object, version_mismatch, missing_view,
    #            stale_view, unexpected_view, bad_name, leftover; garbage (informational)
    path: str
    message: str
    versions: tuple[str, ...] = ()
    size: int = 0  # the bytes of a garbage blob


@dataclass
class VerifyReport:
    problems: list[Problem] = field(default_factory=list)
    entries: dict[str, Entry] = field(default_factory=dict, repr=False)  # by name, for repair
    garbage: list[Problem] = field(default_factory=list)  # informational: never makes it fail
    repaired: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)  # blobs, versions, views

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def garbage_bytes(self) -> int:
        return sum(p.size for p in self.garbage)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "problems": [asdict(p) for p in self.problems],
            "garbage": [asdict(p) for p in self.garbage],
            "repaired": self.repaired,
        }


@dataclass
class _Expected:
    """What the database says the storage root must hold."""

    blobs: dict[str, list[str]]  # digest -> the versions needing it ("type:name@hash12")
    views: dict[Path, tuple[str, str, tuple[TreeFile, ...]]]  # path -> (type, name, files)
    version_problems: list[Problem]
    version_count: int = 0


def collection_verify(
    *, collection: str | None = None, repair: bool = False, grace_seconds: int | None = None
) -> VerifyReport:
    store = blob_store()
    grace = settings.SKILLMEAT_REPAIR_GRACE_SECONDS if grace_seconds is None else grace_seconds
    if not repair:
        return _check(store, collection, grace)
    with import_lock(store.root):
        found = _check(store, collection, grace)
        repaired = _repair(store, found, collection, grace)
        after = _check(store, collection, grace)
    after.repaired = repaired
    return after


def _label(version_file: VersionFile) -> str:
    version = version_file.version
    return f"{version.artifact.type}:{version.artifact.name}@{version.content_hash[:12]}"


def _expected(collection: str | None) -> _Expected:
    blobs: dict[str, list[str]] = defaultdict(list)
    files_by_version: dict[Any, list[VersionFile]] = defaultdict(list)
    for version_file in VersionFile.objects.select_related("version__artifact__collection"):
        blobs[version_file.blob_hash].append(_label(version_file))
        files_by_version[version_file.version_id].append(version_file)
    views: dict[Path, tuple[str, str, tuple[TreeFile, ...]]] = {}
    problems = []
    for version_files in files_by_version.values():
        version = version_files[0].version
        problem = _version_problem(version, version_files)
        if problem:
            problems.append(problem)
    collections = (
        Collection.objects.filter(name=collection) if collection else Collection.objects.all()
    )
    base = blob_store().root / "collections"
    for artifact in Artifact.objects.filter(collection__in=collections).select_related(
        "collection"
    ):
        if artifact.latest_version_id is None:
            continue
        refused = _refused_name(artifact)
        if refused:
            # Its view would sit outside its folder or cannot exist: never touched.
            problems.append(refused)
            continue
        files = files_by_version.get(artifact.latest_version_id, [])
        if artifact.type == ArtifactType.PLUGIN:
            files = [f for f in files if f.is_meta]
        tree = tuple(TreeFile(f.path, f.mode, f.size, f.blob_hash) for f in files)
        views[view_path(base / artifact.collection.name, artifact.type, artifact.name)] = (
            artifact.type,
            artifact.name,
            tree,
        )
    return _Expected(
        blobs=dict(blobs),
        views=views,
        version_problems=problems,
        version_count=len(files_by_version),
    )


def _refused_name(artifact: Artifact) -> Problem | None:
    """A collection or artifact name that the name rule refuses (written before the rule)."""
    try:
        check_name(artifact.collection.name, kind="collection", where="collection")
        check_child_name(artifact.name, artifact_type=artifact.type, where=str(artifact.pk))
    except ImportError_ as error:
        return Problem(
            "bad_name",
            f"{artifact.type}:{display_path(artifact.name)[:80]}",
            f"{error.message}; its view is not checked or written",
        )
    return None


def _version_problem(version: Any, files: list[VersionFile]) -> Problem | None:
    tree = [TreeFile(f.path, f.mode, f.size, f.blob_hash) for f in files]
    if version.artifact.type in SINGLE_FILE_TYPES:
        rebuilt = tree[0].sha256 if len(tree) == 1 else ""
    else:
        rebuilt = tree_hash(tree)
    if rebuilt == version.content_hash:
        return None
    label = f"{version.artifact.type}:{version.artifact.name}@{version.content_hash[:12]}"
    return Problem(
        "version_mismatch", label, "its files do not rebuild to its content hash", (label,)
    )


def _check(store: BlobStore, collection: str | None, grace: int) -> VerifyReport:
    expected = _expected(collection)
    listing = list(store.entries())
    report = VerifyReport(entries={entry.name: entry for entry in listing})
    report.checked = {
        "blobs": len(expected.blobs),
        "versions": expected.version_count,
        "views": len(expected.views),
    }
    blobs = {entry.digest: entry for entry in listing if entry.digest is not None}
    report.problems.extend(_blob_problems(store, expected.blobs, blobs))
    report.problems.extend(_stray_objects(listing))
    report.problems.extend(expected.version_problems)
    if views_enabled():
        report.problems.extend(_view_problems(expected.views))
        report.problems.extend(_unexpected_views(store, expected.views, collection))
    report.garbage.extend(_garbage(expected.blobs, blobs))
    report.problems.extend(_leftovers(store, grace))
    return report


def _blob_problems(
    store: BlobStore, needed: dict[str, list[str]], present: dict[str, Entry]
) -> Iterable[Problem]:
    for digest, versions in sorted(needed.items()):
        entry = present.get(digest)
        if entry is None:
            yield Problem(
                "missing_blob",
                store.describe(digest),
                "a blob the database needs is missing",
                tuple(versions),
            )
            continue
        actual = store.rehash(digest)
        if actual != digest:
            yield Problem(
                "corrupt_blob", entry.name, f"its bytes hash to {actual}", tuple(versions)
            )


def _stray_objects(listing: list[Entry]) -> Iterable[Problem]:
    for entry in listing:
        if entry.digest is None:
            yield Problem("stray_object", entry.name, "not a blob: the store holds only blobs")


def _view_hash(path: Path, artifact_type: str) -> str | None:
    try:
        if not path.exists():
            return None
        if is_directory_view(artifact_type):
            return tree_hash(scan_tree(path)) if path.is_dir() else "not a folder"
        return hash_file(path)[0] if path.is_file() else "not a file"
    except (ImportError_, OSError):
        return "unreadable"


def _view_problems(views: dict[Path, tuple[str, str, tuple[TreeFile, ...]]]) -> Iterable[Problem]:
    for path, (artifact_type, name, files) in sorted(views.items()):
        wanted = tree_hash(files) if is_directory_view(artifact_type) else files[0].sha256
        actual = _view_hash(path, artifact_type)
        if actual is None:
            yield Problem(
                "missing_view", str(path), f"the view of {artifact_type} {name!r} is missing"
            )
        elif actual != wanted:
            yield Problem(
                "stale_view",
                str(path),
                f"the view of {artifact_type} {name!r} is not its latest version",
            )


def _unexpected_views(
    store: BlobStore, views: dict[Path, Any], collection: str | None
) -> Iterable[Problem]:
    base = store.root / "collections"
    if not base.is_dir():
        return
    known = set(views)
    for collection_dir in sorted(base.iterdir()):
        if collection and collection_dir.name != collection:
            continue
        for artifact_type, plural in TYPE_PLURALS.items():
            for entry in _view_entries(collection_dir / plural, artifact_type):
                if entry not in known:
                    yield Problem(
                        "unexpected_view", str(entry), "no artifact of the collection has this view"
                    )


def _view_entries(folder: Path, artifact_type: str) -> Iterable[Path]:
    if not folder.is_dir():
        return []
    if is_directory_view(artifact_type):
        return sorted(folder.iterdir())
    suffix = ".json" if artifact_type == ArtifactType.MCP else ".md"
    return sorted(p for p in folder.rglob(f"*{suffix}") if p.is_file())


def _garbage(needed: dict[str, list[str]], present: dict[str, Entry]) -> Iterable[Problem]:
    for digest, entry in sorted(present.items()):
        if digest not in needed:
            yield Problem("garbage", entry.name, "no version refers to it", size=entry.size)


def _leftovers(store: BlobStore, grace: int) -> Iterable[Problem]:
    if not store.tmp.is_dir():
        return
    cutoff = time.time() - grace
    for entry in sorted(store.tmp.iterdir()):
        if entry.stat().st_mtime <= cutoff:
            yield Problem("leftover", str(entry), "left in tmp/ by an interrupted import")


# --- repair -------------------------------------------------------------------------------


def _repair(store: BlobStore, found: VerifyReport, collection: str | None, grace: int) -> list[str]:
    repaired: list[str] = []
    problems = [*found.problems, *found.garbage]
    views_to_rebuild = {p.path for p in problems if p.kind in ("missing_view", "stale_view")}
    if views_to_rebuild:
        repaired.extend(_rebuild_views(store, views_to_rebuild, collection))
    cutoff = time.time() - grace
    for problem in problems:
        entry = found.entries.get(problem.path)
        if problem.kind == "garbage" and entry is not None and entry.modified > cutoff:
            continue  # too young: only garbage older than the grace period goes
        if entry is not None and problem.kind in ("corrupt_blob", "stray_object"):
            store.quarantine(entry)
        elif entry is not None and problem.kind == "garbage":
            store.delete_entry(entry)
        elif problem.kind in ("unexpected_view", "leftover"):
            _delete(Path(problem.path))
        else:
            continue
        repaired.append(f"{problem.kind}: {problem.path}")
    return repaired


def _rebuild_views(store: BlobStore, paths: set[str], collection: str | None) -> list[str]:
    """Rebuild the given views from the database and objects/ (when their blobs are there)."""
    groups: dict[str, list[tuple[Path, tuple[str, str, tuple[TreeFile, ...]]]]] = defaultdict(list)
    for path, view in _expected(collection).views.items():
        if str(path) in paths and all(store.has(f.sha256) for f in view[2]):
            groups[path.relative_to(store.root / "collections").parts[0]].append((path, view))
    rebuilt = []
    for name, views in groups.items():
        writer = ViewWriter(store, name)
        for _path, (artifact_type, artifact_name, files) in views:
            writer.stage(artifact_type, artifact_name, files)
        failed = writer.swap_all()
        rebuilt.extend(
            f"rebuilt view: {path}"
            for path, _ in views
            if not any(f.startswith(f"{path}:") for f in failed)
        )
    return rebuilt


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
