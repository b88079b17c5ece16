"""Flat mode's own rules: `${CLAUDE_PLUGIN_ROOT}` anchored on the project, children shared by
two plugins, conflicts naming both plugins, and warnings for what it cannot carry."""

import json

import pytest

from importer.services import import_paths
from tests.conftest import run_command as run
from tests.plugins import manifest

pytestmark = pytest.mark.django_db(transaction=True)


def imported(make_tree, tree):
    assert import_paths([make_tree(tree)]).failed == []


def test_the_plugin_root_is_anchored_on_the_project_and_quoting_holds(make_tree, project):
    hooks = {
        "hooks": {
            "Stop": [
                {"hooks": [{"type": "command", "command": '"${CLAUDE_PLUGIN_ROOT}/hooks/x.sh" -q'}]}
            ]
        }
    }
    imported(
        make_tree,
        {
            ".claude-plugin/plugin.json": manifest("p"),
            "hooks/hooks.json": json.dumps(hooks),
            "hooks/x.sh": ("#!/bin/sh\n", 0o755),
            ".mcp.json": json.dumps(
                {"srv": {"command": "node", "args": ["${CLAUDE_PLUGIN_ROOT}/s.js"]}}
            ),
        },
    )
    assert run("deploy_plugin", "p", "--mode", "flat", "--project", project)[0] == 0
    settings = json.loads((project / ".claude/settings.json").read_text())
    command = settings["hooks"]["Stop"][0]["hooks"][0]["command"]
    assert command == '"${CLAUDE_PROJECT_DIR}/.claude/plugins/p/hooks/x.sh" -q'
    server = json.loads((project / ".mcp.json").read_text())["mcpServers"]["srv"]
    assert server["args"] == ["${CLAUDE_PROJECT_DIR:-.}/.claude/plugins/p/s.js"]


def test_an_identical_child_of_two_plugins_is_shared_until_the_last_goes(make_tree, project):
    reviewer = "---\nname: code-reviewer\n---\nReview.\n"
    for name in ("one", "two"):
        imported(
            make_tree,
            {".claude-plugin/plugin.json": manifest(name), "agents/code-reviewer.md": reviewer},
        )
        assert run("deploy_plugin", name, "--mode", "flat", "--project", project)[0] == 0
    shared = project / ".claude/agents/code-reviewer.md"
    _, out, _ = run("sync_status", "--project", project, "--json")
    for plugin in json.loads(out)["plugins"]:
        assert {c["state"] for c in plugin["children"]} == {"in_sync"}
    assert run("undeploy_plugin", "one", "--project", project)[0] == 0
    assert shared.read_text() == reviewer
    assert run("undeploy_plugin", "two", "--project", project)[0] == 0
    assert not shared.exists()


def test_different_content_at_one_path_names_both_plugins(make_tree, project):
    for name, text in (("one", "first"), ("two", "second")):
        imported(
            make_tree,
            {".claude-plugin/plugin.json": manifest(name), "agents/code-reviewer.md": text},
        )
    assert run("deploy_plugin", "one", "--mode", "flat", "--project", project)[0] == 0
    status, _, err = run("deploy_plugin", "two", "--mode", "flat", "--project", project)
    assert status == 1
    assert "claimed_by_another_plugin" in err and "'one'" in err
    assert "since the last deploy" not in err
    assert (project / ".claude/agents/code-reviewer.md").read_text() == "first"
    assert run("deploy_plugin", "two", "--mode", "flat", "--project", project, "--force")[0] == 0
    assert (project / ".claude/agents/code-reviewer.md").read_text() == "second"


def test_what_flat_mode_cannot_carry_is_a_warning_naming_the_file(make_tree, project):
    imported(
        make_tree,
        {
            ".claude-plugin/plugin.json": manifest("p", userConfig={"token": {"type": "string"}}),
            "commands/run.md": "Run ${CLAUDE_PLUGIN_ROOT}/bin/tool with mcp__plugin_p_srv__go\n",
            ".lsp.json": '{"go": {"command": "gopls"}}',
            "bin/tool": ("#!/bin/sh\n", 0o755),
        },
    )
    status, out, _ = run("deploy_plugin", "p", "--mode", "flat", "--project", project)
    assert status == 0
    warnings = [line for line in out.splitlines() if "warning:" in line]
    text = "\n".join(warnings)
    assert ".claude/commands/run.md: refers to ${CLAUDE_PLUGIN_ROOT}" in text
    assert "mcp__plugin_" in text
    assert ".lsp.json: LSP servers" in text
    assert "bin/tool" in text
    assert "plugin.json#userConfig" in text


def forget_the_database():
    """What a teammate's clone against another server sees: the lock file, no records."""
    from artifacts.models import Artifact, ArtifactAssociation, ImportRecord
    from deploy.models import Deployment

    Deployment.objects.all().delete()
    ImportRecord.objects.all().delete()
    ArtifactAssociation.objects.all().delete()
    Artifact.objects.all().delete()


def test_a_flat_deploy_is_locked_and_status_works_from_the_lock_alone(toolbox, project):
    assert run("deploy_plugin", "toolbox", "--mode", "flat", "--project", project)[0] == 0
    entry = json.loads((project / ".claude/skillmeat.lock").read_text())["plugins"]["toolbox"]
    assert entry["mode"] == "flat"
    assert ".claude/commands/greet.md" in entry["files"]
    assert set(entry["settings"]["mcpServers"]) == {"notes", "google calendar"}
    assert "PreToolUse" in entry["settings"]["hooks"]
    forget_the_database()
    document = json.loads(run("sync_status", "--project", project, "--json")[1])
    (plugin,) = document["plugins"]
    assert plugin["mode"] == "flat" and plugin["state"] == "unknown"
    assert {c["state"] for c in plugin["children"]} == {"in_sync"}
    servers = json.loads((project / ".mcp.json").read_text())
    del servers["mcpServers"]["notes"]
    (project / ".mcp.json").write_text(json.dumps(servers))
    document = json.loads(run("sync_status", "--project", project, "--json")[1])
    states = {c["name"]: c["state"] for c in document["plugins"][0]["children"]}
    assert states["notes"] == "missing" and states["greet"] == "in_sync"


def test_from_lock_rebuilds_a_flat_deploy_without_doubling_its_hooks(toolbox, project):
    assert run("deploy_plugin", "toolbox", "--mode", "flat", "--project", project)[0] == 0
    settings = (project / ".claude/settings.json").read_bytes()
    (project / ".claude/commands/greet.md").unlink()
    from deploy.models import Deployment

    Deployment.objects.all().delete()  # a fresh clone: the lock, no record
    assert run("deploy_plugin", "--from-lock", "--project", project)[0] == 0
    assert (project / ".claude/commands/greet.md").is_file()
    assert (project / ".claude/settings.json").read_bytes() == settings
    assert run("sync_status", "--project", project, "--check")[0] == 0


def test_undeploy_of_a_flat_deploy_known_only_from_the_lock(toolbox, project):
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": {"mine": {"command": "x"}}}))
    assert run("deploy_plugin", "toolbox", "--mode", "flat", "--project", project)[0] == 0
    forget_the_database()
    status, out, _ = run("undeploy_plugin", "toolbox", "--project", project)
    assert status == 0 and "removed .claude/commands/greet.md" in out
    assert json.loads((project / ".mcp.json").read_text()) == {
        "mcpServers": {"mine": {"command": "x"}}
    }
    settings = json.loads((project / ".claude/settings.json").read_text())
    assert settings.get("hooks", {}) == {}
    assert json.loads((project / ".claude/skillmeat.lock").read_text())["plugins"] == {}


def test_a_file_this_tool_never_wrote_is_named_as_such(toolbox, project):
    mine = project / ".claude/commands/greet.md"
    mine.parent.mkdir(parents=True)
    mine.write_text("the user's own")
    status, _, err = run("deploy_plugin", "toolbox", "--mode", "flat", "--project", project)
    assert status == 1
    assert "not written by this tool: .claude/commands/greet.md" in err
    assert "since the last deploy" not in err


def test_undeploy_from_the_lock_keeps_what_another_locked_plugin_claims(make_tree, project):
    reviewer = "---\nname: code-reviewer\n---\nReview.\n"
    for name in ("one", "two"):
        imported(
            make_tree,
            {
                ".claude-plugin/plugin.json": manifest(name),
                "agents/code-reviewer.md": reviewer,
                ".mcp.json": json.dumps({"shared": {"command": "same"}}),
            },
        )
        assert run("deploy_plugin", name, "--mode", "flat", "--project", project)[0] == 0
    forget_the_database()
    assert run("undeploy_plugin", "one", "--project", project)[0] == 0
    assert (project / ".claude/agents/code-reviewer.md").read_text() == reviewer
    assert "shared" in json.loads((project / ".mcp.json").read_text())["mcpServers"]
    assert run("undeploy_plugin", "two", "--project", project)[0] == 0
    assert not (project / ".claude/agents/code-reviewer.md").exists()
