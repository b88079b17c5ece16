"""The S3-compatible backend (``SKILLMEAT_BLOB_STORAGE=s3://bucket/prefix``) through
django-storages and boto3: keys ``<prefix>/<2 hex>/<62 hex>``, credentials and endpoint from the
usual ``AWS_*`` settings (``AWS_S3_ENDPOINT_URL`` for stores other than AWS). A PUT that returned
is durable, so a blob is stored before the commit that refers to it."""

import functools
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from storages.backends.s3 import S3Storage

from blobstore.base import HASH_LENGTH, BlobStore, Entry, is_hex
from importer.errors import Rule, StorageFailed

DELETE_BATCH = 1000
PARALLEL_REQUESTS = 16  # HEADs and PUTs in flight at once (boto3 clients are thread-safe)


@functools.cache
def _storage(bucket: str, prefix: str, endpoint: str | None) -> S3Storage:
    """One storage (and boto3 client) per bucket, prefix and endpoint in a process."""
    storage = S3Storage(
        bucket_name=bucket,
        location=prefix,
        endpoint_url=endpoint,
        file_overwrite=True,
        default_acl=None,
    )
    # As many pooled connections as requests in flight (the default pool holds ten).
    storage.client_config = storage.client_config.merge(
        Config(max_pool_connections=PARALLEL_REQUESTS)
    )
    return storage


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (``bucket``, ``some/prefix``)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"SKILLMEAT_BLOB_STORAGE must be s3://bucket[/prefix], not {url!r}")
    return parts.netloc, parts.path.strip("/")


class S3BlobStore(BlobStore):
    def __init__(self, url: str, root: Path | None = None) -> None:
        super().__init__(root)
        self.bucket, self.prefix = parse_url(url)
        self.storage = _storage(self.bucket, self.prefix, settings.AWS_S3_ENDPOINT_URL)
        # django-storages keeps one boto3 resource per thread; the store's worker threads
        # share this one client instead (boto3 clients are thread-safe).
        self.client: Any = self.storage.connection.meta.client

    def key(self, digest: str) -> str:
        return self._key(f"{digest[:2]}/{digest[2:]}")

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def has(self, digest: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(digest))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def missing(self, digests: Iterable[str]) -> set[str]:
        """One HEAD per digest, many in flight."""
        wanted = sorted(set(digests))
        with ThreadPoolExecutor(PARALLEL_REQUESTS) as pool:
            present = list(pool.map(self.has, wanted))
        return {digest for digest, found in zip(wanted, present, strict=True) if not found}

    def stream(self, digest: str) -> BinaryIO:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key(digest))
        except ClientError as error:
            raise FileNotFoundError(self.describe(digest)) from error
        return response["Body"]

    def copy_to(self, digest: str, target: Path) -> None:
        self.client.download_file(self.bucket, self.key(digest), str(target))

    def describe(self, digest: str) -> str:
        return f"s3://{self.bucket}/{self.key(digest)}"

    def put_many(self, staged: dict[str, Path | bytes], *, prepared: bool = False) -> list[str]:
        """PUT the staged blobs (callers pass what ``missing`` found), many in flight. On
        failure every key this call meant to add is deleted again (under the import lock
        nobody else adds them)."""
        new = set(staged)
        try:
            order = sorted(new)
            with ThreadPoolExecutor(PARALLEL_REQUESTS) as pool:
                list(pool.map(self._upload, order, [staged[d] for d in order]))
        except (BotoCoreError, ClientError) as error:
            self.remove_many(new)
            raise StorageFailed(
                f"cannot store blob: {error}", path=f"s3://{self.bucket}", rule=Rule.STORAGE_FAILED
            ) from error
        except BaseException:
            self.remove_many(new)
            raise
        finally:
            for blob in staged.values():
                if isinstance(blob, Path) and not prepared:
                    blob.unlink(missing_ok=True)
        return sorted(new)

    def wait_durable(self) -> None:
        """Nothing is pending: a PUT has stored its object when it answers."""

    def _upload(self, digest: str, blob: Path | bytes) -> str:
        """One PUT (a blob is one file: no multipart transfer threads of its own)."""
        if isinstance(blob, bytes):
            self.client.put_object(Bucket=self.bucket, Key=self.key(digest), Body=blob)
            return digest
        with blob.open("rb") as body:
            self.client.put_object(Bucket=self.bucket, Key=self.key(digest), Body=body)
        return digest

    def keep_upload(self, name: str, path: Path) -> str:
        """Under ``<prefix>-uploads/``, outside the blob keys."""
        key = f"{self.prefix or 'blobs'}-uploads/{name}"
        self.client.upload_file(str(path), self.bucket, key)
        return f"s3://{self.bucket}/{key}"

    def fetch_upload(self, location: str, target: Path) -> None:
        key = location.removeprefix(f"s3://{self.bucket}/")
        self.client.download_file(self.bucket, key, str(target))

    def discard_upload(self, location: str) -> None:
        self._delete_keys([location.removeprefix(f"s3://{self.bucket}/")])

    def remove_many(self, digests: Iterable[str]) -> None:
        self._delete_keys([self.key(d) for d in digests])

    def _delete_keys(self, keys: list[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start : start + DELETE_BATCH]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    def entries(self) -> Iterator[Entry]:
        base = self._key("")
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=base
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield self._entry(item, item["Key"][len(base) :])

    def _entry(self, item: dict[str, Any], name: str) -> Entry:
        folder, _, rest = name.partition("/")
        blob = is_hex(folder, 2) and is_hex(rest, HASH_LENGTH - 2)
        return Entry(
            name=f"s3://{self.bucket}/{item['Key']}",
            digest=folder + rest if blob else None,
            size=int(item.get("Size", 0)),
            modified=item["LastModified"].timestamp(),
        )

    def _entry_key(self, entry: Entry) -> str:
        return entry.name.removeprefix(f"s3://{self.bucket}/")

    def quarantine(self, entry: Entry) -> None:
        key = self._entry_key(entry)
        aside = f"{self.prefix}-quarantine/{key[len(self._key('')) :]}"
        self.client.copy_object(
            Bucket=self.bucket, Key=aside, CopySource={"Bucket": self.bucket, "Key": key}
        )
        self._delete_keys([key])

    def delete_entry(self, entry: Entry) -> None:
        self._delete_keys([self._entry_key(entry)])
