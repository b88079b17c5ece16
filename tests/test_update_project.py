"""``update_project``: outdated plugins move to their latest version in the same mode; a plugin
with files the user changed is refused without --force while the others still move."""

import json

import pytest

from importer.services import import_paths
from tests.conftest import run_command as run
from tests.plugins import full_plugin, manifest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def project(tmp_path, toolbox, make_tree):
    folder = tmp_path / "project"
    folder.mkdir()
    other = make_tree({".claude-plugin/plugin.json": manifest("other"), "commands/hi.md": "hi"})
    assert import_paths([other]).failed == []
    assert run("deploy_plugin", "toolbox", "--project", folder)[0] == 0
    assert run("deploy_plugin", "other", "--project", folder, "--mode", "flat")[0] == 0
    return folder


def newer_toolbox(make_tree):
    tree = full_plugin(**{"commands/greet.md": "a newer greeting", "commands/new.md": "new"})
    del tree["agents/reviewer.md"]
    assert import_paths([make_tree(tree)]).failed == []


def snapshot(folder):
    return sorted(
        (str(p.relative_to(folder)), p.read_bytes()) for p in folder.rglob("*") if p.is_file()
    )


def test_a_dry_run_prints_the_plan_and_writes_nothing(project, make_tree):
    newer_toolbox(make_tree)
    before = snapshot(project)
    status, out, _ = run("update_project", "--project", project, "--dry-run", "--json")
    assert status == 0
    (update,) = json.loads(out)["updated"]
    assert update["name"] == "toolbox" and update["mode"] == "plugin"
    assert update["added"] == ["command:new"]
    assert update["removed"] == ["agent:reviewer"]
    assert update["changed"] == ["command:greet"]
    assert json.loads(out)["unchanged"] == ["other"]
    assert snapshot(project) == before


def test_update_moves_only_outdated_plugins_then_status_is_clean(project, make_tree):
    newer_toolbox(make_tree)
    assert run("sync_status", "--project", project, "--check")[0] == 1
    status, out, _ = run("update_project", "--project", project)
    assert status == 0 and "updated toolbox (plugin)" in out and "other: nothing to update" in out
    assert run("sync_status", "--project", project, "--check")[0] == 0
    folder = project / ".claude/skills/toolbox"
    assert (folder / "commands/new.md").read_text() == "new"
    assert not (folder / "agents/reviewer.md").exists()


def test_modified_files_refuse_that_plugin_without_force_and_others_still_move(project, make_tree):
    newer_toolbox(make_tree)
    newer_other = make_tree(
        {".claude-plugin/plugin.json": manifest("other"), "commands/hi.md": "2"}
    )
    assert import_paths([newer_other]).failed == []
    (project / ".claude/skills/toolbox/README.md").write_text("my notes")
    status, out, err = run("update_project", "--project", project)
    assert status == 1
    assert "toolbox: changed in the project" in err and "README.md" in err
    assert "updated other (flat)" in out
    assert (project / ".claude/commands/hi.md").read_text() == "2"
    assert (project / ".claude/skills/toolbox/README.md").read_text() == "my notes"
    status, out, _ = run("update_project", "--project", project, "--plugin", "toolbox", "--force")
    assert status == 0 and "updated toolbox" in out
    assert run("sync_status", "--project", project, "--check")[0] == 0
