"""The blob store's one interface (DESIGN section 6): every file's bytes stored once, named by
their SHA-256; written before the commit that refers to them, read back by digest, listed and
checked by verify. The backends: a local ``objects/`` folder and an S3-compatible bucket. Both
keep the import's temporary files, caches and views under the local storage root."""

import contextlib
import hashlib
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from importer.errors import Rule, StorageFailed

HASH_LENGTH = 64
READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Entry:
    """What the store holds under one name: a blob (``digest`` set) or a stray."""

    name: str  # a path, or a key, for people
    digest: str | None
    size: int
    modified: float  # seconds since the epoch


def is_hex(name: str, length: int) -> bool:
    return len(name) == length and all(c in "0123456789abcdef" for c in name)


class BlobStore(ABC):
    """Content-addressed bytes, plus the local root that holds ``tmp/`` and caches."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else Path(settings.SKILLMEAT_HOME)
        self.tmp = self.root / "tmp"

    # --- reading ----------------------------------------------------------------------

    @abstractmethod
    def has(self, digest: str) -> bool: ...

    def missing(self, digests: Iterable[str]) -> set[str]:
        return {digest for digest in set(digests) if not self.has(digest)}

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

    @abstractmethod
    def stream(self, digest: str) -> BinaryIO:
        """A blob's bytes as an open binary stream (the caller closes it); FileNotFoundError
        when the store lacks it."""

    @contextlib.contextmanager
    def open(self, digest: str) -> Iterator[BinaryIO]:
        stream = self.stream(digest)
        try:
            yield stream
        finally:
            stream.close()

    def read(self, digest: str) -> bytes:
        with self.open(digest) as blob:
            return blob.read()

    def copy_to(self, digest: str, target: Path) -> None:
        """Write a blob's bytes to a local file."""
        with self.open(digest) as blob, target.open("wb") as out:
            shutil.copyfileobj(blob, out, READ_CHUNK)

    def rehash(self, digest: str) -> str:
        """What the stored bytes hash to now (verify)."""
        found = hashlib.sha256()
        with self.open(digest) as blob:
            while chunk := blob.read(READ_CHUNK):
                found.update(chunk)
        return found.hexdigest()

    @abstractmethod
    def describe(self, digest: str) -> str:
        """Where a blob lives, for messages: a path or a URL."""

    # --- writing ----------------------------------------------------------------------

    @abstractmethod
    def put_many(self, staged: dict[str, Path | bytes], *, prepared: bool = False) -> list[str]:
        """Store staged blobs (files or bytes in memory, each holding its digest's bytes,
        and found ``missing``) durably; returns the digests that were new. Staged files are
        consumed, unless ``prepared``: then they are read-only already and stay where they
        are (the caller removes its staging folder). On failure, what this call added is
        removed again before the error propagates."""

    def put_many_deferred(
        self, staged: dict[str, Path | bytes], *, prepared: bool = False
    ) -> list[str]:
        """Like ``put_many``, but the batch may still be on its way to durable storage when
        this returns: :meth:`start_durable` starts the flush in the background (else
        :meth:`wait_durable` does), and :meth:`wait_durable` waits for it (and raises what
        went wrong); it must be called before anything that refers to the blobs is
        committed."""
        return self.put_many(staged, prepared=prepared)

    def start_durable(self) -> None:  # noqa: B027 (a store that defers nothing has nothing to do)
        """Start making the batch of ``put_many_deferred`` durable, in the background."""

    @abstractmethod
    def wait_durable(self) -> None:
        """Return once every blob of ``put_many_deferred`` is durable."""

    def put_bytes(self, data: bytes) -> tuple[str, bool]:
        """Store bytes held in memory; returns (digest, whether it was new)."""
        digest = hashlib.sha256(data).hexdigest()
        if self.has(digest):
            return digest, False
        added = self.put_many({digest: data})
        return digest, bool(added)

    @abstractmethod
    def remove_many(self, digests: Iterable[str]) -> None: ...

    # --- uploads waiting for a worker ------------------------------------------------

    @abstractmethod
    def keep_upload(self, name: str, path: Path) -> str:
        """Keep an uploaded file where every worker can read it; returns its location."""

    @abstractmethod
    def fetch_upload(self, location: str, target: Path) -> None:
        """Copy a kept upload to a local file."""

    @abstractmethod
    def discard_upload(self, location: str) -> None: ...

    # --- listing (verify, garbage collection) -----------------------------------------

    @abstractmethod
    def entries(self) -> Iterator[Entry]:
        """Everything under the blob namespace: blobs and strays."""

    def all_digests(self) -> Iterator[str]:
        for entry in self.entries():
            if entry.digest is not None:
                yield entry.digest

    @abstractmethod
    def quarantine(self, entry: Entry) -> None:
        """Set a corrupt blob or a stray aside (kept for inspection, out of the namespace)."""

    @abstractmethod
    def delete_entry(self, entry: Entry) -> None:
        """Delete garbage or a stray for good."""
