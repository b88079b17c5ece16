"""Hostile input at every door: names, JSON, YAML frontmatter, unreadable files, archives,
a full disk. Each is refused with its rule and the offending path (or, for frontmatter,
imported with a warning), and a refusal writes nothing."""

import json
import os
import tarfile
import zipfile
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection

from artifacts.models import Artifact, Collection, ImportRecord
from importer.errors import Rule, UnsafePath
from importer.hashing import hash_directory
from importer.results import DedupDecision
from importer.services import import_paths
from tests.capabilities import file_permissions_enforced
from tests.plugins import (
    database_snapshot,
    full_plugin,
    make_tar,
    make_zip,
    manifest,
    storage_snapshot,
    synthetic_plugin,
)
from tests.test_bad_input import assert_rejected

pytestmark = pytest.mark.django_db(transaction=True)

LONG_SEGMENT = "é" * 128  # 256 bytes in UTF-8


# --- names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("x" * 10_000, "longer than 512 characters"),
        (LONG_SEGMENT, "longer than 255 bytes"),
        ("evil\u202etxt.md", "format character (U+202E)"),
        ("zero\u200bwidth", "format character (U+200B)"),
    ],
)
def test_plugin_names_past_the_limits_or_hiding_characters(
    make_tree, skillmeat_home, name, problem
):
    root = make_tree(full_plugin(**{".claude-plugin/plugin.json": manifest(name)}))
    failure = assert_rejected(root, Rule.BAD_NAME, ".claude-plugin/plugin.json", skillmeat_home)
    assert problem in failure.message
    assert len(failure.message) < 300  # the name is shown shortened, never 10,000 characters


def test_a_300_character_mcp_server_name_is_refused(make_tree, skillmeat_home):
    root = make_tree(full_plugin(**{".mcp.json": json.dumps({"s" * 300: {"command": "x"}})}))
    failure = assert_rejected(root, Rule.BAD_NAME, ".mcp.json", skillmeat_home)
    assert "longer than 255 bytes" in failure.message


def test_a_namespace_segment_ending_in_md_is_refused(make_tree, skillmeat_home):
    """``commands/x.md/y.md`` would need a folder where command ``x``'s file is."""
    root = make_tree(full_plugin(**{"commands/x.md/y.md": "nested"}))
    failure = assert_rejected(root, Rule.BAD_NAME, "commands/x.md/y.md", skillmeat_home)
    assert "ending in '.md'" in failure.message


def test_colliding_stored_paths_across_plugins_are_refused(make_tree, skillmeat_home):
    """Command ``x`` of one plugin (custom path) and ``x.md/y`` of another never meet in
    the collection's views: the second is refused before anything is written."""
    first = make_tree(
        {".claude-plugin/plugin.json": manifest("one", commands=["./cmds"]), "cmds/x.md": "x"}
    )
    assert import_paths([first]).failed == []
    second = make_tree(
        {
            ".claude-plugin/plugin.json": manifest("two", commands=["./extra"]),
            "extra/x.md/y.md": "y",
        }
    )
    assert_rejected(second, Rule.BAD_NAME, "extra/x.md/y.md", skillmeat_home)
    assert (skillmeat_home / "collections/default/commands/x.md").is_file()


def test_a_file_name_with_a_bidi_override_is_refused(make_tree, skillmeat_home):
    root = make_tree(full_plugin(**{"commands/gnp\u202e.md": "x"}))
    failure = assert_rejected(root, Rule.BAD_FILE_NAME, "commands/", skillmeat_home)
    assert "U+202E" in failure.message


@pytest.mark.parametrize("name", ["x" * 600, "evil\u202e", "../../x", LONG_SEGMENT])
def test_bad_collection_names_at_the_service_and_the_command(make_tree, name):
    root = make_tree(full_plugin())
    with pytest.raises(UnsafePath, match="collection name"):
        import_paths([root], collection=name)
    err = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("import_plugin", str(root), "--collection", name, stderr=err)
    assert exit_.value.code == 2
    assert "bad_name" in err.getvalue()
    assert Collection.objects.filter(name=name).count() == 0


@pytest.mark.parametrize("name", ["../../x", "a/b", "evil\u202e", LONG_SEGMENT])
def test_the_model_validators_refuse_bad_names(name):
    with pytest.raises(ValidationError):
        Collection(name=name).full_clean()
    artifact = Artifact(
        collection=Collection.objects.get_or_create(name="default")[0], type="skill", name=name
    )
    with pytest.raises(ValidationError):
        artifact.full_clean()


def test_namespaced_command_names_pass_the_model_validator():
    collection = Collection.objects.get_or_create(name="default")[0]
    Artifact(collection=collection, type="command", name="git/commit").full_clean()
    with pytest.raises(ValidationError):
        Artifact(collection=collection, type="command", name="x.md/y").full_clean()


# --- JSON -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"name": "p", "version": NaN}', "NaN"),
        ('{"name": "p", "size": Infinity}', "Infinity"),
        ('{"name": "p", "description": "a\\u0000b"}', "NUL"),
        ('{"name": "p", "description": "\\ud800"}', "lone surrogate"),
        ('{"name": "p", "x": ' + "[" * 65 + "]" * 65 + "}", "deeper than 64"),
        ('{"name": "p", "x": ' + "[" * 5000 + "]" * 5000 + "}", "deeper than 64"),
    ],
)
def test_json_a_database_could_not_hold_is_bad_json(make_tree, skillmeat_home, text, problem):
    root = make_tree(full_plugin(**{".claude-plugin/plugin.json": text}))
    failure = assert_rejected(root, Rule.BAD_JSON, ".claude-plugin/plugin.json", skillmeat_home)
    assert problem in failure.message


@pytest.mark.parametrize(
    "config",
    [
        '{"srv": {"command": "x", "env": {"K": "a\\u0000"}}}',
        '{"srv": {"command": "x", "timeout": NaN}}',
        '{"mcpServers": {"srv": {"command": "\\udfff"}}}',
    ],
)
def test_mcp_json_a_database_could_not_hold_is_bad_json(make_tree, skillmeat_home, config):
    root = make_tree(full_plugin(**{".mcp.json": config}))
    assert_rejected(root, Rule.BAD_JSON, ".mcp.json", skillmeat_home)


def test_a_marketplace_holding_nan_is_bad_json(make_tree, skillmeat_home):
    text = '{"name": "m", "owner": {"name": "o"}, "plugins": [], "rank": NaN}'
    root = make_tree({".claude-plugin/marketplace.json": text})
    assert_rejected(root, Rule.BAD_JSON, "marketplace.json", skillmeat_home)


# --- YAML frontmatter -------------------------------------------------------------------

BILLION_LAUGHS = "\n".join(
    [
        "---",
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)),
        "name: bomb",
        "---",
        "body",
    ]
)


@pytest.mark.parametrize(
    ("frontmatter", "warning"),
    [
        (BILLION_LAUGHS, "expands (through YAML aliases) past the size limit"),
        ("---\nx: &x [*x]\n---\nbody", "recursive YAML anchor"),
        ("---\n" + "k: " + "v" * 70_000 + "\n---\nbody", "larger than 64 KiB"),
        ("---\nx: .nan\n---\nbody", "NaN"),
        ("---\nx: -.inf\n---\nbody", "NaN or an infinite number"),
        ("---\nx: !!binary aGVsbG8=\n---\nbody", "JSON cannot hold (bytes)"),
        ("---\nx: !!set {a, b}\n---\nbody", "JSON cannot hold"),
        ("---\nx: 123456789012345678901234567890\n---\nbody", "integer too large"),
        ('---\nx: "nul\\0here"\n---\nbody', "NUL"),
        ("---\n" + "x:\n" + "".join(" " * (2 * i) + "- \n" for i in range(70)) + "---\n", ""),
        ("---\n- just\n- a list\n---\nbody", "not a mapping"),
    ],
)
def test_hostile_frontmatter_is_a_warning_and_empty_metadata(make_tree, frontmatter, warning):
    root = make_tree(full_plugin(**{"agents/reviewer.md": frontmatter}))
    report = import_paths([root])
    assert report.failed == []
    (result,) = report.results
    warnings = [w for w in result.warnings if w.startswith("agents/reviewer.md: frontmatter")]
    assert len(warnings) == 1 and warning in warnings[0], result.warnings
    agent = Artifact.objects.get(type="agent", name="reviewer")
    assert agent.latest_version.metadata == {}


def test_the_billion_laughs_costs_next_to_nothing(make_tree):
    """Parsed naively this document expands to 10^9 nodes; here it is refused after
    composing a few dozen."""
    from importer.frontmatter import FrontmatterRefused, parse_frontmatter

    with pytest.raises(FrontmatterRefused):
        parse_frontmatter(BILLION_LAUGHS)
    levels = ["a: &a [" + ",".join(["x" * 20] * 9) + "]"]
    for name, below in zip("bcde", "abcd", strict=True):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{below}"] * 9) + "]")
    small_bomb = "---\n" + "\n".join(levels) + "\n---\n"
    assert len(small_bomb) < 400
    with pytest.raises(FrontmatterRefused):  # would be an 8 MB row
        parse_frontmatter(small_bomb)


def test_ordinary_frontmatter_still_reads_and_dates_stay_text(make_tree):
    root = make_tree(
        full_plugin(
            **{
                "agents/reviewer.md": (
                    "---\nname: reviewer\ndate: 2024-01-31\ntags: [a, b]\n1: one\n---\n"
                )
            }
        )
    )
    assert import_paths([root]).failed == []
    metadata = Artifact.objects.get(type="agent", name="reviewer").latest_version.metadata
    assert metadata == {"name": "reviewer", "date": "2024-01-31", "tags": ["a", "b"], "1": "one"}


# --- unreadable files and folders -------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["commands/greet.md", "skills/pdf", ".claude-plugin/plugin.json", ".mcp.json"]
)
def test_unreadable_files_and_folders_are_named(make_tree, skillmeat_home, target):
    root = make_tree(full_plugin())
    os.chmod(root / target, 0)
    try:
        with file_permissions_enforced():
            failure = assert_rejected(root, Rule.UNREADABLE, target, skillmeat_home)
    finally:
        os.chmod(root / target, 0o755)
    assert "cannot be read" in failure.message and "Permission denied" in failure.message


# --- archives ---------------------------------------------------------------------------


def patch_zip_headers(archive, *, flags=None, method=None):
    """Rewrite the general-purpose flags and/or the compression method of every member, in
    the local headers and the central directory alike (what an encrypting or exotic zip
    tool writes)."""
    data = bytearray(archive.read_bytes())
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        start = data.find(signature)
        while start != -1:
            if flags is not None:
                data[start + flag_at : start + flag_at + 2] = flags.to_bytes(2, "little")
            if method is not None:
                data[start + method_at : start + method_at + 2] = method.to_bytes(2, "little")
            start = data.find(signature, start + 4)
    archive.write_bytes(bytes(data))
    return archive


def stored_zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as bundle:
        for name, content in members.items():
            bundle.writestr(name, content)
    return path


def test_an_encrypted_zip_member_is_bad_archive(tmp_path, skillmeat_home):
    archive = stored_zip(tmp_path / "secret.zip", {"p/commands/a.md": "a"})
    patch_zip_headers(archive, flags=0x1)
    failure = assert_rejected(
        archive, Rule.BAD_ARCHIVE, "secret.zip!p/commands/a.md", skillmeat_home
    )
    assert "encrypted" in failure.message


@pytest.mark.parametrize("method", [99, 93, 95])  # AES, zstd, xz: not readable here
def test_an_unreadable_compression_method_is_bad_archive(tmp_path, skillmeat_home, method):
    archive = stored_zip(tmp_path / "exotic.zip", {"p/commands/a.md": "a"})
    patch_zip_headers(archive, method=method)
    failure = assert_rejected(
        archive, Rule.BAD_ARCHIVE, "exotic.zip!p/commands/a.md", skillmeat_home
    )
    assert "compression method" in failure.message


def test_damaged_member_data_is_bad_archive_naming_the_member(tmp_path, skillmeat_home):
    archive = make_zip(tmp_path / "damaged.zip", {"p/commands/a.md": os.urandom(5000)})
    data = bytearray(archive.read_bytes())
    start = data.find(b"p/commands/a.md") + len("p/commands/a.md")
    data[start + 100 : start + 130] = b"\xff" * 30  # inside the member's data
    archive.write_bytes(bytes(data))
    assert_rejected(archive, Rule.BAD_ARCHIVE, "damaged.zip!p/commands/a.md", skillmeat_home)


def test_an_encrypted_zip_gives_the_json_document_on_the_command_line(tmp_path):
    archive = stored_zip(tmp_path / "secret.zip", {"p/commands/a.md": "a"})
    patch_zip_headers(archive, flags=0x1)
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("import_plugin", str(archive), "--json", stdout=out, stderr=err)
    assert exit_.value.code == 1
    (failure,) = json.loads(out.getvalue())["failed"]
    assert failure["rule"] == "bad_archive"


def test_folders_count_toward_the_entry_limit_and_listing_stops_there(
    tmp_path, skillmeat_home, settings
):
    settings.SKILLMEAT_MAX_FILES = 10
    archive = tmp_path / "folders.tgz"
    with tarfile.open(archive, "w:gz") as bundle:
        for index in range(40):
            info = tarfile.TarInfo(f"p/d{index}")
            info.type = tarfile.DIRTYPE
            bundle.addfile(info)
    # Cut the archive short: listing past the limit would meet the damage (bad_archive).
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) * 2 // 3])
    failure = assert_rejected(archive, Rule.TOO_MANY_FILES, "folders.tgz", skillmeat_home)
    assert "files and folders" in failure.message


def test_folders_count_toward_the_entry_limit_in_plugin_folders(
    make_tree, skillmeat_home, settings
):
    settings.SKILLMEAT_MAX_FILES = 12
    root = make_tree(full_plugin())
    for index in range(10):
        (root / f"empty{index}").mkdir()
    assert_rejected(root, Rule.TOO_MANY_FILES, "empty", skillmeat_home)


@pytest.mark.parametrize("maker", [make_zip, make_tar])
def test_a_file_and_a_folder_at_one_path_name_the_member(tmp_path, skillmeat_home, maker):
    suffix = ".zip" if maker is make_zip else ".tgz"
    archive = maker(
        tmp_path / f"clash{suffix}", {"p/commands/a.md": "file", "p/commands/a.md/b.md": "x"}
    )
    failure = assert_rejected(
        archive, Rule.UNSAFE_ARCHIVE_MEMBER, f"clash{suffix}!p/commands/a.md", skillmeat_home
    )
    assert failure.path == f"{archive}!p/commands/a.md"  # the member, not a staging folder


def test_a_zip_made_by_macos_finder_imports(make_tree, tmp_path):
    tree = full_plugin()
    members = {f"toolbox/{path}": content for path, content in tree.items()}
    members.update(
        {
            "toolbox/.DS_Store": b"\0\0\0\1Bud1",
            "__MACOSX/toolbox/._README.md": b"\0\5\26\7resource fork",
            "__MACOSX/._toolbox": b"\0\5\26\7",
            ".DS_Store": b"\0\0\0\1Bud1",
        }
    )
    archive = make_zip(tmp_path / "toolbox.zip", members)
    report = import_paths([archive])
    assert report.failed == []
    (result,) = report.results
    assert result.plugin_hash == hash_directory(make_tree(tree))


@pytest.mark.parametrize("name", ["skills", "hooks", "commands", "agents"])
@pytest.mark.parametrize("suffix", [".zip", ".tar.gz"])
def test_a_plugin_named_like_a_component_folder_round_trips(make_tree, tmp_path, name, suffix):
    first = import_paths([make_tree(full_plugin(name))])
    (imported,) = first.results
    output = tmp_path / f"export{suffix}"
    call_command("export_plugin", name, "-o", str(output), stdout=StringIO())
    again = import_paths([output])
    assert again.failed == []
    (result,) = again.results
    assert result.plugin_name == name
    assert result.plugin_hash == imported.plugin_hash
    assert result.decision == DedupDecision.LINK_EXISTING


# --- a full disk during the transaction ---------------------------------------------------


@pytest.fixture
def sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's max_page_count makes a real 'database or disk is full'")
    yield
    with connection.cursor() as cursor:  # the cap is the connection's: lift it again
        cursor.execute("PRAGMA max_page_count = 4294967294")


def fill_the_database(spare_pages):
    """Cap the SQLite file a few pages past its size: the next big write fails as on a
    full disk (SQLITE_FULL), from SQLite itself. The pages earlier tests freed go first (a
    write would reuse them without growing the file)."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM")
        cursor.execute("PRAGMA page_count")
        (pages,) = cursor.fetchone()
        cursor.execute(f"PRAGMA max_page_count = {pages + spare_pages}")


def test_a_database_full_mid_transaction_removes_blobs_and_keeps_a_record(
    sqlite_only, make_tree, skillmeat_home
):
    import_paths([make_tree(full_plugin())])
    blobs = storage_snapshot(skillmeat_home)
    rows = database_snapshot()
    fill_the_database(spare_pages=2)
    report = import_paths([make_tree(synthetic_plugin("big", 400))])
    (failure,) = report.failed
    assert failure.rule == Rule.DATABASE_FAILED
    assert "disk is full" not in failure.message and "nothing of it was kept" in failure.message
    assert storage_snapshot(skillmeat_home) == blobs
    record = ImportRecord.objects.get(status="failed")
    assert record.error_rule == Rule.DATABASE_FAILED
    assert str(record.transaction_id) in failure.message
    assert {k: v for k, v in database_snapshot().items() if k != "ImportRecord"} == {
        k: v for k, v in rows.items() if k != "ImportRecord"
    }


def test_when_even_the_record_cannot_be_written_the_failure_is_logged(
    sqlite_only, make_tree, skillmeat_home, caplog
):
    import_paths([make_tree(full_plugin())])
    blobs = storage_snapshot(skillmeat_home)
    with connection.cursor() as cursor:  # the history table refuses every row, as a full disk
        cursor.execute(
            "CREATE TRIGGER history_full BEFORE INSERT ON artifacts_importrecord "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    try:
        report = import_paths([make_tree(synthetic_plugin("big", 40))])
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER history_full")
    (failure,) = report.failed
    assert failure.rule == Rule.DATABASE_FAILED
    assert storage_snapshot(skillmeat_home) == blobs
    logged = caplog.text
    transaction_id = failure.message.split("transaction ")[1].split(")")[0]
    assert "import_record_failed" in logged and transaction_id in logged


# --- a damaged store --------------------------------------------------------------------


def remove_a_blob_of(name, home):
    version = Artifact.objects.get(type="plugin", name=name).latest_version
    digest = version.files.order_by("path").last().blob_hash
    blob = home / "objects" / digest[:2] / digest[2:]
    blob.unlink()
    return version


def test_a_missing_blob_fails_export_and_deploy_before_anything_is_written(
    make_tree, skillmeat_home, tmp_path
):
    import_paths([make_tree(full_plugin())])
    version = remove_a_blob_of("toolbox", skillmeat_home)
    label = f"plugin:toolbox@{version.content_hash[:12]}"
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    err = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("export_plugin", "toolbox", "-o", str(out_dir / "t.zip"), stderr=err)
    assert exit_.value.code == 1
    assert label in err.getvalue() and "verify_collection" in err.getvalue()
    assert list(out_dir.iterdir()) == []
    project = tmp_path / "project"
    project.mkdir()
    err = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("deploy_plugin", "toolbox", "--project", str(project), stderr=err)
    assert exit_.value.code == 1
    assert "missing_blob" in err.getvalue() and label in err.getvalue()
    assert list(project.iterdir()) == []
