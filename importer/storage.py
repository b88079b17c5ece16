"""The local side of the storage root (DESIGN section 6): the staging area under ``tmp/``
where an import copies the bytes it hashes, and the type-folder views under ``collections/``.
The blobs themselves are in the blob store (``blobstore``), local or in a bucket."""

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from django.conf import settings

from artifacts.models import TYPE_PLURALS, ArtifactType
from blobstore import BlobStore
from blobstore.local import BLOB_MODE, NEW_FILE_FLAGS, LocalBlobStore, write_all
from importer.hashing import (
    Limits,
    TreeFile,
    check_file_size,
    hash_bytes,
    hash_stream,
    open_regular,
    read_head,
)


def storage_root() -> Path:
    return Path(settings.SKILLMEAT_HOME)


def views_enabled() -> bool:
    """``SKILLMEAT_VIEWS=false``: nothing is written under ``collections/``, not even by
    repair (the views are a local convenience; a team server shares a bucket instead)."""
    return bool(getattr(settings, "SKILLMEAT_VIEWS", True))


SMALL_FILE_BYTES = 1024 * 1024  # a file up to this size is staged in memory (budget allowing)
# A staged blob: its bytes in memory, or None for the read-only file named by its digest in
# the staging folder (the folder is known, so a plan crosses between processes without paths).
Staged = bytes | None
Held = Callable[[str], bytes | None]  # a blob's bytes when an import holds them in memory


class BlobSource(Protocol):
    """Where a view's bytes come from when they are not held in memory."""

    def copy_to(self, digest: str, target: Path) -> None: ...


class StagingArea:
    """Receives each file's bytes while it is hashed: small files in memory (up to
    ``SKILLMEAT_STAGING_MEMORY_BYTES`` per import), the others in a private folder under
    ``tmp/``, made on first need.

    Staged blobs are named by their digest, so the same bytes met twice are kept once; what
    is staged is what gets stored (and what the new views are written from). A staged file is
    read-only from the start and stays until the folder goes: the store links it in place.
    """

    def __init__(self, store: BlobStore, name: str, *, memory: int | None = None) -> None:
        self.store = store
        self.name = name
        self.memory_left = settings.SKILLMEAT_STAGING_MEMORY_BYTES if memory is None else memory
        self.blobs: dict[str, Staged] = {}
        self.spilled: set[str] = set()  # staged as files because the store lacked them
        self._path: Path | None = None

    def __getstate__(self) -> dict[str, Any]:
        """What a planning process hands over (the store is the receiver's own)."""
        return {**self.__dict__, "store": None}

    def attach(self, store: BlobStore) -> "StagingArea":
        self.store = store
        return self

    @property
    def path(self) -> Path:
        if self._path is None:
            self.store.tmp.mkdir(parents=True, exist_ok=True)
            self._path = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=self.store.tmp))
        return self._path

    def receive(self, path: Path, limits: Limits, label: str) -> tuple[str, int]:
        """Hash a file and keep its bytes; returns (digest, size)."""
        with open_regular(path, label) as source:
            return self.receive_stream(source, limits, label)

    def receive_stream(self, source: BinaryIO, limits: Limits, label: str) -> tuple[str, int]:
        budget = min(SMALL_FILE_BYTES, self.memory_left)
        head = read_head(source, budget + 1, label)
        if len(head) <= budget:
            check_file_size(len(head), limits.max_file_bytes, label)
            return self.receive_bytes(head), len(head)
        with self._incoming() as (handle, staged):
            digest, size = hash_stream(
                source, sink=handle, max_bytes=limits.max_file_bytes, label=label, head=head
            )
        self._keep(staged, digest)
        return digest, size

    def receive_bytes(self, data: bytes) -> str:
        digest = hash_bytes(data)
        if digest not in self.blobs:
            self.blobs[digest] = data
            self.memory_left -= len(data)
        return digest

    def read(self, digest: str) -> bytes:
        staged = self.blobs[digest]
        return staged if staged is not None else self.file(digest).read_bytes()

    def file(self, digest: str) -> Path:
        """Where a blob staged as a file is."""
        return self.path / digest

    def held(self, digest: str) -> bytes | None:
        """The staged bytes of a blob when they are in memory."""
        staged = self.blobs.get(digest)
        return staged if isinstance(staged, bytes) else None

    def copy_to(self, digest: str, target: Path) -> None:
        """A staged blob's bytes into a new file ``target``."""
        staged = self.blobs[digest]
        if staged is not None:
            target.write_bytes(staged)
        else:
            shutil.copyfile(self.file(digest), target)

    def spill_new(self) -> None:
        """Write the blobs held in memory that a local store lacks to read-only files here:
        putting them in place under the import lock is then one link each. The others stay in
        memory (the store is asked again under the lock)."""
        if not isinstance(self.store, LocalBlobStore):
            return
        held = [d for d, staged in self.blobs.items() if staged is not None]
        for digest in self.store.missing(held):
            write_new_file(self.file(digest), self.blobs[digest], BLOB_MODE)  # type: ignore[arg-type]
            self.blobs[digest] = None
            self.spilled.add(digest)

    @contextlib.contextmanager
    def _incoming(self) -> Iterator[tuple[BinaryIO, Path]]:
        fd, name = tempfile.mkstemp(dir=self.path, prefix="in-")
        staged = Path(name)
        try:
            with os.fdopen(fd, "wb") as handle:
                yield handle, staged
        except BaseException:
            staged.unlink(missing_ok=True)
            raise

    def _keep(self, staged: Path, digest: str) -> None:
        if digest in self.blobs:
            staged.unlink()
            return
        os.chmod(staged, BLOB_MODE)  # as the store keeps it: one link puts it in place
        os.replace(staged, self.file(digest))
        self.blobs[digest] = None

    def commit_blobs(self, digests: Iterable[str]) -> list[str]:
        """Store the staged blobs among ``digests`` that the store lacks; returns the new.
        Every one is looked up, so presenting lost bytes again heals the store. Staged files
        are read-only already and stay until the folder goes; bytes in memory stay readable
        for the views. They may still be on their way to the disk: ``store.wait_durable()``
        before committing rows."""
        present = {d for d in digests if d in self.blobs}
        lacking = self.spilled & present  # a link tells whether each is still new
        lacking.update(self.store.missing(present - lacking))
        return self.store.put_many_deferred({d: self._staged(d) for d in lacking}, prepared=True)

    def _staged(self, digest: str) -> bytes | Path:
        staged = self.blobs[digest]
        return staged if staged is not None else self.file(digest)

    def cleanup(self) -> None:
        folder = self.hand_over()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def hand_over(self) -> Path | None:
        """Forget what was staged; returns the folder, for the caller to remove."""
        folder, self._path = self._path, None
        self.blobs = {}
        self.spilled = set()
        return folder


def view_path(base: Path, artifact_type: str, name: str) -> Path:
    """Where the latest version of an artifact is shown under ``collections/<name>/``."""
    folder = base / TYPE_PLURALS[artifact_type]
    if artifact_type in (ArtifactType.COMMAND, ArtifactType.AGENT):
        return folder / f"{name}.md"
    if artifact_type == ArtifactType.MCP:
        return folder / f"{name}.json"
    return folder / name


def is_directory_view(artifact_type: str) -> bool:
    return artifact_type in (ArtifactType.SKILL, ArtifactType.HOOK, ArtifactType.PLUGIN)


class ViewWriter:
    """Builds new views in ``tmp/`` (before the commit) and swaps them into place (after it).

    A file view is replaced by one atomic rename; a folder view by two (the old one aside,
    the new one in), a gap that the verify command repairs if a crash falls into it.
    """

    def __init__(self, store: BlobStore, collection: str, held: Held | None = None) -> None:
        """``held`` gives the bytes an import still holds in memory (the views of its new
        versions are written from them; anything else is read from the blob store)."""
        self.store = store
        self.held = held
        self.base = store.root / "collections" / collection
        self._staging: Path | None = None  # made on first need
        self._made: set[Path] = set()  # folders made below the staging folder
        self._folders: set[Path] = set()  # view folders known to exist
        self.umask = current_umask()
        self.pending: list[tuple[Path | None, Path]] = []  # None: the view goes away

    @property
    def staging(self) -> Path:
        if self._staging is None:
            self.store.tmp.mkdir(parents=True, exist_ok=True)
            self._staging = Path(tempfile.mkdtemp(prefix="views-", dir=self.store.tmp))
            self._made = {self._staging}
        return self._staging

    def stage(self, artifact_type: str, name: str, files: Iterable[TreeFile]) -> None:
        if not views_enabled():
            return
        staged = self.staging / str(len(self.pending))
        build_view(artifact_type, files, staged, self.store, self.held, self.umask, self._made)
        self.pending.append((staged, view_path(self.base, artifact_type, name)))

    def adopt(self, staged: Path, artifact_type: str, name: str) -> None:
        """Swap in a view built ahead of the transaction (see ``prestage_views``)."""
        self.pending.append((staged, view_path(self.base, artifact_type, name)))

    def remove(self, artifact_type: str, name: str) -> None:
        """The view of a deleted artifact goes away when the rest is swapped in."""
        if not views_enabled():
            return
        self.pending.append((None, view_path(self.base, artifact_type, name)))

    def swap_all(self) -> list[str]:
        """Put every staged view in place; returns the views that could not be (stale)."""
        stale = []
        for staged, final in self.pending:
            try:
                self.swap(staged, final)
            except OSError as error:
                stale.append(f"{final}: {error.strerror or error}")
        self.discard()
        return stale

    def swap(self, staged: Path | None, final: Path) -> None:
        if staged is None:
            if final.is_dir() and not final.is_symlink():
                aside = Path(tempfile.mkdtemp(prefix="old-", dir=self.staging)) / "view"
                os.rename(final, aside)
            else:
                final.unlink(missing_ok=True)
            return
        if final.parent not in self._folders:  # a handful of type folders, made once
            final.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(final.parent)
        try:  # a new view, a file view, or a folder view over an empty folder: one rename
            os.replace(staged, final)
            return
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.EISDIR, errno.ENOTDIR):
                raise
        aside = Path(tempfile.mkdtemp(prefix="old-", dir=self.staging)) / "view"
        os.rename(final, aside)
        os.rename(staged, final)
        shutil.rmtree(aside, ignore_errors=True)

    def discard(self) -> None:
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        self.pending = []


def build_view(
    artifact_type: str,
    files: Iterable[TreeFile],
    staged: Path,
    source: BlobSource,
    held: Held | None,
    umask: int | None,
    made: set[Path],
) -> None:
    """The view of one artifact at ``staged``: a folder of its files, or its one file."""
    if is_directory_view(artifact_type):
        staged.mkdir()  # even for a folder with no files at all
        made.add(staged)
        destination = staged
    else:
        (only,) = files
        files, destination = [replace(only, path=staged.name)], staged.parent
    rebuild_files(source, files, destination, held, umask, made)


def prestage_views(
    staging: StagingArea,
    views: Sequence[tuple[str, Iterable[TreeFile]]],
    skipped: frozenset[int] = frozenset(),
) -> Path:
    """Build the views ``(type, files)`` from the staged bytes, before the import lock is
    taken, in ``<staging>/views/<position>`` (but those at the ``skipped`` positions); the
    transaction adopts those of the artifacts it creates or moves on (:meth:`ViewWriter.adopt`)."""
    folder = staging.path / "views"
    folder.mkdir()
    made, umask = {folder}, current_umask()
    for position, (artifact_type, files) in enumerate(views):
        if position in skipped:
            continue
        staged = folder / str(position)
        build_view(artifact_type, files, staged, staging, staging.held, umask, made)
    return folder


def rebuild_files(
    store: BlobSource,
    files: Iterable[TreeFile],
    destination: Path,
    held: Held | None = None,
    umask: int | None = None,
    made: set[Path] | None = None,
) -> None:
    """Write files (path, mode, blob) below ``destination``: bytes ``held`` in memory as
    they are, the others from the blob store. ``made``: folders known to exist (the ones
    made here are added)."""
    made = set() if made is None else made
    for tree_file in files:
        target = destination / tree_file.path
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        data = held(tree_file.sha256) if held is not None else None
        if data is None:
            store.copy_to(tree_file.sha256, target)
            os.chmod(target, tree_file.mode & 0o777)
        else:
            write_new_file(target, data, tree_file.mode & 0o777, umask)


def current_umask() -> int | None:
    """The process's umask, read where it can be without setting it (Linux's
    /proc/self/status); None elsewhere."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def write_new_file(target: Path, data: bytes, mode: int, umask: int | None = None) -> None:
    """Create ``target`` (it must not exist) holding ``data``, with exactly ``mode``;
    ``umask``: the process's, when known (then a mode it leaves alone needs no chmod)."""
    fd = os.open(target, NEW_FILE_FLAGS, mode)
    try:
        if umask is None or mode & umask:
            os.fchmod(fd, mode)
        write_all(fd, data)
    finally:
        os.close(fd)
