"""The blob store (DESIGN section 6) that the importer, the sync engine and verify all use: the
local ``objects/`` folder by default, or an S3-compatible bucket when
``SKILLMEAT_BLOB_STORAGE=s3://bucket/prefix``."""

from pathlib import Path

from django.conf import settings

from blobstore.base import BlobStore, Entry
from blobstore.local import LocalBlobStore


def blob_store(root: Path | None = None) -> BlobStore:
    """The configured store; ``root`` is the local storage root (tmp/, caches, views)."""
    url = getattr(settings, "SKILLMEAT_BLOB_STORAGE", "")
    if not url:
        return LocalBlobStore(root)
    from blobstore.s3 import S3BlobStore  # boto3 is loaded only when a bucket is configured

    return S3BlobStore(url, root)


__all__ = ["BlobStore", "Entry", "LocalBlobStore", "blob_store"]
