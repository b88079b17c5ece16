"""Content hashes (DESIGN section 3): SHA-256 of a file's bytes, of an MCP server's canonical
JSON, and of a directory's manifest of ``<mode> <sha256> <path>`` lines.

Files are streamed through a fixed buffer (bounded memory whatever their size) and read once:
a caller that stores what it hashes passes a sink that receives the same bytes.
"""

import contextlib
import hashlib
import json
import os
import stat
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from django.conf import settings

from artifacts.names import unprintable_character
from importer.errors import LimitExceeded, Rule, UnsafePath, display_path

MODE_EXECUTABLE = 0o100755
MODE_REGULAR = 0o100644
IGNORED_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__"})
IGNORED_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
CHUNK_SIZE = 1024 * 1024
MAX_LINK_HOPS = 8


@dataclass(frozen=True, slots=True)
class TreeFile:
    """A regular file of a tree: relative POSIX path, git-style mode, size and SHA-256."""

    path: str
    mode: int
    size: int
    sha256: str

    def __reduce__(self) -> tuple[type["TreeFile"], tuple[str, int, int, str]]:
        """Pickled as a call of the constructor (a planned plugin crosses to the writer with
        hundreds of these; the generic state of a frozen dataclass is restored field by field)."""
        return (TreeFile, (self.path, self.mode, self.size, self.sha256))


@dataclass(frozen=True)
class Limits:
    """How much one import may read (DESIGN section 2); None means no limit."""

    max_total_bytes: int | None = None
    max_file_bytes: int | None = None
    max_files: int | None = None
    max_depth: int | None = None

    @classmethod
    def from_settings(cls) -> "Limits":
        return cls(
            max_total_bytes=settings.SKILLMEAT_MAX_TOTAL_BYTES,
            max_file_bytes=settings.SKILLMEAT_MAX_FILE_BYTES,
            max_files=settings.SKILLMEAT_MAX_FILES,
            max_depth=settings.SKILLMEAT_MAX_DEPTH,
        )


class BlobSink(Protocol):
    """Receives the bytes of one file while it is hashed (the staging area of an import)."""

    def receive(self, path: Path, limits: "Limits", label: str) -> tuple[str, int]: ...


def is_ignored(name: str, *, is_dir: bool) -> bool:
    """Names that are neither hashed nor stored, anywhere in a tree."""
    if is_dir:
        return name in IGNORED_DIRS
    return name in IGNORED_FILES or name.endswith(".pyc")


def mode_of(st_mode: int) -> int:
    return MODE_EXECUTABLE if st_mode & stat.S_IXUSR else MODE_REGULAR


def check_file_name(name: str, label: str) -> None:
    """Refuse a name that cannot be a safe, printable, portable path segment."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafePath(
            "file name is not valid UTF-8", path=display_path(label), rule=Rule.BAD_FILE_NAME
        ) from None
    if "\\" in name:
        raise UnsafePath(
            "file name contains a backslash", path=display_path(label), rule=Rule.BAD_FILE_NAME
        )
    hidden = unprintable_character(name)
    if hidden:
        raise UnsafePath(
            f"file name contains a control character or a format character ({hidden})",
            path=display_path(label),
            rule=Rule.BAD_FILE_NAME,
        )


def refuse_special(st_mode: int, label: str) -> None:
    """Symlinks, devices, FIFOs and sockets are never followed, read or skipped silently."""
    if stat.S_ISLNK(st_mode):
        kind = "a symbolic link"
    elif stat.S_ISCHR(st_mode) or stat.S_ISBLK(st_mode):
        kind = "a device"
    elif stat.S_ISFIFO(st_mode):
        kind = "a FIFO"
    elif stat.S_ISSOCK(st_mode):
        kind = "a socket"
    else:
        kind = "not a regular file or directory"
    raise UnsafePath(
        f"{kind}: only regular files and directories can be imported",
        path=display_path(label),
        rule=Rule.UNSAFE_FILE_TYPE,
    )


_buffers = threading.local()


def _buffer() -> tuple[bytearray, memoryview]:
    """One read buffer per thread, reused: allocating 1 MiB per small file costs more than
    hashing it."""
    if not hasattr(_buffers, "buffer"):
        _buffers.buffer = bytearray(CHUNK_SIZE)
        _buffers.view = memoryview(_buffers.buffer)
    return _buffers.buffer, _buffers.view


def hash_stream(
    source: BinaryIO,
    *,
    sink: BinaryIO | None = None,
    max_bytes: int | None = None,
    label: str = "",
    head: bytes = b"",
) -> tuple[str, int]:
    """SHA-256 and length of a stream, copying the bytes to ``sink`` in the same pass;
    ``head``: bytes already read from the stream, taken first."""
    digest = hashlib.sha256(head)
    if sink is not None and head:
        sink.write(head)
    buffer, view = _buffer()
    size = len(head)
    while count := _read_into(source, buffer, label):
        size += count
        check_file_size(size, max_bytes, label)
        chunk = view[:count]
        digest.update(chunk)
        if sink is not None:
            sink.write(chunk)
    return digest.hexdigest(), size


def check_file_size(size: int, max_bytes: int | None, label: str) -> None:
    if max_bytes is not None and size > max_bytes:
        raise LimitExceeded(
            f"file is larger than the limit of {max_bytes} bytes",
            path=display_path(label),
            rule=Rule.FILE_TOO_LARGE,
        )


def read_head(source: BinaryIO, count: int, label: str) -> bytes:
    """Up to ``count`` bytes from the start of a stream (fewer only at its end)."""
    parts = []
    left = count
    while left > 0:
        try:
            part = source.read(left)
        except OSError as error:
            raise unreadable(label, error) from error
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _read_into(source: BinaryIO, buffer: bytearray, label: str) -> int:
    """Read the next chunk; a failing read is the input's ``unreadable`` error (a failing
    write to the sink stays a storage error)."""
    try:
        return source.readinto(buffer)  # type: ignore[attr-defined]
    except OSError as error:
        raise unreadable(label, error) from error


def hash_file(
    path: Path, *, sink: BinaryIO | None = None, max_bytes: int | None = None, label: str = ""
) -> tuple[str, int]:
    """SHA-256 and size of a regular file, refusing to follow a symlink in its place."""
    label = label or str(path)
    with open_regular(path, label) as source:
        return hash_stream(source, sink=sink, max_bytes=max_bytes, label=label)


def unreadable(label: str, error: OSError) -> UnsafePath:
    return UnsafePath(
        f"cannot be read: {error.strerror or error}",
        path=display_path(label),
        rule=Rule.UNREADABLE,
    )


@contextlib.contextmanager
def open_regular(path: Path, label: str) -> Iterator[BinaryIO]:
    """Open a regular file for reading, refusing a link, a device or a FIFO in its place."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if os.path.islink(path):
            refuse_special(stat.S_IFLNK, label)
        raise unreadable(label, error) from error
    with os.fdopen(fd, "rb", buffering=0) as source:
        st_mode = os.fstat(source.fileno()).st_mode
        if not stat.S_ISREG(st_mode):
            refuse_special(st_mode, label)
        yield source


def read_file_bytes(path: Path, label: str) -> bytes:
    """The bytes of a small regular file (a manifest), or an ``unreadable`` error."""
    with open_regular(path, label) as source:
        try:
            return source.read()
        except OSError as error:
            raise unreadable(label, error) from error


def hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(config: Any) -> bytes:
    """An MCP server's content: its configuration as canonical JSON bytes."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def hash_mcp_config(config: Any) -> str:
    return hash_bytes(canonical_json(config))


def _utf8_key(tree_file: TreeFile) -> bytes:
    return tree_file.path.encode("utf-8")


def tree_manifest(files: Iterable[TreeFile]) -> str:
    """The manifest of a directory: one line per file, sorted by path as UTF-8 bytes."""
    ordered = sorted(files, key=_utf8_key)
    return "".join(f"{f.mode:o} {f.sha256} {f.path}\n" for f in ordered)


def tree_hash(files: Iterable[TreeFile]) -> str:
    return hash_bytes(tree_manifest(files).encode("utf-8"))


def walk_tree(
    root: Path,
    *,
    label: str = "",
    limits: Limits | None = None,
    boundary: Path | None = None,
    warnings: list[str] | None = None,
) -> Iterator[tuple[str, Path, os.stat_result]]:
    """Every regular file below ``root`` as (relative POSIX path, path to read, stat result).

    A symbolic link that resolves to a regular file inside ``boundary`` (the plugin; ``root``
    by default) counts as a copy of that file, at the link's path, with a warning; any other
    link and every special file raise :class:`UnsafePath`. Ignored names are passed over; the
    limits on entries, file size and depth are enforced while walking.
    """
    limits = limits or Limits()
    label = label or str(root)
    inside = Path(os.path.realpath(boundary or root))
    pending: list[tuple[Path, str]] = [(root, "")]
    count = 0
    while pending:
        directory, prefix = pending.pop()
        with _listing(directory, f"{label}/{prefix}".rstrip("/")) as entries:
            for entry in entries:
                relative = f"{prefix}{entry.name}"
                where = f"{label}/{relative}"
                check_file_name(entry.name, where)
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    if not is_ignored(entry.name, is_dir=True):
                        count += 1  # folders count toward the entry limit too
                        _check_entry_count(count, where, limits)
                        pending.append((Path(entry.path), f"{relative}/"))
                    continue
                path = Path(entry.path)
                if stat.S_ISLNK(st.st_mode):
                    path, st = resolve_file_link(path, inside, where)
                    if warnings is not None:
                        shown = display_path(os.path.relpath(path, inside))
                        warnings.append(
                            f"{display_path(relative)}: a link to {shown}, imported as a copy"
                        )
                elif not stat.S_ISREG(st.st_mode):
                    refuse_special(st.st_mode, where)
                if is_ignored(entry.name, is_dir=False):
                    continue
                count += 1
                _check_file_limits(relative, st.st_size, count, where, limits)
                yield relative, path, st


def resolve_file_link(link: Path, inside: Path, where: str) -> tuple[Path, os.stat_result]:
    """The regular file a link leads to (through at most :data:`MAX_LINK_HOPS` links), when
    it stays inside ``inside``; a link to a folder, outside, dangling or looping is refused."""
    current = link
    for _ in range(MAX_LINK_HOPS):
        target = current.parent / os.readlink(current)
        try:
            st = target.lstat()
        except OSError:
            raise _bad_link("a link to nothing (dangling)", where) from None
        if stat.S_ISLNK(st.st_mode):
            current = target
            continue
        if not stat.S_ISREG(st.st_mode):
            raise _bad_link("a link to a folder or a special file", where)
        if not Path(os.path.realpath(target)).is_relative_to(inside):
            raise _bad_link("a link that leads outside the plugin", where)
        return target, st
    raise _bad_link(f"a link chain longer than {MAX_LINK_HOPS} links (or a loop)", where)


def _bad_link(kind: str, where: str) -> UnsafePath:
    return UnsafePath(
        f"{kind}: only links to files inside the plugin can be imported",
        path=display_path(where),
        rule=Rule.UNSAFE_FILE_TYPE,
    )


@contextlib.contextmanager
def _listing(directory: Path, label: str) -> Iterator[Iterator[os.DirEntry]]:
    try:
        entries = os.scandir(directory)
    except OSError as error:
        raise unreadable(label, error) from error
    with entries:
        yield entries


def _check_entry_count(count: int, where: str, limits: Limits) -> None:
    if limits.max_files is not None and count > limits.max_files:
        raise LimitExceeded(
            f"more than the limit of {limits.max_files} entries (files and folders)",
            path=display_path(where),
            rule=Rule.TOO_MANY_FILES,
        )


def _check_file_limits(relative: str, size: int, count: int, where: str, limits: Limits) -> None:
    _check_entry_count(count, where, limits)
    if limits.max_depth is not None and relative.count("/") + 1 > limits.max_depth:
        raise LimitExceeded(
            f"nested deeper than the limit of {limits.max_depth} levels",
            path=display_path(where),
            rule=Rule.TOO_DEEP,
        )
    if limits.max_file_bytes is not None and size > limits.max_file_bytes:
        raise LimitExceeded(
            f"file is larger than the limit of {limits.max_file_bytes} bytes",
            path=display_path(where),
            rule=Rule.FILE_TOO_LARGE,
        )


def hash_entries(
    entries: Iterable[tuple[str, Path, os.stat_result]],
    *,
    label: str,
    limits: Limits,
    sink: BlobSink | None = None,
) -> list[TreeFile]:
    """Hash files listed by :func:`walk_tree`, each read once (and handed to ``sink``)."""
    files: list[TreeFile] = []
    total = 0
    for relative, path, st in entries:
        where = f"{label}/{relative}"
        if sink is None:
            sha, size = hash_file(path, max_bytes=limits.max_file_bytes, label=where)
        else:
            sha, size = sink.receive(path, limits, where)
        total += size
        if limits.max_total_bytes is not None and total > limits.max_total_bytes:
            raise LimitExceeded(
                f"more than the limit of {limits.max_total_bytes} bytes in total",
                path=display_path(label),
                rule=Rule.TOO_LARGE,
            )
        files.append(TreeFile(relative, mode_of(st.st_mode), size, sha))
    return files


def scan_tree(
    root: Path,
    *,
    label: str = "",
    limits: Limits | None = None,
    sink: BlobSink | None = None,
    warnings: list[str] | None = None,
) -> list[TreeFile]:
    """Hash every file below ``root`` once (handing its bytes to ``sink`` if given)."""
    limits = limits or Limits()
    label = label or str(root)
    entries = walk_tree(root, label=label, limits=limits, warnings=warnings)
    return hash_entries(entries, label=label, limits=limits, sink=sink)


def hash_directory(root: Path) -> str:
    return tree_hash(scan_tree(root))


@dataclass(frozen=True)
class PathHash:
    """What ``hash_artifact`` reports: the hash, and the manifest of a directory."""

    kind: str  # "file" or "directory"
    content_hash: str
    manifest: str | None
    warnings: tuple[str, ...] = ()


def hash_path(path: Path) -> PathHash:
    """Hash a file by its bytes, a directory by its manifest (file links inside it count as
    copies, with a warning); refuse anything else."""
    st = path.lstat()
    if stat.S_ISDIR(st.st_mode):
        warnings: list[str] = []
        manifest = tree_manifest(scan_tree(path, warnings=warnings))
        digest = hash_bytes(manifest.encode("utf-8"))
        return PathHash("directory", digest, manifest, tuple(warnings))
    if not stat.S_ISREG(st.st_mode):
        refuse_special(st.st_mode, str(path))
    sha, _ = hash_file(path)
    return PathHash("file", sha, None)
