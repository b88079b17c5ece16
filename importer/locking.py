"""The import lock of a storage root (DESIGN section 7): a file lock on
``$SKILLMEAT_HOME/.import.lock`` and, on PostgreSQL, a session-level advisory lock, so that
importers on several hosts sharing the storage and the database serialise too."""

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

from django.db import connection
from filelock import FileLock

LOCK_FILE = ".import.lock"
# One advisory lock key per database: every importer of this site takes the same one.
ADVISORY_KEY = int.from_bytes(hashlib.sha256(b"skillmeat-import").digest()[:8], "big", signed=True)


@contextlib.contextmanager
def import_lock(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(root / LOCK_FILE), _advisory_lock():
        yield


@contextlib.contextmanager
def _advisory_lock() -> Iterator[None]:
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_KEY])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_KEY])
