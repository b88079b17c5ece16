"""Export a plugin version as an archive that rebuilds its original tree byte for byte (modes
kept) under one top-level folder named after the plugin. Importing it again is a
LINK_EXISTING with the same plugin hash. Archives are reproducible: fixed timestamps and
owners, files in path order."""

import gzip
import os
import tarfile
import tempfile
import zipfile
from pathlib import Path

from artifacts.models import Version, VersionFile, version_label
from blobstore import BlobStore, blob_store
from importer.errors import Rule, ValidationFailed

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
UNIX = 3


def plugin_export(
    *, version: Version, output: Path, store: BlobStore | None = None, compress: bool = True
) -> Path:
    """Write ``version``'s files to ``output`` (.zip, .tar.gz or .tgz), atomically. An
    uncompressed zip (``compress=False``) is the same bytes on every host, whatever its zlib."""
    store = store or blob_store()
    name = output.name.lower()
    if not name.endswith((".zip", ".tar.gz", ".tgz")):
        raise ValidationFailed(
            "the output must end in .zip, .tar.gz or .tgz", path=str(output), rule=Rule.BAD_ARCHIVE
        )
    files = list(VersionFile.objects.filter(version=version).order_by("path"))
    store.require((f.blob_hash for f in files), needed_by=version_label(version))
    top = version.artifact.name
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".export-", dir=output.parent)
    os.close(fd)
    try:
        if name.endswith(".zip"):
            method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            _write_zip(Path(temporary), top, files, store, method)
        else:
            _write_tar(Path(temporary), top, files, store)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return output


def _write_zip(
    path: Path, top: str, files: list[VersionFile], store: BlobStore, method: int
) -> None:
    with zipfile.ZipFile(path, "w", method) as bundle:
        for version_file in files:
            info = zipfile.ZipInfo(f"{top}/{version_file.path}", date_time=ZIP_EPOCH)
            info.create_system = UNIX
            info.external_attr = version_file.mode << 16
            info.compress_type = method
            with bundle.open(info, "w") as sink, store.open(version_file.blob_hash) as blob:
                while chunk := blob.read(1024 * 1024):
                    sink.write(chunk)


def _write_tar(path: Path, top: str, files: list[VersionFile], store: BlobStore) -> None:
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as bundle,
    ):
        for version_file in files:
            info = tarfile.TarInfo(f"{top}/{version_file.path}")
            info.size = version_file.size
            info.mode = version_file.mode & 0o777
            info.mtime = 0
            with store.open(version_file.blob_hash) as blob:
                bundle.addfile(info, blob)
