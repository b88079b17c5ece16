"""What a version's files hold (DESIGN section 13): one file's bytes, and the differences
between two versions of one artifact: files added, removed and changed (a mode change alone
counts), a unified diff for text files capped in size, binary files named as such."""

import difflib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from artifacts.masking import declares_mcp
from artifacts.models import Version, VersionFile
from blobstore import blob_store

MAX_DIFF_CHARACTERS = 64 * 1024  # of one file's unified diff
MAX_DIFFED_BYTES = 1024 * 1024  # of each side: larger text files are diffed on their start
SNIFF_BYTES = 8 * 1024


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # added, removed, changed
    old_mode: str | None
    new_mode: str | None
    binary: bool
    diff: str | None
    truncated: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_text(data: bytes) -> bool:
    """Text: UTF-8 with no NUL byte (judged on its start)."""
    head = data[:SNIFF_BYTES]
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start >= len(head) - 3  # a character cut by the sniffing window
    return True


def read_start(version_file: VersionFile, size: int) -> bytes:
    """The first ``size`` bytes of a file of a version (one read from the blob store)."""
    with blob_store().open(version_file.blob_hash) as blob:
        return blob.read(size)


def version_diff(old: Version, new: Version, *, staff: bool) -> list[FileChange]:
    """The files that differ between ``old`` and ``new``, ordered by path. For readers who
    are not staff, a file declaring MCP servers is listed without its diff (its secrets)."""
    before = {f.path: f for f in old.files.all()}
    after = {f.path: f for f in new.files.all()}
    changes = []
    for path in sorted(before.keys() | after.keys()):
        a, b = before.get(path), after.get(path)
        if a is not None and b is not None and (a.blob_hash, a.mode) == (b.blob_hash, b.mode):
            continue
        hidden = not staff and any(
            declares_mcp(path, v.metadata or {}, v.artifact.type) for v in (old, new)
        )
        changes.append(_change(path, a, b, hidden=hidden))
    return changes


def _change(
    path: str, old: VersionFile | None, new: VersionFile | None, *, hidden: bool
) -> FileChange:
    status = "added" if old is None else "removed" if new is None else "changed"
    old_bytes = _read(old)
    new_bytes = _read(new)
    binary = not (is_text(old_bytes) and is_text(new_bytes))
    modes = {"old_mode": _mode(old), "new_mode": _mode(new)}
    if binary or hidden or (old and new and old.blob_hash == new.blob_hash):
        return FileChange(path, status, binary=binary, diff=None, **modes)
    diff, truncated = unified_diff(path, old_bytes, new_bytes, old=old, new=new)
    return FileChange(path, status, binary=False, diff=diff, truncated=truncated, **modes)


def unified_diff(
    path: str,
    old_bytes: bytes,
    new_bytes: bytes,
    *,
    old: VersionFile | None,
    new: VersionFile | None,
) -> tuple[str, bool]:
    truncated = max(len(old_bytes), len(new_bytes)) > MAX_DIFFED_BYTES
    lines = difflib.unified_diff(
        _lines(old_bytes[:MAX_DIFFED_BYTES]),
        _lines(new_bytes[:MAX_DIFFED_BYTES]),
        fromfile=f"a/{path}" if old else "/dev/null",
        tofile=f"b/{path}" if new else "/dev/null",
    )
    text = ""
    for line in lines:
        if len(text) + len(line) > MAX_DIFF_CHARACTERS:
            return text, True
        text += line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
    return text, truncated


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8", "replace").splitlines(keepends=True)


def _read(version_file: VersionFile | None) -> bytes:
    if version_file is None:
        return b""
    return read_start(version_file, MAX_DIFFED_BYTES + 1)


def _mode(version_file: VersionFile | None) -> str | None:
    return None if version_file is None else f"{version_file.mode:o}"


def staff_only(version_file: VersionFile, metadata: Mapping[str, Any], artifact_type: str) -> bool:
    """A file whose bytes declare MCP servers: its secrets cannot be masked in raw bytes."""
    return declares_mcp(version_file.path, metadata, artifact_type)
