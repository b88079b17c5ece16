"""The sync engine never writes, renames or deletes through a symbolic link or outside the
project, refuses broken settings files before writing anything, and serialises concurrent
deploys into one project (DESIGN section 10)."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.conftest import run_command as run
from tests.plugins import HOOKS_JSON, manifest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def outside(tmp_path):
    """A folder outside the project with content that must survive everything."""
    folder = tmp_path / "outside"
    (folder / "commands").mkdir(parents=True)
    (folder / "commands/greet.md").write_text("not the project's")
    (folder / "keep.txt").write_text("keep me")
    return folder


def snapshot(folder):
    return sorted(
        (str(p.relative_to(folder)), p.read_bytes() if p.is_file() else None)
        for p in folder.rglob("*")
    )


@pytest.mark.parametrize("linked", [".claude", ".claude/commands", ".claude/plugins"])
@pytest.mark.parametrize("force", [False, True])
def test_a_symlinked_folder_in_the_project_is_refused(toolbox, project, outside, linked, force):
    (project / linked).parent.mkdir(parents=True, exist_ok=True)
    (project / linked).symlink_to(outside if linked == ".claude" else outside / "commands")
    before = snapshot(outside)
    status, _, err = run(
        "deploy_plugin",
        "toolbox",
        "--mode",
        "flat",
        "--project",
        project,
        *(["--force"] if force else []),
    )
    assert status == 1
    assert "unsafe_project_path" in err and linked in err
    assert snapshot(outside) == before


def test_a_file_where_a_folder_must_go_is_refused(toolbox, project):
    (project / ".claude").write_text("a file, not a folder")
    status, _, err = run(
        "deploy_plugin", "toolbox", "--mode", "flat", "--project", project, "--force"
    )
    assert status == 1 and "unsafe_project_path" in err
    assert (project / ".claude").read_text() == "a file, not a folder"


@pytest.mark.parametrize("force", [False, True])
def test_undeploy_never_deletes_through_a_link_planted_after_the_deploy(
    toolbox, project, outside, force
):
    assert run("deploy_plugin", "toolbox", "--mode", "flat", "--project", project)[0] == 0
    commands = project / ".claude/commands"
    for child in commands.rglob("*"):
        if child.is_file():
            child.unlink()
    for child in sorted(commands.rglob("*"), reverse=True):
        child.rmdir()
    commands.rmdir()
    commands.symlink_to(outside / "commands")
    before = snapshot(outside)
    status, _, err = run(
        "undeploy_plugin", "toolbox", "--project", project, *(["--force"] if force else [])
    )
    assert status == 1 and "unsafe_project_path" in err
    assert snapshot(outside) == before


@pytest.mark.parametrize(
    ("relative", "content", "problem"),
    [
        (".claude/settings.json", "{not json", "not valid JSON"),
        (".claude/settings.json", "[1, 2]", "must be a JSON object"),
        (".claude/settings.json", '{"hooks": ["x"]}', "'hooks' must map"),
        (".claude/settings.json", '{"hooks": {"PreToolUse": {}}}', "'hooks' must map"),
        (".mcp.json", '{"mcpServers": []}', "'mcpServers' must map"),
        (".mcp.json", '{"mcpServers": {"x": 1}}', "'mcpServers' must map"),
        (".mcp.json", "\ufeff{bom}", "not valid JSON"),
    ],
)
@pytest.mark.parametrize("force", [False, True])
def test_broken_settings_files_are_refused_before_any_write(
    toolbox, project, relative, content, problem, force
):
    (project / relative).parent.mkdir(parents=True, exist_ok=True)
    (project / relative).write_text(content)
    before = snapshot(project)
    status, _, err = run(
        "deploy_plugin",
        "toolbox",
        "--mode",
        "flat",
        "--project",
        project,
        *(["--force"] if force else []),
    )
    assert status == 1
    assert "bad_project_settings" in err and relative in err and problem in err
    assert snapshot(project) == before


def test_six_concurrent_flat_deploys_keep_every_settings_entry(make_tree, project, cli_env):
    """Six processes deploy six plugins with hooks and MCP servers into one project at once:
    the project lock makes every read-modify-write of the settings files whole."""
    names = [f"p{index}" for index in range(6)]
    roots = []
    for name in names:
        tree = {
            ".claude-plugin/plugin.json": manifest(name),
            "hooks/hooks.json": HOOKS_JSON.replace("check.sh", f"{name}.sh"),
            "hooks/check.sh": ("#!/bin/sh\n", 0o755),
            ".mcp.json": json.dumps({f"{name}-server": {"command": name}}),
            f"commands/{name}.md": name,
        }
        roots.append(str(make_tree(tree)))
    done = subprocess.run(
        [sys.executable, "manage.py", "import_plugin", *roots],
        cwd=ROOT,
        env=cli_env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "deploy_plugin",
                name,
                "--mode",
                "flat",
                "--project",
                str(project),
            ],
            cwd=ROOT,
            env=cli_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in names
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
    servers = json.loads((project / ".mcp.json").read_text())["mcpServers"]
    assert sorted(servers) == sorted(f"{name}-server" for name in names)
    hooks = json.loads((project / ".claude/settings.json").read_text())["hooks"]["PreToolUse"]
    commands = {h["command"] for group in hooks for h in group["hooks"]}
    assert commands == {
        f"${{CLAUDE_PROJECT_DIR}}/.claude/plugins/{name}/hooks/{name}.sh" for name in names
    }
    assert (project / ".claude/.skillmeat.flock").stat().st_size == 0


def test_the_project_lock_file_holds_nothing(toolbox, project):
    assert run("deploy_plugin", "toolbox", "--mode", "flat", "--project", project)[0] == 0
    lock = project / ".claude/.skillmeat.flock"
    assert lock.is_file() and lock.stat().st_size == 0
    assert not os.path.islink(lock)
