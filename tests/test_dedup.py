"""Deduplication exactly as DESIGN section 5, on real plugin trees and a real database."""

import json

import pytest

from artifacts.models import Artifact, ArtifactAssociation, VersionFile
from artifacts.selectors import artifact_parents, plugin_children
from blobstore import LocalBlobStore
from importer.hashing import TreeFile, hash_directory, tree_hash
from importer.results import DedupDecision
from importer.services import import_paths
from importer.storage import rebuild_files
from tests.plugins import full_plugin, manifest, row_counts, storage_snapshot

pytestmark = pytest.mark.django_db(transaction=True)

LINK = DedupDecision.LINK_EXISTING
NEW_VERSION = DedupDecision.CREATE_NEW_VERSION
NEW = DedupDecision.CREATE_NEW_ARTIFACT


def import_one(root, **options):
    report = import_paths([root], **options)
    assert report.failed == [], report.failed
    (result,) = report.results
    return result


def decisions(result):
    return {(c.type, c.name): c.decision for c in result.children}


def current_children(plugin_name):
    plugin = Artifact.objects.get(type="plugin", name=plugin_name)
    return {(a.child.type, a.child.name): a for a in plugin_children(plugin)}


def test_reimporting_the_same_plugin_creates_nothing_and_changes_no_file(make_tree, skillmeat_home):
    root = make_tree(full_plugin())
    import_one(root)
    counts, files = row_counts(), storage_snapshot(skillmeat_home)
    again = import_one(root)
    assert again.decision == LINK
    assert set(decisions(again).values()) == {LINK}
    assert (again.children_imported, again.children_reused) == (0, 8)
    after = row_counts()
    assert after == {**counts, "ImportRecord": counts["ImportRecord"] + 1}
    assert storage_snapshot(skillmeat_home) == files


def test_a_second_plugin_sharing_two_children_links_them(make_tree):
    first = make_tree(full_plugin())
    import_one(first)
    other = make_tree(
        {
            ".claude-plugin/plugin.json": manifest("other"),
            "commands/greet.md": (first / "commands/greet.md").read_text(),
            "skills/pdf/SKILL.md": (first / "skills/pdf/SKILL.md").read_text(),
            "skills/pdf/scripts/extract.py": (
                (first / "skills/pdf/scripts/extract.py").read_text(),
                0o755,
            ),
            "skills/pdf/assets/logo.png": (first / "skills/pdf/assets/logo.png").read_bytes(),
            "commands/own.md": "only in other",
        }
    )
    result = import_one(other)
    assert decisions(result) == {
        ("command", "greet"): LINK,
        ("skill", "pdf"): LINK,
        ("command", "own"): NEW,
    }
    assert result.decision == NEW
    assert set(current_children("other")) == {
        ("command", "greet"),
        ("skill", "pdf"),
        ("command", "own"),
    }
    for name, artifact_type in (("greet", "command"), ("pdf", "skill")):
        child = Artifact.objects.get(type=artifact_type, name=name)
        assert {a.parent_version.artifact.name for a in artifact_parents(child)} == {
            "toolbox",
            "other",
        }
        assert child.versions.count() == 1


def rebuilt_hash(version, tmp_path):
    files = [
        TreeFile(f.path, f.mode, f.size, f.blob_hash)
        for f in VersionFile.objects.filter(version=version)
    ]
    destination = tmp_path / f"rebuilt-{version.pk}"
    rebuild_files(LocalBlobStore(), files, destination)
    return hash_directory(destination), tree_hash(files)


def test_a_changed_child_makes_new_versions_and_old_ones_stay_pinned(make_tree, tmp_path):
    original = make_tree(full_plugin())
    first = import_one(original)
    old_skill_hash = hash_directory(original / "skills/pdf")
    changed = make_tree(
        full_plugin(**{"skills/pdf/SKILL.md": "---\nname: pdf\n---\nVersion two.\n"})
    )
    second = import_one(changed)

    assert second.decision == NEW_VERSION
    assert decisions(second)[("skill", "pdf")] == NEW_VERSION
    assert [d for d in decisions(second).values() if d != LINK] == [NEW_VERSION]
    plugin = Artifact.objects.get(type="plugin")
    skill = Artifact.objects.get(type="skill", name="pdf")
    assert plugin.versions.count() == 2 and skill.versions.count() == 2
    assert plugin.latest_version.content_hash == second.plugin_hash
    assert skill.latest_version.content_hash == hash_directory(changed / "skills/pdf")

    new_pin = current_children("toolbox")[("skill", "pdf")]
    assert new_pin.pinned_version_hash == skill.latest_version.content_hash
    old_plugin_version = plugin.versions.get(content_hash=first.plugin_hash)
    old_pin = plugin_children(plugin, version=old_plugin_version).get(child=skill)
    assert old_pin.pinned_version_hash == old_skill_hash
    # The old version is still rebuildable byte for byte from objects/.
    assert rebuilt_hash(old_pin.child_version, tmp_path) == (old_skill_hash, old_skill_hash)

    # Re-importing the old plugin content creates nothing and does not move "latest".
    counts = row_counts()
    third = import_one(original)
    assert third.decision == LINK and set(decisions(third).values()) == {LINK}
    assert row_counts() == {**counts, "ImportRecord": counts["ImportRecord"] + 1}
    plugin.refresh_from_db()
    skill.refresh_from_db()
    assert plugin.latest_version.content_hash == second.plugin_hash
    assert skill.latest_version.content_hash == hash_directory(changed / "skills/pdf")


def test_same_bytes_under_another_name_is_a_new_artifact_with_blobs_stored_once(
    make_tree, skillmeat_home
):
    root = make_tree(full_plugin())
    import_one(root)
    blobs_before = set(LocalBlobStore().all_digests())
    twin = make_tree(
        {
            ".claude-plugin/plugin.json": manifest("twin"),
            "commands/hello.md": (root / "commands/greet.md").read_text(),
        }
    )
    result = import_one(twin)
    assert decisions(result) == {("command", "hello"): NEW}
    hello = Artifact.objects.get(name="hello")
    greet = Artifact.objects.get(name="greet")
    assert hello.latest_version.content_hash == greet.latest_version.content_hash
    # Only the twin plugin's manifest is a new blob.
    assert set(LocalBlobStore().all_digests()) - blobs_before == {
        f.blob_hash
        for f in VersionFile.objects.filter(
            path=".claude-plugin/plugin.json", version__artifact__name="twin"
        )
    }


def test_a_removed_child_leaves_the_current_children_but_stays_in_history(
    make_tree, skillmeat_home
):
    root = make_tree(full_plugin())
    first = import_one(root)
    smaller = make_tree(full_plugin(**{"agents/reviewer.md": None}))
    import_one(smaller)
    assert ("agent", "reviewer") not in current_children("toolbox")
    plugin = Artifact.objects.get(type="plugin")
    old = plugin.versions.get(content_hash=first.plugin_hash)
    assert plugin_children(plugin, version=old).filter(child__name="reviewer").exists()
    reviewer = Artifact.objects.get(name="reviewer")
    assert list(artifact_parents(reviewer)) == []
    # The artifact itself stays in the collection.
    assert (skillmeat_home / "collections/default/agents/reviewer.md").exists()


def test_names_differing_only_in_case_are_the_same_artifact(make_tree):
    plugin_json = manifest("casing")
    import_one(make_tree({".claude-plugin/plugin.json": plugin_json, "commands/Deploy.md": "v1"}))
    result = import_one(
        make_tree({".claude-plugin/plugin.json": plugin_json, "commands/deploy.md": "v2"})
    )
    assert decisions(result) == {("command", "deploy"): NEW_VERSION}
    artifact = Artifact.objects.get(type="command")
    assert artifact.name == "Deploy"
    assert artifact.versions.count() == 2


def test_a_deleted_blob_is_written_again_by_reimporting(make_tree, skillmeat_home):
    root = make_tree(full_plugin())
    import_one(root)
    store = LocalBlobStore()
    script = VersionFile.objects.filter(path="scripts/extract.py").first()
    blob = store.path_for(script.blob_hash)
    blob.unlink()
    counts = row_counts()
    result = import_one(root)
    assert result.decision == LINK
    assert blob.read_bytes() == (root / "skills/pdf/scripts/extract.py").read_bytes()
    assert row_counts()["Version"] == counts["Version"]


def test_the_pinned_association_rows_match_the_plugin_history(make_tree):
    root = make_tree(full_plugin())
    import_one(root)
    import_one(make_tree(full_plugin(**{"commands/greet.md": "v2"})))
    plugin = Artifact.objects.get(type="plugin")
    assert ArtifactAssociation.objects.filter(parent_version__artifact=plugin).count() == 16
    greet_pins = set(
        ArtifactAssociation.objects.filter(child__name="greet").values_list(
            "pinned_version_hash", flat=True
        )
    )
    assert len(greet_pins) == 2


def test_an_unchanged_tree_whose_entry_declares_other_children_is_not_taken_for_unchanged(
    make_tree, tmp_path
):
    """The re-import's fast path needs the same children too, not only the same tree: a
    marketplace entry that makes a plugin file a command is judged in full."""
    plugin = {
        ".claude-plugin/plugin.json": json.dumps({"name": "lister"}),
        "commands/one.md": "one\n",
        "extra/two.md": "two\n",
    }
    market = {
        ".claude-plugin/marketplace.json": json.dumps(
            {
                "name": "m",
                "owner": {"name": "o"},
                "plugins": [
                    {
                        "name": "lister",
                        "source": "./lister",
                        "commands": ["./commands/", "./extra/"],
                    }
                ],
            }
        ),
        **{f"lister/{path}": content for path, content in plugin.items()},
    }
    first = import_paths([make_tree(plugin)]).results[0]
    again = import_paths([make_tree(market)]).results[0]
    assert again.plugin_hash == first.plugin_hash
    decisions = {c.name: c.decision for c in again.children}
    assert decisions == {
        "one": DedupDecision.LINK_EXISTING,
        "two": DedupDecision.CREATE_NEW_ARTIFACT,
    }
