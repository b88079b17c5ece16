"""The import service on real plugin trees: rows, pinned hashes, stored files and views."""

import json
import os
import stat

import pytest

from artifacts.models import (
    Artifact,
    ArtifactAssociation,
    ImportRecord,
    Version,
    VersionFile,
)
from blobstore import LocalBlobStore
from importer.hashing import hash_directory, hash_file, hash_mcp_config
from importer.results import DedupDecision
from importer.services import import_paths
from tests.plugins import MCP_SERVERS, full_plugin, row_counts, sha256_of, storage_snapshot

pytestmark = pytest.mark.django_db(transaction=True)

EXPECTED_CHILDREN = {
    ("command", "greet"),
    ("command", "git/commit"),
    ("agent", "reviewer"),
    ("skill", "pdf"),
    ("skill", "xlsx"),
    ("hook", "toolbox"),
    ("mcp", "notes"),
    ("mcp", "google calendar"),
}


def imported(*paths, **options):
    report = import_paths(list(paths), **options)
    assert report.failed == [], report.failed
    return report


def expected_hash(root, child_type, name):
    if child_type == "command":
        return hash_file(root / "commands" / f"{name}.md")[0]
    if child_type == "agent":
        return hash_file(root / "agents" / f"{name}.md")[0]
    if child_type == "skill":
        return hash_directory(root / "skills" / name)
    if child_type == "hook":
        return hash_directory(root / "hooks")
    return hash_mcp_config(MCP_SERVERS[name])


def test_happy_path_rows_hashes_files_and_views(make_tree, skillmeat_home):
    root = make_tree(full_plugin())
    (result,) = imported(root).results

    assert result.plugin_name == "toolbox"
    assert result.decision == DedupDecision.CREATE_NEW_ARTIFACT
    assert result.plugin_hash == hash_directory(root)
    assert {(c.type, c.name) for c in result.children} == EXPECTED_CHILDREN
    assert (result.children_imported, result.children_reused) == (8, 0)
    assert result.dry_run is False and len(result.transaction_id) == 36

    plugin = Artifact.objects.get(type="plugin")
    assert str(plugin.id) == result.plugin_id
    assert plugin.latest_version.content_hash == hash_directory(root)
    assert plugin.latest_version.version_label == "1.2.0"
    associations = ArtifactAssociation.objects.filter(parent_version=plugin.latest_version)
    assert associations.count() == 8
    for association in associations.select_related("child", "child_version"):
        child = association.child
        assert association.pinned_version_hash == expected_hash(root, child.type, child.name)
        assert association.child_version.content_hash == association.pinned_version_hash
        assert association.relationship_type == "contains"
    assert sorted(a.position for a in associations) == list(range(8))

    counts = row_counts()
    assert counts["Artifact"] == 9 and counts["Version"] == 9 and counts["ImportRecord"] == 1
    record = ImportRecord.objects.get()
    assert (record.status, record.transaction_id.hex) == (
        "succeeded",
        result.transaction_id.replace("-", ""),
    )
    assert (record.children_imported, record.children_reused) == (8, 0)

    # Every file of every version is in objects/, with the right bytes.
    store = LocalBlobStore()
    for version_file in VersionFile.objects.all():
        assert sha256_of(store.path_for(version_file.blob_hash)) == version_file.blob_hash
    # Executable scripts keep their mode in the version's files.
    script = VersionFile.objects.get(version__artifact__name="pdf", path="scripts/extract.py")
    assert script.mode == 0o100755

    collection = skillmeat_home / "collections" / "default"
    assert (collection / "commands/git/commit.md").read_bytes() == (
        root / "commands/git/commit.md"
    ).read_bytes()
    assert (collection / "agents/reviewer.md").exists()
    assert hash_directory(collection / "skills/pdf") == hash_directory(root / "skills/pdf")
    assert os.stat(collection / "skills/pdf/scripts/extract.py").st_mode & stat.S_IXUSR
    assert hash_directory(collection / "hooks/toolbox") == hash_directory(root / "hooks")
    assert (
        json.loads((collection / "mcp/google calendar.json").read_text())
        == MCP_SERVERS["google calendar"]
    )
    meta = sorted(
        str(p.relative_to(collection / "plugins/toolbox"))
        for p in (collection / "plugins/toolbox").rglob("*")
        if p.is_file()
    )
    assert meta == [
        ".claude-plugin/plugin.json",
        ".mcp.json",
        "LICENSE",
        "README.md",
        "scripts/setup.sh",
    ]
    assert list((skillmeat_home / "tmp").iterdir()) == []


def test_warnings_for_real_world_oddities(make_tree):
    root = make_tree(
        full_plugin(
            **{
                "skills/pdf/SKILL.md": "---\nname: PDF Tools\n---\nx\n",
                "agents/reviewer.md": "---\ndescription: Use this: when reviewing\n---\nx\n",
                "hooks/hooks.json": "[]",
                "skills/notes/readme.txt": "not a skill",
            }
        )
    )
    (result,) = imported(root).results
    text = "\n".join(result.warnings)
    assert "frontmatter name 'PDF Tools' differs" in text
    assert "agents/reviewer.md: frontmatter is not valid YAML" in text
    assert "hooks/hooks.json declares no hooks" in text
    assert "skills/notes/ has no SKILL.md" in text
    assert "skills/xlsx/SKILL.md: no frontmatter" in text


def test_plugin_without_manifest_is_named_after_its_folder(make_tree):
    root = make_tree(full_plugin(**{".claude-plugin/plugin.json": None}), name="bare-plugin")
    (result,) = imported(root).results
    assert result.plugin_name == "bare-plugin"
    assert Artifact.objects.filter(type="hook", name="bare-plugin").exists()


def test_manifest_name_need_not_equal_the_folder(make_tree, skillmeat_home):
    root = make_tree(full_plugin("real-name"), name="folder-name")
    (result,) = imported(root).results
    assert result.plugin_name == "real-name"
    assert (skillmeat_home / "collections/default/plugins/real-name").is_dir()


def test_custom_component_paths(make_tree):
    tree = {
        ".claude-plugin/plugin.json": json.dumps(
            {
                "name": "custom",
                "commands": ["./cmds", "./extra/one.md"],
                "agents": "./people",
                "skills": ["./skillset", "./single-skill"],
                "mcpServers": "./servers.json",
            }
        ),
        "cmds/a.md": "a",
        "cmds/ns/b.md": "b",
        "extra/one.md": "one",
        "commands/ignored.md": "the declared path replaces the default folder",
        "people/helper.md": "helper",
        "skillset/alpha/SKILL.md": "alpha",
        "skillset/beta/SKILL.md": "beta",
        "single-skill/SKILL.md": "single",
        "servers.json": json.dumps({"extra-server": {"command": "x"}}),
        ".mcp.json": json.dumps({"base-server": {"command": "y"}}),
    }
    (result,) = imported(make_tree(tree)).results
    assert {(c.type, c.name) for c in result.children} == {
        ("command", "a"),
        ("command", "ns/b"),
        ("command", "one"),
        ("agent", "helper"),
        ("skill", "alpha"),
        ("skill", "beta"),
        ("skill", "single-skill"),
        ("mcp", "extra-server"),
        ("mcp", "base-server"),
    }


def test_flat_mcp_file_inline_servers_and_an_identical_duplicate(make_tree):
    server = {"command": "npx", "args": ["calendar"]}
    tree = {
        ".claude-plugin/plugin.json": json.dumps(
            {"name": "mcps", "mcpServers": {"google calendar": server, "inline": {"url": "u"}}}
        ),
        ".mcp.json": json.dumps({"google calendar": server}),
    }
    (result,) = imported(make_tree(tree)).results
    assert sorted(c.name for c in result.children) == ["google calendar", "inline"]
    assert any("declared twice with the same configuration" in w for w in result.warnings)


def test_a_command_and_a_skill_with_the_same_name(make_tree):
    tree = {"commands/pdf.md": "command", "skills/pdf/SKILL.md": "skill"}
    (result,) = imported(make_tree(tree, name="same-names")).results
    assert sorted((c.type, c.name) for c in result.children) == [
        ("command", "pdf"),
        ("skill", "pdf"),
    ]


def test_empty_mcp_file_is_a_warning(make_tree):
    (result,) = imported(make_tree({"commands/a.md": "a", ".mcp.json": ""}, name="p")).results
    assert any(".mcp.json declares no MCP servers" in w for w in result.warnings)


def test_deep_skill_trees_and_nested_skill_md(make_tree):
    deep = "skills/deep/" + "/".join(f"l{i}" for i in range(7))
    tree = {
        "skills/deep/SKILL.md": "top",
        f"{deep}/SKILL.md": "nested is content",
        f"{deep}/x.bin": b"\x00\xff",
    }
    (result,) = imported(make_tree(tree, name="deep-plugin")).results
    assert [(c.type, c.name) for c in result.children] == [("skill", "deep")]
    version = Version.objects.get(artifact__name="deep")
    assert version.file_count == 3


def test_dry_run_reports_decisions_and_writes_nothing(make_tree, skillmeat_home):
    root = make_tree(full_plugin())
    before = (row_counts(), storage_snapshot(skillmeat_home))
    (result,) = imported(root, dry_run=True).results
    assert result.dry_run
    assert {c.decision for c in result.children} == {DedupDecision.CREATE_NEW_ARTIFACT}
    assert (row_counts(), storage_snapshot(skillmeat_home)) == before
    assert not (skillmeat_home / "tmp").exists()

    imported(root)
    changed = make_tree(full_plugin(**{"commands/greet.md": "Hi!\n"}))
    (result,) = imported(changed, dry_run=True).results
    decisions = {c.name: c.decision for c in result.children}
    assert decisions["greet"] == DedupDecision.CREATE_NEW_VERSION
    assert decisions["pdf"] == DedupDecision.LINK_EXISTING
    assert result.decision == DedupDecision.CREATE_NEW_VERSION
    assert row_counts()["Version"] == 9


def test_another_collection_is_separate(make_tree, skillmeat_home):
    root = make_tree(full_plugin())
    imported(root)
    (result,) = imported(root, collection="work").results
    assert result.decision == DedupDecision.CREATE_NEW_ARTIFACT
    assert Artifact.objects.filter(collection__name="work").count() == 9
    assert (skillmeat_home / "collections/work/skills/pdf/SKILL.md").exists()
