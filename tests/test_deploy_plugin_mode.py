"""Plugin mode (DESIGN section 10): the plugin's whole tree in .claude/skills/<name>/, the lock
file, status from the lock, --from-lock, undeploy by the lock."""

import json
import shutil

import pytest

from artifacts.models import Artifact, ArtifactAssociation, ImportRecord
from deploy.models import Deployment
from importer.hashing import hash_directory, scan_tree
from importer.services import import_paths
from tests.conftest import run_command as run
from tests.plugins import full_plugin, manifest

pytestmark = pytest.mark.django_db(transaction=True)
LOCK = ".claude/skillmeat.lock"


def status_of(project):
    status, out, _ = run("sync_status", "--project", project, "--json")
    assert status == 0
    return json.loads(out)


def states(document, name="toolbox"):
    (plugin,) = [p for p in document["plugins"] if p["name"] == name]
    return plugin["state"], {c["name"]: c["state"] for c in plugin["children"]}


def test_the_plugin_tree_is_written_byte_for_byte_and_locked(toolbox, project):
    status, out, _ = run("deploy_plugin", "toolbox", "--project", project)
    assert status == 0, out
    folder = project / ".claude/skills/toolbox"
    plugin = Artifact.objects.get(type="plugin", name="toolbox")
    assert hash_directory(folder) == plugin.latest_version.content_hash == hash_directory(toolbox)
    assert {f.path: f.mode for f in scan_tree(folder)} == {
        f.path: f.mode for f in scan_tree(toolbox)
    }
    assert not (project / ".claude/settings.json").exists() and not (project / ".mcp.json").exists()
    lock = json.loads((project / LOCK).read_text())
    entry = lock["plugins"]["toolbox"]
    assert entry["mode"] == "plugin" and entry["version_hash"] == plugin.latest_version.content_hash
    assert entry["generated"] == []
    assert entry["files"][".claude/skills/toolbox/scripts/setup.sh"]["mode"] == "100755"
    assert entry["children"]["skill:pdf"]["paths"][0].startswith(
        ".claude/skills/toolbox/skills/pdf/"
    )
    document = status_of(project)
    plugin_state, children = states(document)
    assert plugin_state == "current" and set(children.values()) == {"in_sync"}
    assert all(m["state"] == "in_sync" for m in document["plugins"][0]["meta_files"])
    assert run("sync_status", "--project", project, "--check")[0] == 0
    assert Deployment.objects.get().mode == "plugin"


def test_redeploying_leaves_the_lock_byte_identical(toolbox, project):
    run("deploy_plugin", "toolbox", "--project", project)
    first = (project / LOCK).read_bytes()
    assert first.endswith(b"\n") and b"deployed_at" not in first
    run("deploy_plugin", "toolbox", "--project", project)
    assert (project / LOCK).read_bytes() == first


def test_a_plugin_without_a_manifest_gets_a_generated_one(make_tree, project):
    root = make_tree({"commands/hi.md": "hi"}, name="bare")
    assert import_paths([root]).failed == []
    run("deploy_plugin", "bare", "--project", project)
    folder = project / ".claude/skills/bare"
    assert json.loads((folder / ".claude-plugin/plugin.json").read_text()) == {"name": "bare"}
    entry = json.loads((project / LOCK).read_text())["plugins"]["bare"]
    assert entry["generated"] == [".claude/skills/bare/.claude-plugin/plugin.json"]
    assert run("sync_status", "--project", project, "--check")[0] == 0


def test_two_plugins_with_a_same_named_child_live_side_by_side(toolbox, make_tree, project):
    other = make_tree({".claude-plugin/plugin.json": manifest("other"), "commands/greet.md": "yo"})
    assert import_paths([other]).failed == []
    assert run("deploy_plugin", "toolbox", "--project", project)[0] == 0
    assert run("deploy_plugin", "other", "--project", project)[0] == 0
    document = status_of(project)
    for name in ("toolbox", "other"):
        plugin_state, children = states(document, name)
        assert plugin_state == "current" and set(children.values()) == {"in_sync"}, name
    assert run("sync_status", "--project", project, "--check")[0] == 0


def test_modified_missing_and_outdated_are_reported(toolbox, make_tree, project):
    run("deploy_plugin", "toolbox", "--project", project)
    folder = project / ".claude/skills/toolbox"
    (folder / "agents/reviewer.md").write_text("my own edit")
    (folder / "skills/pdf/scripts/extract.py").unlink()
    (folder / "README.md").write_text("changed readme")
    newer = make_tree(full_plugin(**{"commands/greet.md": "a newer greeting"}))
    assert import_paths([newer]).failed == []
    document = status_of(project)
    plugin_state, children = states(document)
    assert plugin_state == "outdated"
    assert children["reviewer"] == "modified"
    assert children["pdf"] == "missing"
    assert children["greet"] == "outdated"
    assert children["git/commit"] == "in_sync"
    meta = {m["path"]: m["state"] for m in document["plugins"][0]["meta_files"]}
    assert meta[".claude/skills/toolbox/README.md"] == "modified"
    status, out, _ = run("sync_status", "--project", project, "--check")
    assert status == 1 and "outdated" in out


def test_status_works_from_the_lock_alone(toolbox, project):
    run("deploy_plugin", "toolbox", "--project", project)
    Deployment.objects.all().delete()
    ImportRecord.objects.all().delete()
    ArtifactAssociation.objects.all().delete()
    Artifact.objects.all().delete()
    plugin_state, children = states(status_of(project))
    assert plugin_state == "unknown" and set(children.values()) == {"in_sync"}


def test_from_lock_rebuilds_byte_for_byte(toolbox, project, make_tree):
    run("deploy_plugin", "toolbox", "--project", project)
    lock = (project / LOCK).read_bytes()
    folder = project / ".claude/skills/toolbox"
    expected = hash_directory(folder)
    shutil.rmtree(folder)
    # A newer version in the collection does not change what the lock rebuilds.
    assert import_paths([make_tree(full_plugin(**{"commands/greet.md": "v2"}))]).failed == []
    status, _, err = run("deploy_plugin", "--from-lock", "--project", project)
    assert status == 0, err
    assert hash_directory(folder) == expected
    assert (project / LOCK).read_bytes() == lock


def test_from_lock_fails_clearly_when_the_collection_lacks_the_version(toolbox, project):
    run("deploy_plugin", "toolbox", "--project", project)
    entry = json.loads((project / LOCK).read_text())
    entry["plugins"]["toolbox"]["version_hash"] = "0" * 64
    (project / LOCK).write_text(json.dumps(entry))
    status, _, err = run("deploy_plugin", "--from-lock", "--project", project)
    assert status == 1 and "has no version 000000000000" in err


def test_undeploy_removes_what_the_lock_says_and_keeps_user_changes(toolbox, project):
    run("deploy_plugin", "toolbox", "--project", project)
    folder = project / ".claude/skills/toolbox"
    (folder / "commands/greet.md").write_text("mine now")
    status, out, _ = run("undeploy_plugin", "toolbox", "--project", project)
    assert status == 0 and "kept .claude/skills/toolbox/commands/greet.md" in out
    remaining = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert remaining == [
        ".claude/.skillmeat.flock",
        ".claude/skillmeat.lock",
        ".claude/skills/toolbox/commands/greet.md",
    ]
    assert json.loads((project / LOCK).read_text())["plugins"] == {}
    assert Deployment.objects.count() == 0


def test_a_folder_this_tool_never_wrote_is_not_overwritten_without_force(toolbox, project):
    mine = project / ".claude/skills/toolbox/SKILL.md"
    mine.parent.mkdir(parents=True)
    mine.write_text("my own skill")
    status, _, err = run("deploy_plugin", "toolbox", "--project", project)
    assert status == 1 and "not written by this tool" in err
    assert mine.read_text() == "my own skill" and not (project / LOCK).exists()
    assert run("deploy_plugin", "toolbox", "--project", project, "--force")[0] == 0
    assert not mine.exists()


def test_a_symlinked_skills_folder_is_refused(toolbox, project, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / ".claude").mkdir()
    (project / ".claude/skills").symlink_to(elsewhere)
    for extra in ([], ["--force"]):
        status, _, err = run("deploy_plugin", "toolbox", "--project", project, *extra)
        assert status == 1 and "unsafe_project_path" in err
    assert list(elsewhere.iterdir()) == []


def test_the_user_scope_writes_into_the_users_skills_folder(toolbox, tmp_path, monkeypatch):
    config = tmp_path / "claude-config"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    status, _, err = run("deploy_plugin", "toolbox", "--scope", "user")
    assert status == 0, err
    folder = config / "skills/toolbox"
    assert hash_directory(folder) == hash_directory(toolbox)
    lock = json.loads((config / "skills/skillmeat.lock").read_text())
    assert all(path.startswith("toolbox/") for path in lock["plugins"]["toolbox"]["files"])
    assert run("sync_status", "--scope", "user", "--check")[0] == 0
    assert run("deploy_plugin", "toolbox", "--scope", "user", "--mode", "flat")[0] == 1
    assert run("undeploy_plugin", "toolbox", "--scope", "user")[0] == 0
    assert not folder.exists()
    assert json.loads((config / "skills/skillmeat.lock").read_text())["plugins"] == {}


def test_a_project_is_needed_for_the_project_scope(toolbox):
    status, _, err = run("sync_status")
    assert status == 1 and "--project" in err


def test_the_admin_shows_a_deployment_with_its_states_in_colour(toolbox, project, client):
    from django.contrib.auth.models import User

    run("deploy_plugin", "toolbox", "--project", project)
    (project / ".claude/skills/toolbox/commands/greet.md").write_text("mine")
    client.force_login(User.objects.create_superuser("admin", "a@example.org", "x"))
    deployment = Deployment.objects.get()
    page = client.get(f"/admin/deploy/deployment/{deployment.pk}/change/").content.decode()
    assert 'class="state-current"' in page
    assert 'class="state-modified"' in page and "greet" in page
    listing = client.get("/admin/deploy/deployment/").content.decode()
    assert "plugin" in listing and str(project) in listing
