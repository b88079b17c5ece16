"""Content hashes exactly as DESIGN section 3, on real files."""

import hashlib
import os
import socket
import tracemalloc
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from importer.errors import LimitExceeded, Rule, UnsafePath
from importer.hashing import (
    Limits,
    canonical_json,
    hash_directory,
    hash_file,
    hash_mcp_config,
    hash_path,
    scan_tree,
)

SKILL = {
    "SKILL.md": "---\nname: pdf\n---\nRead PDFs.\n",
    "scripts/extract.py": ("#!/usr/bin/env python3\nprint('x')\n", 0o755),
    "reference/forms.md": "# Forms\n",
}


def independent_tree_hash(root: Path) -> str:
    """The manifest rule written out plainly, without the project's code."""
    lines = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            relative = path.relative_to(root).as_posix()
            mode = "100755" if path.stat().st_mode & 0o100 else "100644"
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            lines.append((relative.encode(), f"{mode} {digest} {relative}\n"))
    manifest = "".join(line for _key, line in sorted(lines))
    return hashlib.sha256(manifest.encode()).hexdigest()


def test_tree_hash_equals_the_manifest_rule_computed_independently(make_tree):
    root = make_tree(SKILL)
    assert hash_directory(root) == independent_tree_hash(root)
    assert len(hash_directory(root)) == 64


def test_manifest_sorts_by_utf8_bytes_not_by_code_points(make_tree):
    # U+FF21 (3 UTF-8 bytes, EF BC A1) sorts before U+1F600 (4 bytes, F0 ...) either way, but
    # U+E000 (EE 80 80) vs U+10000 (F0 90 80 80): both orders agree; the interesting pair is
    # U+FFFD vs U+10000, whose UTF-16 order would differ. Check against plain byte sorting.
    root = make_tree({"\ufffd.md": "a", "\U00010000.md": "b", "Z.md": "c", "a.md": "d"})
    manifest = hash_path(root).manifest
    paths = [line.split(" ", 2)[2] for line in manifest.splitlines()]
    assert paths == sorted(paths, key=lambda p: p.encode())
    assert hash_directory(root) == independent_tree_hash(root)


def test_same_content_same_hash_whatever_order_and_mtime(make_tree):
    first = make_tree(SKILL)
    second = make_tree(dict(reversed(list(SKILL.items()))))
    os.utime(second / "SKILL.md", (0, 0))
    assert hash_directory(first) == hash_directory(second)


@pytest.mark.parametrize(
    "change",
    ["byte", "path", "rename", "exec_bit", "empty_file_added"],
)
def test_any_change_changes_the_hash(make_tree, change):
    base = make_tree(SKILL)
    changed = make_tree(SKILL)
    if change == "byte":
        (changed / "SKILL.md").write_text("---\nname: pdf\n---\nRead PDFs!\n")
    elif change == "path":
        (changed / "reference").rename(changed / "refs")
    elif change == "rename":
        (changed / "SKILL.md").rename(changed / "skill.md")
    elif change == "exec_bit":
        os.chmod(changed / "reference/forms.md", 0o755)
    else:
        (changed / "new.md").write_bytes(b"")
    assert hash_directory(base) != hash_directory(changed)


def test_only_the_group_and_other_execute_bits_do_not_matter(make_tree):
    base = make_tree(SKILL)
    other = make_tree(SKILL)
    os.chmod(other / "SKILL.md", 0o666)
    os.chmod(other / "scripts/extract.py", 0o700)
    assert hash_directory(base) == hash_directory(other)


def test_ignored_names_do_not_count_and_nothing_else_is_ignored(make_tree):
    base = make_tree(SKILL)
    noisy = make_tree(
        {
            **SKILL,
            ".git/HEAD": "ref: refs/heads/main\n",
            ".hg/store": "x",
            ".svn/entries": "x",
            "scripts/__pycache__/extract.cpython-311.pyc": b"\x00\x01",
            "scripts/old.pyc": b"\x00",
            ".DS_Store": b"\x00",
            "Thumbs.db": b"\x00",
            "desktop.ini": "[x]",
        }
    )
    assert hash_directory(base) == hash_directory(noisy)
    for kept in [".gitignore", ".github/workflows/ci.yml", ".env", "x.pyc.txt", "git/x", "ds"]:
        other = make_tree({**SKILL, kept: "x"})
        assert hash_directory(other) != hash_directory(base), kept


def test_empty_directories_contribute_nothing(make_tree):
    base = make_tree(SKILL)
    other = make_tree(SKILL)
    (other / "empty/deeper").mkdir(parents=True)
    assert hash_directory(base) == hash_directory(other)


def test_file_hash_is_sha256_of_bytes(make_tree):
    root = make_tree({"commit.md": "Commit the staged changes.\n"})
    assert (
        hash_file(root / "commit.md")[0]
        == hashlib.sha256(b"Commit the staged changes.\n").hexdigest()
    )


def test_a_file_holding_a_directory_manifest_is_told_apart_by_kind(make_tree):
    directory = make_tree(SKILL)
    manifest = hash_path(directory).manifest
    impostor = make_tree({"impostor.md": manifest})
    as_dir = hash_path(directory)
    as_file = hash_path(impostor / "impostor.md")
    # Same digest by construction: identity in the collection is (type, name), never the
    # hash alone, so the two cannot be confused (see test_models for the rows).
    assert as_dir.content_hash == as_file.content_hash
    assert (as_dir.kind, as_file.kind) == ("directory", "file")


def test_mcp_hash_is_of_canonical_json():
    config = {"command": "npx", "args": ["-y", "srv"], "env": {"KEY": "vålue"}}
    expected = b'{"args":["-y","srv"],"command":"npx","env":{"KEY":"v\xc3\xa5lue"}}'
    assert canonical_json(config) == expected
    assert hash_mcp_config(config) == hashlib.sha256(expected).hexdigest()


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        (b"bad\xffname.md", "not valid UTF-8"),
        (b"new\nline.md", "control character"),
        (b"back\\slash.md", "backslash"),
        (b"tab\tname.md", "control character"),
        (b"del\x7fname.md", "control character"),
    ],
)
def test_bad_file_names_are_rejected_naming_the_path(tmp_path, name, fragment):
    root = tmp_path / "skill"
    (root / "sub").mkdir(parents=True)
    (root / "SKILL.md").write_text("x")
    with open(os.path.join(os.fsencode(root / "sub"), name), "wb") as handle:
        handle.write(b"x")
    with pytest.raises(UnsafePath) as caught:
        hash_directory(root)
    assert caught.value.rule == Rule.BAD_FILE_NAME
    assert fragment in caught.value.message
    assert caught.value.path.startswith(f"{root}/sub/")


def test_a_link_to_a_file_inside_hashes_as_a_copy_and_one_outside_is_refused(make_tree):
    root = make_tree(SKILL)
    (root / "link.md").symlink_to("SKILL.md")
    copy = make_tree({**SKILL, "link.md": SKILL["SKILL.md"]})
    assert hash_directory(root) == hash_directory(copy)
    (root / "outside.md").symlink_to(root.parent / "elsewhere.md")
    (root.parent / "elsewhere.md").write_text("x")
    with pytest.raises(UnsafePath) as caught:
        hash_directory(root)
    assert caught.value.rule == Rule.UNSAFE_FILE_TYPE
    assert caught.value.path == f"{root}/outside.md"
    assert "outside the plugin" in caught.value.message


def test_a_symlink_loop_is_rejected(make_tree):
    root = make_tree(SKILL)
    (root / "loop").symlink_to(root)
    (root / "a").symlink_to(root / "b")
    (root / "b").symlink_to(root / "a")
    with pytest.raises(UnsafePath) as caught:
        hash_directory(root)
    assert caught.value.rule == Rule.UNSAFE_FILE_TYPE


def test_a_symlink_given_directly_is_rejected(make_tree):
    root = make_tree(SKILL)
    (root.parent / "alias").symlink_to(root / "SKILL.md")
    with pytest.raises(UnsafePath):
        hash_path(root.parent / "alias")
    with pytest.raises(UnsafePath):
        hash_file(root.parent / "alias")


def test_fifos_and_sockets_are_rejected(make_tree):
    root = make_tree(SKILL)
    os.mkfifo(root / "pipe")
    with pytest.raises(UnsafePath, match="FIFO"):
        hash_directory(root)
    os.unlink(root / "pipe")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(root / "sock"))
        with pytest.raises(UnsafePath, match="socket"):
            hash_directory(root)
    finally:
        server.close()


@pytest.mark.parametrize(
    ("limits", "rule"),
    [
        (Limits(max_files=2), Rule.TOO_MANY_FILES),
        (Limits(max_depth=1), Rule.TOO_DEEP),
        (Limits(max_file_bytes=10), Rule.FILE_TOO_LARGE),
        (Limits(max_total_bytes=40), Rule.TOO_LARGE),
    ],
)
def test_limits_are_enforced_while_scanning(make_tree, limits, rule):
    root = make_tree(SKILL)
    with pytest.raises(LimitExceeded) as caught:
        scan_tree(root, limits=limits)
    assert caught.value.rule == rule
    assert str(root) in caught.value.path


def test_a_200_mib_file_hashes_in_bounded_memory(tmp_path):
    big = tmp_path / "big.bin"
    chunk = os.urandom(1024 * 1024)
    expected = hashlib.sha256()
    with big.open("wb") as handle:
        for _ in range(200):
            handle.write(chunk)
            expected.update(chunk)
    tracemalloc.start()
    try:
        digest, size = hash_file(big)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (digest, size) == (expected.hexdigest(), 200 * 1024 * 1024)
    assert peak < 4 * 1024 * 1024


def test_hash_artifact_command_prints_hash_and_manifest(make_tree):
    root = make_tree(SKILL)
    out = StringIO()
    call_command("hash_artifact", str(root), "--manifest", stdout=out)
    first, *manifest = out.getvalue().splitlines()
    assert first == independent_tree_hash(root)
    assert len(manifest) == 3
    assert manifest[2].startswith("100755 ") and manifest[2].endswith(" scripts/extract.py")
    out = StringIO()
    call_command("hash_artifact", str(root / "SKILL.md"), stdout=out)
    assert out.getvalue().strip() == hashlib.sha256((root / "SKILL.md").read_bytes()).hexdigest()


def test_hash_artifact_command_reports_bad_paths(make_tree):
    root = make_tree(SKILL)
    with pytest.raises(CommandError, match="no such file"):
        call_command("hash_artifact", str(root / "absent"))
    (root / "link").symlink_to(root)
    with pytest.raises(CommandError, match="a link to a folder"):
        call_command("hash_artifact", str(root))
