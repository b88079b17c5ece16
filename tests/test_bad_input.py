"""Every kind of bad input is rejected with an error naming the path and the rule, and
nothing is written: no row (but the failed import's history record) and no file."""

import json
import os
import struct
import tarfile

import pytest

from importer.errors import Rule
from importer.services import import_paths
from tests.plugins import (
    database_snapshot,
    full_plugin,
    make_tar,
    make_zip,
    manifest,
    storage_snapshot,
)

pytestmark = pytest.mark.django_db(transaction=True)


def assert_rejected(path, rule, where, home, **options):
    before = (database_snapshot(), storage_snapshot(home))
    report = import_paths([path], **options)
    assert report.results == []
    (failure,) = report.failed
    assert failure.rule == rule, failure
    assert where in failure.path, failure
    assert failure.message
    assert (database_snapshot(), storage_snapshot(home)) == before
    tmp = home / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []
    return failure


# --- plugin manifests and names --------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        ("[]", Rule.BAD_MANIFEST),
        ('"toolbox"', Rule.BAD_MANIFEST),
        ('{"version": "1"}', Rule.BAD_MANIFEST),
        ('{"name": 42}', Rule.BAD_MANIFEST),
        ('{"name": "  "}', Rule.BAD_MANIFEST),
        ("{not json", Rule.BAD_JSON),
    ],
)
def test_bad_manifests(make_tree, skillmeat_home, content, rule):
    root = make_tree(full_plugin(**{".claude-plugin/plugin.json": content}))
    assert_rejected(root, rule, ".claude-plugin/plugin.json", skillmeat_home)


@pytest.mark.parametrize("name", ["../../x", "a/b", "back\\slash", "new\nline", ".."])
def test_plugin_names_that_would_become_unsafe_paths(make_tree, skillmeat_home, name):
    root = make_tree(full_plugin(**{".claude-plugin/plugin.json": json.dumps({"name": name})}))
    failure = assert_rejected(root, Rule.BAD_NAME, ".claude-plugin/plugin.json", skillmeat_home)
    assert "plugin name" in failure.message


@pytest.mark.parametrize("server", ["../etc", "a/b", "x\\y", "tab\there"])
def test_mcp_server_names_that_would_become_unsafe_paths(make_tree, skillmeat_home, server):
    root = make_tree(full_plugin(**{".mcp.json": json.dumps({server: {"command": "x"}})}))
    assert_rejected(root, Rule.BAD_NAME, ".mcp.json", skillmeat_home)


def test_a_space_in_a_name_is_fine(make_tree):
    root = make_tree(
        full_plugin(**{".mcp.json": json.dumps({"google calendar": {"command": "x"}})})
    )
    assert import_paths([root]).failed == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("commands", "../outside"),
        ("commands", "/etc"),
        ("agents", ["./ok", "./a/../../up"]),
        ("skills", "..\\windows"),
        ("mcpServers", "../servers.json"),
        ("hooks", "../hooks.json"),
    ],
)
def test_component_paths_that_escape_the_plugin(make_tree, skillmeat_home, key, value):
    root = make_tree(
        full_plugin(**{".claude-plugin/plugin.json": json.dumps({"name": "p", key: value})})
    )
    assert_rejected(root, Rule.PATH_ESCAPES, ".claude-plugin/plugin.json", skillmeat_home)


def test_mcp_server_declared_twice_with_different_configurations(make_tree, skillmeat_home):
    root = make_tree(
        full_plugin(
            **{
                ".claude-plugin/plugin.json": json.dumps(
                    {"name": "p", "mcpServers": {"notes": {"command": "b"}}}
                ),
                ".mcp.json": json.dumps({"notes": {"command": "a"}}),
            }
        )
    )
    failure = assert_rejected(root, Rule.DUPLICATE_CHILD, "mcpServers#notes", skillmeat_home)
    assert ".mcp.json#notes" in failure.message


def test_two_commands_differing_only_in_case_with_different_content(make_tree, skillmeat_home):
    root = make_tree(full_plugin(**{"commands/Greet.md": "other content"}))
    assert_rejected(root, Rule.DUPLICATE_CHILD, "commands/", skillmeat_home)


def test_mcp_configuration_that_is_not_an_object(make_tree, skillmeat_home):
    root = make_tree(
        full_plugin(**{".mcp.json": json.dumps({"mcpServers": {"notes": "npx notes"}})})
    )
    assert_rejected(root, Rule.BAD_JSON, ".mcp.json#notes", skillmeat_home)


# --- files ------------------------------------------------------------------------------


def test_a_symlink_anywhere_is_rejected(make_tree, skillmeat_home):
    root = make_tree(full_plugin())
    (root / "skills/pdf/link.md").symlink_to("/etc/passwd")
    assert_rejected(root, Rule.UNSAFE_FILE_TYPE, "skills/pdf/link.md", skillmeat_home)


def test_a_symlinked_skill_folder_is_rejected(make_tree, skillmeat_home, tmp_path):
    root = make_tree(full_plugin())
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/SKILL.md").write_text("x")
    (root / "skills/linked").symlink_to(tmp_path / "elsewhere")
    assert_rejected(root, Rule.UNSAFE_FILE_TYPE, "skills/linked", skillmeat_home)


def test_a_fifo_is_rejected(make_tree, skillmeat_home):
    root = make_tree(full_plugin())
    os.mkfifo(root / "commands/pipe.md")
    assert_rejected(root, Rule.UNSAFE_FILE_TYPE, "commands/pipe.md", skillmeat_home)


@pytest.mark.parametrize(
    "name", [b"new\nline.md", b"back\\slash.md", b"bell\x07.md", b"latin1-\xe9.md"]
)
def test_bad_file_names(make_tree, skillmeat_home, name):
    root = make_tree(full_plugin())
    with open(os.path.join(os.fsencode(root / "commands"), name), "wb") as handle:
        handle.write(b"x")
    assert_rejected(root, Rule.BAD_FILE_NAME, "commands/", skillmeat_home)


@pytest.mark.parametrize(
    ("setting", "value", "rule"),
    [
        ("SKILLMEAT_MAX_FILES", 5, Rule.TOO_MANY_FILES),
        ("SKILLMEAT_MAX_FILE_BYTES", 500, Rule.FILE_TOO_LARGE),
        ("SKILLMEAT_MAX_TOTAL_BYTES", 1500, Rule.TOO_LARGE),
        ("SKILLMEAT_MAX_DEPTH", 2, Rule.TOO_DEEP),
    ],
)
def test_plugins_over_the_limits(make_tree, skillmeat_home, settings, setting, value, rule):
    setattr(settings, setting, value)
    root = make_tree(full_plugin())
    assert_rejected(root, rule, str(root), skillmeat_home)


def test_not_a_plugin(make_tree, skillmeat_home, tmp_path):
    empty = make_tree({"notes.txt": "nothing here"})
    assert_rejected(empty, Rule.NOT_A_PLUGIN, str(empty), skillmeat_home)
    assert_rejected(tmp_path / "absent", Rule.NOT_FOUND, "absent", skillmeat_home)
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert_rejected(plain, Rule.NOT_A_PLUGIN, "plain.txt", skillmeat_home)


def test_a_bad_collection_name_is_refused_before_anything_runs(make_tree):
    from importer.errors import UnsafePath

    with pytest.raises(UnsafePath, match="collection name"):
        import_paths([make_tree(full_plugin())], collection="../x")


# --- marketplaces -----------------------------------------------------------------------


def marketplace(make_tree, document, **files):
    return make_tree({".claude-plugin/marketplace.json": json.dumps(document), **files})


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"owner": {"name": "o"}, "plugins": []},
        {"name": "m", "plugins": []},
        {"name": "m", "owner": {}, "plugins": []},
        {"name": "m", "owner": {"name": "o"}},
        {"name": "m", "owner": {"name": "o"}, "plugins": [{"source": "./p"}]},
        {"name": "m", "owner": {"name": "o"}, "plugins": [{"name": "p"}]},
    ],
)
def test_bad_marketplaces_are_rejected_whole(make_tree, skillmeat_home, document):
    root = marketplace(make_tree, document, **{"p/commands/a.md": "a"})
    assert_rejected(root, Rule.BAD_MARKETPLACE, "marketplace.json", skillmeat_home)


@pytest.mark.parametrize("source", ["../elsewhere", "/abs/path", "./p/../../x"])
def test_marketplace_sources_that_escape(make_tree, skillmeat_home, source):
    document = {"name": "m", "owner": {"name": "o"}, "plugins": [{"name": "p", "source": source}]}
    root = marketplace(make_tree, document)
    assert_rejected(root, Rule.PATH_ESCAPES, "marketplace.json#plugins[0]", skillmeat_home)


def test_a_marketplace_source_that_is_a_symlink(make_tree, skillmeat_home, tmp_path):
    document = {
        "name": "m",
        "owner": {"name": "o"},
        "plugins": [{"name": "p", "source": "./linked"}],
    }
    root = marketplace(make_tree, document)
    real = make_tree(full_plugin())
    (root / "linked").symlink_to(real)
    assert_rejected(root, Rule.UNSAFE_FILE_TYPE, "linked", skillmeat_home)


# --- archives ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "member", ["../evil.md", "/etc/evil.md", "ok/../../evil.md", "dir\\evil.md"]
)
def test_zip_members_with_unsafe_paths(tmp_path, skillmeat_home, member):
    archive = make_zip(tmp_path / "bad.zip", {"p/commands/a.md": "a", member: "evil"})
    assert_rejected(archive, Rule.UNSAFE_ARCHIVE_MEMBER, "bad.zip!", skillmeat_home)
    assert not (tmp_path / "evil.md").exists()


@pytest.mark.parametrize("member", ["../evil.md", "/etc/evil.md", "ok/../../evil.md"])
def test_tar_members_with_unsafe_paths(tmp_path, skillmeat_home, member):
    archive = make_tar(tmp_path / "bad.tar.gz", {"p/commands/a.md": "a", member: "evil"})
    assert_rejected(archive, Rule.UNSAFE_ARCHIVE_MEMBER, "bad.tar.gz!", skillmeat_home)


def test_zip_symlink_members_are_rejected_not_extracted_as_files(tmp_path, skillmeat_home):
    archive = make_zip(tmp_path / "link.zip", {"p/commands/a.md": "a"})
    import zipfile

    with zipfile.ZipFile(archive, "a") as bundle:
        info = zipfile.ZipInfo("p/commands/link.md")
        info.create_system = 3
        info.external_attr = 0o120777 << 16
        bundle.writestr(info, "/etc/passwd")
    assert_rejected(archive, Rule.UNSAFE_ARCHIVE_MEMBER, "p/commands/link.md", skillmeat_home)


@pytest.mark.parametrize(
    "kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE]
)
def test_tar_links_and_devices_are_rejected(tmp_path, skillmeat_home, kind):
    archive = tmp_path / "special.tgz"
    with tarfile.open(archive, "w:gz") as bundle:
        info = tarfile.TarInfo("p/commands/special.md")
        info.type = kind
        info.linkname = "p/commands/a.md" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
        bundle.addfile(info)
    assert_rejected(archive, Rule.UNSAFE_ARCHIVE_MEMBER, "p/commands/special.md", skillmeat_home)


def test_a_zip_bomb_over_the_limits(tmp_path, skillmeat_home, settings):
    settings.SKILLMEAT_MAX_FILE_BYTES = 1024 * 1024
    archive = make_zip(tmp_path / "bomb.zip", {"p/commands/a.md": b"\0" * (20 * 1024 * 1024)})
    assert archive.stat().st_size < 100 * 1024
    assert_rejected(archive, Rule.FILE_TOO_LARGE, "p/commands/a.md", skillmeat_home)


def test_a_tar_bomb_over_the_total_limit(tmp_path, skillmeat_home, settings):
    settings.SKILLMEAT_MAX_TOTAL_BYTES = 4 * 1024 * 1024
    members = {f"p/commands/c{i}.md": b"\0" * (1024 * 1024) for i in range(6)}
    archive = make_tar(tmp_path / "bomb.tar.gz", members)
    assert_rejected(archive, Rule.TOO_LARGE, "bomb.tar.gz", skillmeat_home)


def lie_about_sizes(archive, claimed):
    """Rewrite every size field of a zip's headers to ``claimed`` bytes."""
    data = bytearray(archive.read_bytes())
    offset = 0
    while (offset := data.find(b"PK\x03\x04", offset)) != -1:
        struct.pack_into("<I", data, offset + 22, claimed)
        offset += 4
    offset = 0
    while (offset := data.find(b"PK\x01\x02", offset)) != -1:
        struct.pack_into("<I", data, offset + 24, claimed)
        offset += 4
    archive.write_bytes(bytes(data))


def test_a_zip_bomb_whose_headers_lie_about_the_sizes(tmp_path, skillmeat_home, settings):
    settings.SKILLMEAT_MAX_FILE_BYTES = 1024 * 1024
    archive = make_zip(tmp_path / "liar.zip", {"p/commands/a.md": b"\0" * (20 * 1024 * 1024)})
    lie_about_sizes(archive, 100)
    failure = assert_rejected(archive, Rule.BAD_ARCHIVE, "liar.zip", skillmeat_home)
    assert "CRC" in failure.message or "size" in failure.message


def test_a_corrupted_archive(tmp_path, skillmeat_home):
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04 this is not a zip")
    assert_rejected(archive, Rule.BAD_ARCHIVE, "broken.zip", skillmeat_home)
    tgz = tmp_path / "broken.tgz"
    tgz.write_bytes(b"\x1f\x8b\x08\x00 nope")
    assert_rejected(tgz, Rule.BAD_ARCHIVE, "broken.tgz", skillmeat_home)


def test_an_archive_without_a_plugin_root(tmp_path, skillmeat_home):
    archive = make_zip(tmp_path / "two.zip", {"a/commands/x.md": "x", "b/commands/y.md": "y"})
    assert_rejected(archive, Rule.NOT_A_PLUGIN, "two.zip", skillmeat_home)


def test_an_archive_over_the_file_count(tmp_path, skillmeat_home, settings):
    settings.SKILLMEAT_MAX_FILES = 3
    archive = make_zip(tmp_path / "many.zip", {f"p/commands/c{i}.md": "x" for i in range(5)})
    assert_rejected(archive, Rule.TOO_MANY_FILES, "many.zip", skillmeat_home)


def test_manifest_text_is_checked_inside_archives_too(tmp_path, skillmeat_home):
    archive = make_zip(
        tmp_path / "named.zip",
        {"p/.claude-plugin/plugin.json": manifest("../x"), "p/commands/a.md": "a"},
    )
    assert_rejected(
        archive, Rule.BAD_NAME, "named.zip!p/.claude-plugin/plugin.json", skillmeat_home
    )


def test_archive_member_names_that_are_not_utf8(tmp_path, skillmeat_home):
    # An ASCII placeholder of the same length, then the raw Latin-1 byte put in its place
    # (with no UTF-8 flag, as old zip tools write names).
    archive = make_zip(tmp_path / "latin1.zip", {"p/commands/a.md": "a", "p/commands/cafX.md": "b"})
    archive.write_bytes(archive.read_bytes().replace(b"cafX", b"caf\xe9"))
    assert_rejected(archive, Rule.BAD_FILE_NAME, "latin1.zip!p/commands/caf", skillmeat_home)
    tgz = tmp_path / "latin1.tgz"
    with tarfile.open(tgz, "w:gz", encoding="latin-1", format=tarfile.GNU_FORMAT) as bundle:
        bundle.addfile(tarfile.TarInfo("p/commands/caf\u00e9.md"), None)
    assert_rejected(tgz, Rule.BAD_FILE_NAME, "latin1.tgz!p/commands/caf", skillmeat_home)
