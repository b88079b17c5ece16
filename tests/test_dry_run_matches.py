"""A dry run reports exactly the decisions the same import then makes (DESIGN 5), also when
plugins of one run share children or one plugin comes twice."""

import json

import pytest

from importer.services import import_paths
from tests.plugins import full_plugin, manifest

pytestmark = pytest.mark.django_db(transaction=True)


def decisions(report):
    return [
        (r.plugin_name, r.decision, tuple((c.type, c.name, c.decision) for c in r.children))
        for r in report.results
    ]


def marketplace_of_overlapping_plugins(make_tree):
    shared = "---\ndescription: shared\n---\nThe same bytes in every plugin.\n"
    plugins = {
        "a": {".claude-plugin/plugin.json": manifest("a"), "commands/shared.md": shared},
        "b": {".claude-plugin/plugin.json": manifest("b"), "commands/shared.md": shared},
        "c": {".claude-plugin/plugin.json": manifest("c"), "commands/shared.md": "other bytes"},
        "d": {".claude-plugin/plugin.json": manifest("a"), "commands/shared.md": shared},
    }
    tree = {
        ".claude-plugin/marketplace.json": json.dumps(
            {
                "name": "m",
                "owner": {"name": "o"},
                "plugins": [{"name": n, "source": f"./{n}"} for n in plugins],
            }
        )
    }
    for name, files in plugins.items():
        tree.update({f"{name}/{path}": content for path, content in files.items()})
    return make_tree(tree)


def test_a_marketplace_dry_run_predicts_the_import(make_tree):
    root = marketplace_of_overlapping_plugins(make_tree)
    predicted = decisions(import_paths([root], dry_run=True))
    actual = decisions(import_paths([root]))
    assert predicted == actual
    # b reuses a's command, c adds a version of it, d is a again under its entry name
    assert [p[2][0][2] for p in actual] == [
        "CREATE_NEW_ARTIFACT",
        "LINK_EXISTING",
        "CREATE_NEW_VERSION",
        "LINK_EXISTING",
    ]


def test_the_same_plugin_twice_in_one_dry_run(make_tree):
    root = make_tree(full_plugin())
    predicted = decisions(import_paths([root, root], dry_run=True))
    actual = decisions(import_paths([root, root]))
    assert predicted == actual
    assert actual[1][1] == "LINK_EXISTING"
