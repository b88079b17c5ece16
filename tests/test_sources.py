"""Detection of marketplaces and archives, and what each imports."""

import hashlib
import json

import pytest

from artifacts.models import Artifact, VersionFile
from importer.hashing import TreeFile, hash_directory, tree_hash
from importer.results import DedupDecision
from importer.services import import_paths
from tests.plugins import full_plugin, make_tar, make_zip, manifest

pytestmark = pytest.mark.django_db(transaction=True)


def as_members(tree, prefix=""):
    return {f"{prefix}{path}": content for path, content in tree.items()}


def test_a_tar_gz_and_a_zip_of_a_plugin_hash_like_the_folder(make_tree, tmp_path):
    tree = full_plugin()
    folder_hash = hash_directory(make_tree(tree))
    tgz = make_tar(tmp_path / "toolbox.tar.gz", as_members(tree, "toolbox/"))
    (result,) = import_paths([tgz]).results
    assert (result.plugin_name, result.plugin_hash) == ("toolbox", folder_hash)
    zipped = make_zip(tmp_path / "toolbox.zip", as_members(tree))
    (again,) = import_paths([zipped]).results
    assert again.decision == DedupDecision.LINK_EXISTING
    assert again.plugin_hash == folder_hash


def test_archive_root_rule_and_names(tmp_path):
    top_level = make_zip(tmp_path / "flat-archive.zip", {"commands/a.md": "a"})
    single = make_zip(tmp_path / "wrapped.zip", {"inner-name/commands/b.md": "b"})
    report = import_paths([top_level, single])
    assert report.failed == []
    assert [r.plugin_name for r in report.results] == ["flat-archive", "inner-name"]


def test_zip_execute_bits_from_unix_modes_only(tmp_path):
    members = {"p/skills/s/SKILL.md": "s", "p/skills/s/run.sh": ("#!/bin/sh\n", 0o755)}
    import_paths([make_zip(tmp_path / "unix.zip", members)])
    assert VersionFile.objects.get(path="run.sh").mode == 0o100755
    import_paths(
        [make_zip(tmp_path / "dos.zip", {**members, "p/skills/s/SKILL.md": "dos"}, unix=False)]
    )
    modes = set(VersionFile.objects.filter(path="run.sh").values_list("mode", flat=True))
    assert modes == {0o100755, 0o100644}


def market(plugins, name="market"):
    return {
        ".claude-plugin/marketplace.json": json.dumps(
            {"name": name, "owner": {"name": "me"}, "plugins": plugins}
        )
    }


def test_a_marketplace_imports_relative_sources_and_skips_remote_ones_without_remote(make_tree):
    tree = {
        **market(
            [
                {"name": "alpha", "source": "./plugins/alpha"},
                {"name": "beta-entry", "source": "./plugins/beta"},
                {"name": "remote", "source": {"source": "github", "repo": "o/r"}},
                {"name": "url", "source": {"source": "url", "url": "https://x/y.git"}},
                {"name": "pkg", "source": {"source": "npm", "package": "@x/y"}},
            ]
        ),
        **as_members({"commands/a.md": "a"}, "plugins/alpha/"),
        **as_members({"agents/b.md": "b"}, "plugins/beta/"),
    }
    report = import_paths([make_tree(tree)])
    assert report.failed == []
    assert [r.plugin_name for r in report.results] == ["alpha", "beta-entry"]
    assert [(s.name, s.reason) for s in report.skipped] == [
        ("pkg", "npm source: npm packages are not fetched"),
        ("remote", "remote source; use --remote to fetch"),
        ("url", "remote source; use --remote to fetch"),
    ]


def test_one_bad_plugin_does_not_undo_the_good_ones(make_tree):
    tree = {
        **market(
            [
                {"name": "good", "source": "./good"},
                {"name": "bad", "source": "./bad"},
                {"name": "missing", "source": "./missing"},
                {"name": "also-good", "source": "./also-good"},
            ]
        ),
        "good/commands/a.md": "a",
        "bad/.claude-plugin/plugin.json": "[1, 2]",
        "bad/commands/b.md": "b",
        "also-good/commands/c.md": "c",
    }
    report = import_paths([make_tree(tree)])
    assert [r.plugin_name for r in report.results] == ["good", "also-good"]
    assert [(f.name, f.rule) for f in report.failed] == [
        ("bad", "bad_manifest"),
        ("missing", "not_found"),
    ]
    assert set(Artifact.objects.filter(type="plugin").values_list("name", flat=True)) == {
        "good",
        "also-good",
    }


def test_dot_source_and_a_strict_false_entry_at_the_marketplace_root(make_tree):
    tree = {
        **market(
            [
                {
                    "name": "root-skills",
                    "source": "./",
                    "strict": False,
                    "description": "Listed skills only",
                    "skills": ["./skills/one", "./skills/two"],
                    "commands": ["./commands/go.md"],
                }
            ]
        ),
        "skills/one/SKILL.md": "one",
        "skills/one/ref.md": "ref",
        "skills/two/SKILL.md": "two",
        "skills/unlisted/SKILL.md": "not part of this plugin",
        "commands/go.md": "go",
        "README.md": "the marketplace's readme is not part of the plugin",
    }
    root = make_tree(tree)
    (result,) = import_paths([root]).results
    assert result.plugin_name == "root-skills"
    assert sorted((c.type, c.name) for c in result.children) == [
        ("command", "go"),
        ("skill", "one"),
        ("skill", "two"),
    ]
    listed = ["skills/one/SKILL.md", "skills/one/ref.md", "skills/two/SKILL.md", "commands/go.md"]
    expected = tree_hash(
        TreeFile(path, 0o100644, len(tree[path]), hashlib.sha256(tree[path].encode()).hexdigest())
        for path in listed
    )
    assert result.plugin_hash == expected
    plugin = Artifact.objects.get(type="plugin")
    assert plugin.latest_version.metadata["description"] == "Listed skills only"


def test_a_strict_false_entry_in_its_own_folder_is_the_manifest(make_tree):
    tree = {
        **market(
            [{"name": "entry-named", "source": "./p", "strict": False, "commands": ["./custom"]}]
        ),
        "p/custom/x.md": "x",
        "p/commands/ignored.md": "not a command: the entry's path replaces the default",
    }
    (result,) = import_paths([make_tree(tree)]).results
    assert result.plugin_name == "entry-named"
    assert [(c.type, c.name) for c in result.children] == [("command", "x")]


def test_manifest_name_wins_over_the_entry_name_for_strict_entries(make_tree):
    tree = {
        **market([{"name": "entry", "source": "."}]),
        ".claude-plugin/plugin.json": manifest("from-manifest"),
        "commands/x.md": "x",
    }
    (result,) = import_paths([make_tree(tree)]).results
    assert result.plugin_name == "from-manifest"


def test_a_marketplace_inside_an_archive(tmp_path):
    members = {
        **market([{"name": "zipped", "source": "./plugins/zipped"}]),
        **as_members(full_plugin("zipped"), "plugins/zipped/"),
    }
    archive = make_zip(tmp_path / "market.zip", as_members(members, "market/"))
    (result,) = import_paths([archive]).results
    assert result.plugin_name == "zipped"
    assert len(result.children) == 8
