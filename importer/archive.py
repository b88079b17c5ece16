"""Safe unpacking of ``.zip``, ``.tar.gz`` and ``.tgz`` archives into a private folder under
``$SKILLMEAT_HOME/tmp/``.

Every member is validated before anything is extracted (no absolute paths, no ``..``, no
links or devices, clean names); sizes are counted on the decompressed bytes actually read,
never taken from headers. Zip members keep their execute bit when the zip was made on Unix.
"""

import contextlib
import lzma
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from importer.errors import ImportError_, LimitExceeded, Rule, UnsafePath, ValidationFailed
from importer.hashing import Limits, check_file_name, hash_stream, is_ignored

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")
COMPONENT_MARKERS = (".claude-plugin", "commands", "agents", "skills", "hooks", ".mcp.json")
MANIFESTS = (".claude-plugin/plugin.json", ".claude-plugin/marketplace.json")
UNIX_SYSTEM = 3
UTF8_FLAG = 0x800
ENCRYPTED_FLAG = 0x1
READABLE_COMPRESSION = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
# Folders a Mac adds to the zips it makes (resource forks): never part of the plugin.
MACOS_METADATA = "__MACOSX"
# What a damaged or unsupported archive raises while it is listed or read.
ARCHIVE_ERRORS = (
    zipfile.BadZipFile,
    tarfile.TarError,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    zlib.error,
    lzma.LZMAError,
)


@dataclass(frozen=True)
class Member:
    """An archive member that passed validation: what to write and how to read it."""

    path: str  # clean relative POSIX path
    is_dir: bool
    executable: bool
    open: Callable[[], IO[bytes]]


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


@contextlib.contextmanager
def unpacked(archive: Path, *, label: str, limits: Limits, tmp: Path) -> Iterator[Path]:
    """Validate and extract ``archive``; yields the plugin or marketplace root inside it."""
    tmp.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix="archive-", dir=tmp))
    try:
        with _members(archive, label, limits) as members:
            _extract(members, target, label, limits)
        yield _archive_root(target, label)
    finally:
        shutil.rmtree(target, ignore_errors=True)


@contextlib.contextmanager
def _members(archive: Path, label: str, limits: Limits) -> Iterator[list[Member]]:
    try:
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as bundle:
                yield _zip_members(bundle, label, limits)
        else:
            with tarfile.open(archive, mode="r:gz") as bundle:
                yield _tar_members(bundle, label, limits)
    except ImportError_:
        raise
    except ARCHIVE_ERRORS as error:
        raise ValidationFailed(
            f"not a readable archive: {error}", path=label, rule=Rule.BAD_ARCHIVE
        ) from error


def _clean_member_path(name: str, label: str) -> str:
    where = f"{label}!{name}"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafePath(
            "archive member has an absolute path", path=where, rule=Rule.UNSAFE_ARCHIVE_MEMBER
        )
    if "\\" in name:
        raise UnsafePath(
            "archive member name contains a backslash", path=where, rule=Rule.UNSAFE_ARCHIVE_MEMBER
        )
    parts = [p for p in PurePosixPath(name).parts if p != "."]
    if ".." in parts:
        raise UnsafePath(
            "archive member path contains '..'", path=where, rule=Rule.UNSAFE_ARCHIVE_MEMBER
        )
    for part in parts:
        check_file_name(part, where)
    return "/".join(parts)


class _EntryCounter:
    """Counts files and folders while an archive is listed, so that listing stops as soon as
    the entry limit is passed (a tar of 300,000 empty folders is refused after 20,001)."""

    def __init__(self, label: str, limits: Limits) -> None:
        self.label = label
        self.limits = limits
        self.count = 0

    def add(self) -> None:
        self.count += 1
        if self.limits.max_files is not None and self.count > self.limits.max_files:
            raise LimitExceeded(
                f"archive holds more than the limit of {self.limits.max_files} entries "
                "(files and folders)",
                path=self.label,
                rule=Rule.TOO_MANY_FILES,
            )


def _check_members(members: list[Member], label: str, limits: Limits) -> None:
    """Refuse duplicates, a path that is both a file and a folder, and excessive depth."""
    files: set[str] = set()
    folders: set[str] = set()
    for member in members:
        where = f"{label}!{member.path}"
        if not member.is_dir:
            if member.path in files:
                raise UnsafePath(
                    "archive member appears twice", path=where, rule=Rule.UNSAFE_ARCHIVE_MEMBER
                )
            files.add(member.path)
        else:
            folders.add(member.path)
        parts = member.path.split("/")
        folders.update("/".join(parts[:end]) for end in range(1, len(parts)))
        # The depth is checked again from the plugin root when the tree is scanned.
        if limits.max_depth is not None and member.path.count("/") > limits.max_depth:
            raise LimitExceeded(
                f"nested deeper than the limit of {limits.max_depth} levels",
                path=where,
                rule=Rule.TOO_DEEP,
            )
    both = sorted(files & folders)
    if both:
        raise UnsafePath(
            "archive member is a file where other members need a folder",
            path=f"{label}!{both[0]}",
            rule=Rule.UNSAFE_ARCHIVE_MEMBER,
        )


def _is_macos_metadata(path: str) -> bool:
    return path.split("/", 1)[0] == MACOS_METADATA


def _zip_members(bundle: zipfile.ZipFile, label: str, limits: Limits) -> list[Member]:
    members = []
    counter = _EntryCounter(label, limits)
    for info in bundle.infolist():
        counter.add()
        path = _clean_member_path(_zip_member_name(info, label), label)
        if _is_macos_metadata(path):
            continue
        _check_zip_readable(info, label)
        unix_mode = info.external_attr >> 16 if info.create_system == UNIX_SYSTEM else 0
        file_type = stat.S_IFMT(unix_mode)
        is_dir = info.is_dir() or file_type == stat.S_IFDIR
        if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise UnsafePath(
                "archive member is a link or a special file",
                path=f"{label}!{info.filename}",
                rule=Rule.UNSAFE_ARCHIVE_MEMBER,
            )
        if not path:
            continue
        executable = bool(unix_mode & stat.S_IXUSR) and not is_dir
        members.append(Member(path, is_dir, executable, lambda info=info: bundle.open(info)))
    _check_members(members, label, limits)
    return members


def _check_zip_readable(info: zipfile.ZipInfo, label: str) -> None:
    where = f"{label}!{info.filename}"
    if info.flag_bits & ENCRYPTED_FLAG:
        raise ValidationFailed("archive member is encrypted", path=where, rule=Rule.BAD_ARCHIVE)
    if info.compress_type not in READABLE_COMPRESSION:
        raise ValidationFailed(
            f"archive member uses a compression method the importer cannot read "
            f"({info.compress_type})",
            path=where,
            rule=Rule.BAD_ARCHIVE,
        )


def _zip_member_name(info: zipfile.ZipInfo, label: str) -> str:
    """The member's name as UTF-8. Without the UTF-8 flag Python decodes names as cp437; the
    raw bytes must still be valid UTF-8 (what most tools write), or the member is refused."""
    if info.flag_bits & UTF8_FLAG:
        return info.filename
    raw = info.filename.encode("cp437")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        shown = raw.decode("utf-8", "backslashreplace")
        raise UnsafePath(
            "file name is not valid UTF-8", path=f"{label}!{shown}", rule=Rule.BAD_FILE_NAME
        ) from None


def _tar_members(bundle: tarfile.TarFile, label: str, limits: Limits) -> list[Member]:
    members = []
    declared = 0
    counter = _EntryCounter(label, limits)
    for info in bundle:
        counter.add()
        path = _clean_member_path(info.name, label)
        if _is_macos_metadata(path):
            continue
        if not (info.isreg() or info.isdir()):
            raise UnsafePath(
                "archive member is a link or a special file",
                path=f"{label}!{info.name}",
                rule=Rule.UNSAFE_ARCHIVE_MEMBER,
            )
        # A tar member's data is exactly its declared size, so a total past the limit is
        # already a sure failure; stopping here bounds what listing decompresses.
        declared += info.size
        if limits.max_total_bytes is not None and declared > limits.max_total_bytes:
            raise LimitExceeded(
                f"archive holds more than the limit of {limits.max_total_bytes} bytes",
                path=label,
                rule=Rule.TOO_LARGE,
            )
        if not path:
            continue
        members.append(
            Member(path, info.isdir(), bool(info.mode & stat.S_IXUSR), _tar_opener(bundle, info))
        )
    _check_members(members, label, limits)
    return members


def _tar_opener(bundle: tarfile.TarFile, info: tarfile.TarInfo) -> Callable[[], IO[bytes]]:
    def open_member() -> IO[bytes]:
        handle = bundle.extractfile(info)
        if handle is None:
            raise ValidationFailed(
                "archive member has no data", path=info.name, rule=Rule.BAD_ARCHIVE
            )
        return handle

    return open_member


def _extract(members: list[Member], target: Path, label: str, limits: Limits) -> None:
    total = 0
    for member in members:
        destination = target / member.path
        if member.is_dir:
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        where = f"{label}!{member.path}"
        size = _extract_member(member, destination, where, limits)
        total += size
        if limits.max_total_bytes is not None and total > limits.max_total_bytes:
            raise LimitExceeded(
                f"archive holds more than the limit of {limits.max_total_bytes} bytes",
                path=label,
                rule=Rule.TOO_LARGE,
            )
        os.chmod(destination, 0o755 if member.executable else 0o644)


def _extract_member(member: Member, destination: Path, where: str, limits: Limits) -> int:
    try:
        with member.open() as source, destination.open("xb") as sink:
            _, size = hash_stream(source, sink=sink, max_bytes=limits.max_file_bytes, label=where)
    except ImportError_ as error:
        if error.rule != Rule.UNREADABLE:
            raise
        raise ValidationFailed(
            f"archive member cannot be read: {error.message}", path=where, rule=Rule.BAD_ARCHIVE
        ) from error
    except ARCHIVE_ERRORS as error:
        raise ValidationFailed(
            f"archive member cannot be read: {error}", path=where, rule=Rule.BAD_ARCHIVE
        ) from error
    return size


def _archive_root(target: Path, label: str) -> Path:
    """A single top-level folder holding a manifest; else the archive's top level when it
    holds a plugin or marketplace; else its single folder. Names that hashing ignores
    (``.DS_Store``, ...) do not count."""
    top = [entry for entry in target.iterdir() if not is_ignored(entry.name, is_dir=entry.is_dir())]
    single = top[0] if len(top) == 1 and top[0].is_dir() else None
    if single is not None and any((single / marker).is_file() for marker in MANIFESTS):
        return single
    if any(entry.name in COMPONENT_MARKERS for entry in top):
        return target
    if single is not None:
        return single
    raise ValidationFailed(
        "archive holds neither a plugin (.claude-plugin/ or a component folder at its top "
        "level) nor a single top-level folder",
        path=label,
        rule=Rule.NOT_A_PLUGIN,
    )
