"""The storage root (DESIGN section 6): the content-addressed blob store under ``objects/``
and the staging area under ``tmp/`` where an import copies the bytes it hashes.

Every blob is written to a temporary path on the same filesystem, fsynced, then linked into
place (a link never replaces an existing blob), and made read-only.
"""

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from artifacts.models import HASH_LENGTH, TYPE_PLURALS, ArtifactType
from importer.errors import Rule, StorageFailed
from importer.hashing import Limits, TreeFile, hash_bytes, hash_file, hash_stream

BLOB_MODE = 0o444


def storage_root() -> Path:
    return Path(settings.SKILLMEAT_HOME)


def fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    """Every file's bytes stored once, by SHA-256, at ``objects/<2 hex>/<62 hex>``."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else storage_root()
        self.objects = self.root / "objects"
        self.tmp = self.root / "tmp"

    def path_for(self, digest: str) -> Path:
        return self.objects / digest[:2] / digest[2:]

    def has(self, digest: str) -> bool:
        return self.path_for(digest).is_file()

    def missing(self, digests: Iterable[str]) -> set[str]:
        return {digest for digest in digests if not self.has(digest)}

    def require(self, digests: Iterable[str], *, needed_by: str) -> None:
        """Refuse, before anything is written, to rebuild from blobs the store lacks."""
        missing = sorted(self.missing(digests))
        if missing:
            raise StorageFailed(
                f"{len(missing)} blob(s) of {needed_by} are missing from the store "
                f"(first: {missing[0]}); run verify_collection to see what is damaged",
                path=needed_by,
                rule=Rule.MISSING_BLOB,
            )

    @contextlib.contextmanager
    def open(self, digest: str) -> Iterator[BinaryIO]:
        with self.path_for(digest).open("rb") as blob:
            yield blob

    def read(self, digest: str) -> bytes:
        return self.path_for(digest).read_bytes()

    def place(self, staged: Path, digest: str) -> bool:
        """Put a staged file (already holding ``digest``'s bytes) in place.

        Returns True when the blob is new, False when the store already had it. The staged
        file is consumed either way. The caller fsyncs the touched folders (see put_many).
        """
        target = self.path_for(digest)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fsync_file(staged)
            os.chmod(staged, BLOB_MODE)
            return self._link(staged, target)
        except OSError as error:
            raise StorageFailed(
                f"cannot store blob: {error.strerror}", path=str(target), rule=Rule.STORAGE_FAILED
            ) from error
        finally:
            staged.unlink(missing_ok=True)

    @staticmethod
    def _link(staged: Path, target: Path) -> bool:
        try:
            os.link(staged, target)
        except FileExistsError:
            return False
        return True

    def put_many(self, staged: dict[str, Path]) -> list[str]:
        """Place several staged blobs; returns the digests that were new. On failure the
        blobs this call added are removed again before the error propagates."""
        added: list[str] = []
        try:
            for digest, path in staged.items():
                if self.place(path, digest):
                    added.append(digest)
            for folder in {self.path_for(digest).parent for digest in added}:
                fsync_directory(folder)
            if added:
                fsync_directory(self.objects)
        except BaseException:
            self.remove_many(added)
            raise
        return added

    def put_bytes(self, data: bytes) -> tuple[str, bool]:
        """Store bytes held in memory; returns (digest, whether it was new)."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.tmp, delete=False) as handle:
            staged = Path(handle.name)
            try:
                handle.write(data)
            except BaseException:
                staged.unlink(missing_ok=True)
                raise
        digest = hash_bytes(data)
        return digest, self.place(staged, digest)

    def remove_many(self, digests: Iterable[str]) -> None:
        """Delete blobs (taking back a failed import's writes), and folders left empty."""
        for digest in digests:
            path = self.path_for(digest)
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                path.parent.rmdir()

    def all_digests(self) -> Iterator[str]:
        for digest, _path in self.entries():
            if digest is not None:
                yield digest

    def strays(self) -> Iterator[Path]:
        """Entries under ``objects/`` that are not blobs (a file or folder someone put there)."""
        for digest, path in self.entries():
            if digest is None:
                yield path

    def entries(self) -> Iterator[tuple[str | None, Path]]:
        """Every entry under ``objects/``: (digest, path) for a blob, (None, path) otherwise."""
        if not self.objects.is_dir():
            return
        for folder in sorted(self.objects.iterdir()):
            if not (folder.is_dir() and not folder.is_symlink() and _is_hex(folder.name, 2)):
                yield None, folder
                continue
            for blob in sorted(folder.iterdir()):
                regular = blob.is_file() and not blob.is_symlink()
                is_blob = regular and _is_hex(blob.name, HASH_LENGTH - 2)
                yield (folder.name + blob.name if is_blob else None), blob


def _is_hex(name: str, length: int) -> bool:
    return len(name) == length and all(c in "0123456789abcdef" for c in name)


class StagingArea:
    """A private folder under ``tmp/`` that receives each file's bytes while it is hashed.

    Staged blobs are named by their digest, so the same bytes met twice are kept once; what
    is staged is what gets stored.
    """

    def __init__(self, store: BlobStore, name: str) -> None:
        self.store = store
        store.tmp.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=store.tmp))
        self.blobs: dict[str, Path] = {}

    def receive(self, path: Path, limits: Limits, label: str) -> tuple[str, int]:
        """Hash a file and keep its bytes; returns (digest, size)."""
        return self._stage(
            lambda sink: hash_file(path, sink=sink, max_bytes=limits.max_file_bytes, label=label)
        )

    def receive_stream(self, source: BinaryIO, limits: Limits, label: str) -> tuple[str, int]:
        return self._stage(
            lambda sink: hash_stream(
                source, sink=sink, max_bytes=limits.max_file_bytes, label=label
            )
        )

    def _stage(self, copy: Callable[[BinaryIO], tuple[str, int]]) -> tuple[str, int]:
        with self._incoming() as (handle, staged):
            digest, size = copy(handle)
        self._keep(staged, digest)
        return digest, size

    def receive_bytes(self, data: bytes) -> str:
        with self._incoming() as (handle, staged):
            handle.write(data)
        digest = hash_bytes(data)
        self._keep(staged, digest)
        return digest

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
        final = self.path / digest
        os.replace(staged, final)
        self.blobs[digest] = final

    def commit_blobs(self, digests: Iterable[str]) -> list[str]:
        """Store the staged blobs among ``digests`` that ``objects/`` lacks; returns the new."""
        wanted = {d: self.blobs[d] for d in digests if d in self.blobs and not self.store.has(d)}
        return self.store.put_many(wanted)

    def cleanup(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


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

    def __init__(self, store: BlobStore, collection: str) -> None:
        self.store = store
        self.base = store.root / "collections" / collection
        store.tmp.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix="views-", dir=store.tmp))
        self.pending: list[tuple[Path | None, Path]] = []  # None: the view goes away

    def stage(self, artifact_type: str, name: str, files: Iterable[TreeFile]) -> None:
        staged = self.staging / str(len(self.pending))
        if is_directory_view(artifact_type):
            staged.mkdir()
            rebuild_files(self.store, files, staged)
        else:
            (only,) = files
            rebuild_files(self.store, [replace(only, path=staged.name)], self.staging)
        self.pending.append((staged, view_path(self.base, artifact_type, name)))

    def remove(self, artifact_type: str, name: str) -> None:
        """The view of a deleted artifact goes away when the rest is swapped in."""
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
        final.parent.mkdir(parents=True, exist_ok=True)
        if staged.is_dir() and final.exists():
            aside = Path(tempfile.mkdtemp(prefix="old-", dir=self.staging)) / "view"
            os.rename(final, aside)
            os.rename(staged, final)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.replace(staged, final)

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        self.pending = []

    def reset(self) -> None:
        """Forget what was staged and start again (a transaction is being retried)."""
        self.discard()
        self.staging = Path(tempfile.mkdtemp(prefix="views-", dir=self.store.tmp))


def rebuild_files(store: BlobStore, files: Iterable[TreeFile], destination: Path) -> None:
    """Write files (path, mode, blob) below ``destination`` from the blob store."""
    for tree_file in files:
        target = destination / tree_file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(store.path_for(tree_file.sha256), target)
        os.chmod(target, tree_file.mode & 0o777)
