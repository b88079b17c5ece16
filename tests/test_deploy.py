"""The sync engine: deploy plugins into a project, status and drift, undeploy, export."""

import json
import os
import shutil
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command

from artifacts.models import Artifact
from deploy.export import plugin_export
from deploy.models import Deployment
from deploy.services import (
    DeployError,
    ModifiedInProject,
    plugin_deploy,
    plugin_undeploy,
    status_document,
)
from importer.hashing import hash_directory
from importer.results import DedupDecision
from importer.services import import_paths
from tests.plugins import MCP_SERVERS, full_plugin, manifest

pytestmark = pytest.mark.django_db(transaction=True)

USER_SETTINGS = {
    "permissions": {"allow": ["Bash(ls:*)"]},
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "echo mine"}]}]
    },
}
USER_MCP = {"mcpServers": {"my-own": {"command": "my-server"}}}


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


def states(project):
    (plugin,) = status_document(project)["plugins"]
    return {(c["type"], c["name"]): c["state"] for c in plugin["children"]}


def newer_greet(make_tree):
    """A newer toolbox whose greet changed (another plugin's greet would not count)."""
    newer = make_tree(full_plugin(**{"commands/greet.md": "newer\n"}))
    assert import_paths([newer]).failed == []


def other_plugins_greet(make_tree):
    other = make_tree(
        {".claude-plugin/plugin.json": manifest("other"), "commands/greet.md": "other\n"}
    )
    assert import_paths([other]).failed == []


def test_deploy_writes_every_child_at_its_pinned_version(toolbox, project, make_tree):
    toolbox_version = Artifact.objects.get(name="toolbox", type="plugin").latest_version
    newer_greet(make_tree)
    result = plugin_deploy(
        mode="flat", name="toolbox", project=project, version=toolbox_version.content_hash
    )
    claude = project / ".claude"
    assert (claude / "commands/greet.md").read_bytes() == (
        toolbox / "commands/greet.md"
    ).read_bytes()
    assert (claude / "commands/git/commit.md").read_bytes() == (
        toolbox / "commands/git/commit.md"
    ).read_bytes()
    assert (claude / "agents/reviewer.md").exists()
    assert hash_directory(claude / "skills/pdf") == hash_directory(toolbox / "skills/pdf")
    assert os.stat(claude / "skills/pdf/scripts/extract.py").st_mode & 0o100
    assert hash_directory(claude / "plugins/toolbox/hooks") == hash_directory(toolbox / "hooks")
    assert (claude / "plugins/toolbox/README.md").read_text() == "# toolbox\n"
    assert (claude / "plugins/toolbox/.claude-plugin/plugin.json").exists()
    assert os.stat(claude / "plugins/toolbox/scripts/setup.sh").st_mode & 0o100
    assert result.version_hash == toolbox_version.content_hash
    assert states(project)[("command", "greet")] == "outdated"
    assert not list(project.rglob(".skillmeat-*"))


def test_hooks_and_mcp_servers_merge_next_to_existing_entries_and_undeploy_removes_only_them(
    toolbox, project
):
    (project / ".claude").mkdir()
    (project / ".claude/settings.json").write_text(json.dumps(USER_SETTINGS))
    (project / ".mcp.json").write_text(json.dumps(USER_MCP))
    plugin_deploy(mode="flat", name="toolbox", project=project)

    settings = json.loads((project / ".claude/settings.json").read_text())
    assert settings["permissions"] == USER_SETTINGS["permissions"]
    pre_tool = settings["hooks"]["PreToolUse"]
    assert pre_tool[0] == USER_SETTINGS["hooks"]["PreToolUse"][0]
    assert pre_tool[1]["hooks"][0]["command"] == (
        "${CLAUDE_PROJECT_DIR}/.claude/plugins/toolbox/hooks/check.sh"
    )
    servers = json.loads((project / ".mcp.json").read_text())["mcpServers"]
    assert servers["my-own"] == USER_MCP["mcpServers"]["my-own"]
    assert servers["notes"] == MCP_SERVERS["notes"]
    assert servers["google calendar"] == MCP_SERVERS["google calendar"]
    assert "${CLAUDE_PLUGIN_ROOT}" not in (project / ".claude/settings.json").read_text()

    plugin_undeploy(name="toolbox", project=project)
    assert json.loads((project / ".claude/settings.json").read_text()) == USER_SETTINGS
    assert json.loads((project / ".mcp.json").read_text()) == USER_MCP
    leftovers = sorted(str(p.relative_to(project)) for p in project.rglob("*"))
    assert leftovers == [
        ".claude",
        ".claude/.skillmeat.flock",
        ".claude/settings.json",
        ".claude/skillmeat.lock",
        ".mcp.json",
    ]
    assert Deployment.objects.count() == 0


def test_status_goes_through_every_state(toolbox, project, make_tree):
    plugin_deploy(mode="flat", name="toolbox", project=project)
    assert set(states(project).values()) == {"in_sync"}
    (project / ".claude/agents/reviewer.md").write_text("my edit\n")
    assert states(project)[("agent", "reviewer")] == "modified"
    other_plugins_greet(make_tree)  # a same-named child of another plugin is no update
    assert states(project)[("command", "greet")] == "in_sync"
    newer_greet(make_tree)
    assert states(project)[("command", "greet")] == "outdated"
    (project / ".claude/skills/pdf/SKILL.md").unlink()
    assert states(project)[("skill", "pdf")] == "missing"
    shutil.rmtree(project / ".claude/skills/xlsx")
    assert states(project)[("skill", "xlsx")] == "missing"
    servers = json.loads((project / ".mcp.json").read_text())
    servers["mcpServers"]["notes"]["args"] = ["changed"]
    (project / ".mcp.json").write_text(json.dumps(servers))
    assert states(project)[("mcp", "notes")] == "modified"
    del servers["mcpServers"]["google calendar"]
    (project / ".mcp.json").write_text(json.dumps(servers))
    assert states(project)[("mcp", "google calendar")] == "missing"
    assert states(project)[("hook", "toolbox")] == "in_sync"


def test_sync_status_json_document(toolbox, project):
    plugin_deploy(mode="flat", name="toolbox", project=project)
    out = StringIO()
    call_command("sync_status", "--project", str(project), "--json", stdout=out)
    document = json.loads(out.getvalue())
    assert document["project"] == str(project.resolve())
    (plugin,) = document["plugins"]
    assert set(plugin) == {
        "name",
        "mode",
        "version_hash",
        "latest_version_hash",
        "state",
        "children",
        "meta_files",
    }
    assert len(plugin["children"]) == 8
    child = plugin["children"][0]
    assert set(child) == {
        "type",
        "name",
        "path",
        "state",
        "deployed_hash",
        "current_hash",
        "latest_hash",
    }
    assert child["deployed_hash"] == child["current_hash"] == child["latest_hash"]


def test_deploy_refuses_to_overwrite_a_modified_file_and_undeploy_keeps_it(
    toolbox, project, make_tree
):
    plugin_deploy(mode="flat", name="toolbox", project=project)
    greet = project / ".claude/commands/greet.md"
    greet.write_text("my own greeting\n")
    import_paths(
        [make_tree(full_plugin(**{"commands/greet.md": "v2\n", "agents/reviewer.md": "v2\n"}))]
    )
    with pytest.raises(ModifiedInProject) as refused:
        plugin_deploy(mode="flat", name="toolbox", project=project)
    assert refused.value.paths == [".claude/commands/greet.md"]
    assert greet.read_text() == "my own greeting\n"
    assert (project / ".claude/agents/reviewer.md").read_text() != "v2\n"  # nothing written at all

    with pytest.raises(SystemExit) as exit_:
        call_command(
            "deploy_plugin",
            "--mode",
            "flat",
            "toolbox",
            "--project",
            str(project),
            stdout=StringIO(),
            stderr=StringIO(),
        )
    assert exit_.value.code == 1

    result = plugin_undeploy(name="toolbox", project=project)
    assert result.kept == [".claude/commands/greet.md"]
    assert greet.read_text() == "my own greeting\n"
    assert not (project / ".claude/agents/reviewer.md").exists()
    # The settings files the deploy created are gone with their last entries.
    assert sorted(str(p.relative_to(project)) for p in project.rglob("*")) == [
        ".claude",
        ".claude/.skillmeat.flock",
        ".claude/commands",
        ".claude/commands/greet.md",
        ".claude/skillmeat.lock",
    ]


def test_force_overwrites_and_a_file_we_never_wrote_is_a_conflict_too(toolbox, project):
    mine = project / ".claude/commands/greet.md"
    mine.parent.mkdir(parents=True)
    mine.write_text("the user's own command\n")
    with pytest.raises(ModifiedInProject):
        plugin_deploy(mode="flat", name="toolbox", project=project)
    plugin_deploy(mode="flat", name="toolbox", project=project, force=True)
    assert mine.read_bytes() == (toolbox / "commands/greet.md").read_bytes()


def test_unsupported_platform_writes_nothing(toolbox, project):
    with pytest.raises(DeployError, match="unsupported platform 'cursor'"):
        plugin_deploy(mode="flat", name="toolbox", project=project, platform="cursor")
    err = StringIO()
    with pytest.raises(SystemExit):
        call_command(
            "deploy_plugin",
            "--mode",
            "flat",
            "toolbox",
            "--project",
            str(project),
            "--platform",
            "cursor",
            stderr=err,
        )
    assert "unsupported platform" in err.getvalue()
    assert list(project.iterdir()) == []
    assert Deployment.objects.count() == 0


def test_dry_run_and_an_earlier_version(toolbox, project, make_tree):
    first = Artifact.objects.get(type="plugin").latest_version.content_hash
    import_paths(
        [make_tree(full_plugin(**{"commands/greet.md": "v2\n", "agents/reviewer.md": None}))]
    )
    result = plugin_deploy(mode="flat", name="TOOLBOX", project=project, dry_run=True)
    assert result.dry_run and ".claude/commands/greet.md" in result.written
    assert list(project.iterdir()) == []
    plugin_deploy(mode="flat", name="toolbox", project=project, version=first[:10])
    assert (project / ".claude/agents/reviewer.md").exists()
    assert (project / ".claude/commands/greet.md").read_bytes() == (
        toolbox / "commands/greet.md"
    ).read_bytes()
    # Redeploying the latest version takes out what it no longer has.
    plugin_deploy(mode="flat", name="toolbox", project=project)
    assert not (project / ".claude/agents").exists()
    assert (project / ".claude/commands/greet.md").read_text() == "v2\n"
    with pytest.raises(DeployError, match="no version"):
        plugin_deploy(mode="flat", name="toolbox", project=project, version="f" * 12)


@pytest.mark.parametrize("suffix", [".zip", ".tar.gz"])
def test_export_then_import_is_link_existing_with_the_same_hash(toolbox, tmp_path, suffix):
    plugin = Artifact.objects.get(type="plugin")
    archive = plugin_export(version=plugin.latest_version, output=tmp_path / f"out/toolbox{suffix}")
    report = import_paths([archive])
    (result,) = report.results
    assert result.decision == DedupDecision.LINK_EXISTING
    assert result.plugin_hash == plugin.latest_version.content_hash
    assert {c.decision for c in result.children} == {DedupDecision.LINK_EXISTING}
    if suffix == ".zip":
        extracted = tmp_path / "extracted"
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(extracted)
            for info in bundle.infolist():
                os.chmod(extracted / info.filename, (info.external_attr >> 16) & 0o777)
        assert sorted(p.name for p in extracted.iterdir()) == ["toolbox"]
        assert hash_directory(extracted / "toolbox") == plugin.latest_version.content_hash
    again = plugin_export(version=plugin.latest_version, output=tmp_path / f"again/toolbox{suffix}")
    assert again.read_bytes() == archive.read_bytes()  # reproducible


def test_export_command(toolbox, tmp_path):
    out = StringIO()
    call_command("export_plugin", "toolbox", "-o", str(tmp_path / "t.tgz"), stdout=out)
    assert (tmp_path / "t.tgz").exists() and "toolbox" in out.getvalue()
    with pytest.raises(SystemExit):
        call_command("export_plugin", "absent", "-o", str(tmp_path / "x.zip"), stderr=StringIO())


def test_the_api_and_the_admin_show_deployments(toolbox, project, admin_client):
    plugin_deploy(mode="flat", name="toolbox", project=project)
    (project / ".claude/commands/greet.md").write_text("edited\n")
    listing = admin_client.get("/api/v1/deployments/").json()
    (deployment,) = listing["results"]
    assert deployment["plugin_name"] == "toolbox" and deployment["project"] == str(
        project.resolve()
    )
    status = admin_client.get("/api/v1/project-status/", {"project": str(project)}).json()
    assert status == status_document(project)
    states = {c["name"]: c["state"] for c in status["plugins"][0]["children"]}
    assert states["greet"] == "modified" and states["pdf"] == "in_sync"
    assert admin_client.get("/api/v1/project-status/").status_code == 400
    page = admin_client.get(f"/admin/deploy/deployment/{Deployment.objects.get().pk}/change/")
    assert page.status_code == 200
    assert b'class="state-modified"' in page.content and b"greet" in page.content
