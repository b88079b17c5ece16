"""The local backend: ``$SKILLMEAT_HOME/objects/<2 hex>/<62 hex>``. Every blob is written to a
temporary path on the same filesystem, fsynced (file and folder), linked into place (a link
never replaces an existing blob) and made read-only."""

import contextlib
import ctypes
import itertools
import os
import shutil
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from blobstore.base import HASH_LENGTH, BlobStore, Entry, is_hex
from importer.errors import Rule, StorageFailed

BLOB_MODE = 0o444
_INCOMING = itertools.count()  # names of blobs on their way in
NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
# syncfs waits on the disk with the GIL released: one thread does it while the import goes on.
_SYNC_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blob-sync")


def _new_sync_thread() -> None:
    """A forked child (a worker) has no copy of the parent's thread: it gets a pool of its own."""
    global _SYNC_THREAD
    _SYNC_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blob-sync")


if hasattr(os, "register_at_fork"):  # POSIX; nothing forks elsewhere
    os.register_at_fork(after_in_child=_new_sync_thread)


_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def syncfs(path: Path) -> bool:
    """Flush the filesystem holding ``path`` (data and metadata) in one call; False where the
    system has no ``syncfs``."""
    function = getattr(_LIBC, "syncfs", None)
    if function is None:
        return False
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if function(fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error), str(path))
    finally:
        os.close(fd)
    return True


def write_all(fd: int, data: bytes) -> None:
    """Every byte of ``data`` to ``fd`` (a write may take only part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


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


class LocalBlobStore(BlobStore):
    def __init__(self, root: Path | None = None) -> None:
        super().__init__(root)
        self.objects = self.root / "objects"
        self._objects_text = str(self.objects)
        self._folders: set[str] = set()  # folders known to exist
        self._pending: list[str] = []  # placed by put_many_deferred, not yet flushed
        self._syncing: Future[None] | None = None

    def path_for(self, digest: str) -> Path:
        return self.objects / digest[:2] / digest[2:]

    def _text_path(self, digest: str) -> tuple[str, str]:
        """A blob's folder and file as plain strings: an import asks for them for every file
        it holds (``has``) or stores (``place``), where Path objects cost more than the call."""
        folder = f"{self._objects_text}/{digest[:2]}"
        return folder, f"{folder}/{digest[2:]}"

    def has(self, digest: str) -> bool:
        return os.path.isfile(self._text_path(digest)[1])

    def stream(self, digest: str) -> BinaryIO:
        return self.path_for(digest).open("rb")

    def copy_to(self, digest: str, target: Path) -> None:
        shutil.copyfile(self.path_for(digest), target)

    def describe(self, digest: str) -> str:
        return str(self.path_for(digest))

    def place(self, staged: Path | bytes, digest: str, *, prepared: bool = False) -> bool:
        """Put one staged blob (a file, or bytes held in memory) in place; True when the blob
        is new. Nothing is flushed here: put_many makes the whole batch durable at once. A
        ``prepared`` file (read-only already) is linked and left where it is; any other
        staged file is consumed."""
        folder, target = self._text_path(digest)
        incoming = staged if isinstance(staged, Path) else None
        kept = prepared and incoming is not None
        try:
            self._ensure_folder(folder)
            if incoming is None:
                incoming = self._write_incoming(staged, digest)  # type: ignore[arg-type]
            elif not kept:
                os.chmod(incoming, BLOB_MODE)
            try:
                os.link(incoming, target)
            except FileExistsError:
                return False
            return True
        except OSError as error:
            raise StorageFailed(
                f"cannot store blob: {error.strerror}", path=target, rule=Rule.STORAGE_FAILED
            ) from error
        finally:
            if incoming is not None and not kept:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(incoming)

    def _ensure_folder(self, folder: str) -> None:
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)

    def _write_incoming(self, data: bytes, digest: str) -> Path:
        """The bytes in a new read-only file under tmp/ (the same filesystem as objects/)."""
        self._ensure_folder(str(self.tmp))
        while True:  # a name of this process's own; O_EXCL refuses a leftover of the same name
            incoming = self.tmp / f"blob-{digest[:16]}-{os.getpid()}-{next(_INCOMING)}"
            try:
                fd = os.open(incoming, NEW_FILE_FLAGS, BLOB_MODE)
                break
            except FileExistsError:
                continue
        try:
            write_all(fd, data)
        except BaseException:
            incoming.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
        return incoming

    def put_many(self, staged: dict[str, Path | bytes], *, prepared: bool = False) -> list[str]:
        """Link every staged blob in place, then make the batch durable with one ``syncfs``
        of the storage root's filesystem (Linux; elsewhere one fsync per blob and folder)."""
        added = self._place_all(staged, prepared)
        try:
            if added:
                self._make_durable(added)
        except BaseException:
            self.remove_many(added)
            raise
        return added

    def put_many_deferred(
        self, staged: dict[str, Path | bytes], *, prepared: bool = False
    ) -> list[str]:
        """Link every staged blob in place; the ``syncfs`` that makes them durable runs in a
        thread of its own from :meth:`start_durable` (the import writes its rows meanwhile)
        and is waited for before the commit."""
        self.wait_durable()  # one batch at a time
        added = self._place_all(staged, prepared)
        self._pending = list(added)
        return added

    def start_durable(self) -> None:
        """A flush of the whole filesystem makes its journal busy for a while: the import
        starts it once its database reads are done (writes to SQLite's shared-memory index
        would wait on it)."""
        pending, self._pending = self._pending, []
        if pending:
            self._syncing = _SYNC_THREAD.submit(self._make_durable, pending)

    def wait_durable(self) -> None:
        self.start_durable()
        syncing, self._syncing = self._syncing, None
        if syncing is not None:
            syncing.result()

    def _place_all(self, staged: dict[str, Path | bytes], prepared: bool) -> list[str]:
        added: list[str] = []
        try:
            for digest, blob in staged.items():
                if self.place(blob, digest, prepared=prepared):
                    added.append(digest)
        except BaseException:
            self.remove_many(added)
            raise
        return added

    def _make_durable(self, added: list[str]) -> None:
        if syncfs(self.objects):
            return
        for digest in added:
            fsync_file(self.path_for(digest))
        for folder in {self.path_for(digest).parent for digest in added}:
            fsync_directory(folder)
        fsync_directory(self.objects)

    def keep_upload(self, name: str, path: Path) -> str:
        """Under ``uploads/`` (not ``tmp/``, whose old entries repair removes)."""
        target = self.root / "uploads" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        return str(target)

    def fetch_upload(self, location: str, target: Path) -> None:
        shutil.copyfile(location, target)

    def discard_upload(self, location: str) -> None:
        kept = Path(location)
        kept.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            kept.parent.rmdir()

    def remove_many(self, digests: Iterable[str]) -> None:
        """Delete blobs (taking back a failed import's writes), and folders left empty."""
        for digest in digests:
            folder, path = self._text_path(digest)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            with contextlib.suppress(OSError):
                os.rmdir(folder)
                self._folders.discard(folder)  # placing a blob there makes it again

    def entries(self) -> Iterator[Entry]:
        if not self.objects.is_dir():
            return
        for folder in sorted(self.objects.iterdir()):
            if not (folder.is_dir() and not folder.is_symlink() and is_hex(folder.name, 2)):
                yield _entry(folder, None)
                continue
            for blob in sorted(folder.iterdir()):
                regular = blob.is_file() and not blob.is_symlink()
                is_blob = regular and is_hex(blob.name, HASH_LENGTH - 2)
                yield _entry(blob, folder.name + blob.name if is_blob else None)

    def quarantine(self, entry: Entry) -> None:
        path = Path(entry.name)
        target = self.root / "quarantine" / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)

    def delete_entry(self, entry: Entry) -> None:
        path = Path(entry.name)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _entry(path: Path, digest: str | None) -> Entry:
    try:
        st = path.lstat()
    except OSError:
        return Entry(str(path), digest, 0, 0.0)
    return Entry(str(path), digest, st.st_size, st.st_mtime)
