"""Hostile input at every door: names, JSON, YAML frontmatter, unreadable files, archives,
a full disk. Each is refused with its rule and the offending path (or, for frontmatter,
imported with a warning), and a refusal writes nothing."""

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from artifacts.models import Artifact, Collection
from importer.errors import Rule, UnsafePath
from importer.services import import_paths
from tests.plugins import full_plugin, manifest
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
