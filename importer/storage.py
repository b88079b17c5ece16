"""The local side of the storage root (DESIGN section 6): the staging area under ``tmp/``
where an import copies the bytes it hashes, and the type-folder views under ``collections/``.
The blobs themselves are in the blob store (``blobstore``), local or in a bucket."""

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from artifacts.models import TYPE_PLURALS, ArtifactType
from blobstore import BlobStore
from importer.hashing import Limits, TreeFile, hash_bytes, hash_file, hash_stream


def storage_root() -> Path:
    return Path(settings.SKILLMEAT_HOME)


def views_enabled() -> bool:
    """``SKILLMEAT_VIEWS=false``: nothing is written under ``collections/``, not even by
    repair (the views are a local convenience; a team server shares a bucket instead)."""
    return bool(getattr(settings, "SKILLMEAT_VIEWS", True))


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
        """Store the staged blobs among ``digests`` that the store lacks; returns the new.
        Every one is looked up, so presenting lost bytes again heals the store."""
        present = {d for d in digests if d in self.blobs}
        wanted = {d: self.blobs[d] for d in self.store.missing(present)}
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
        if not views_enabled():
            return
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
        store.copy_to(tree_file.sha256, target)
        os.chmod(target, tree_file.mode & 0o777)
