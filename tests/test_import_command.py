"""``manage.py import_plugin``: output contract, exit statuses and the readable summary."""

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.plugins import full_plugin, make_zip

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parent.parent


def run_command(*args):
    out, err = StringIO(), StringIO()
    try:
        call_command("import_plugin", *map(str, args), stdout=out, stderr=err)
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    return status, out.getvalue(), err.getvalue()


def test_summary_groups_children_and_lists_warnings(make_tree):
    root = make_tree(full_plugin())
    status, out, _ = run_command(root)
    assert status == 0
    assert ": imported (CREATE_NEW_ARTIFACT; children: 8 new, 0 reused;" in out
    assert "  new (8): command:git/commit, command:greet" in out
    assert "warning: skills/xlsx/SKILL.md: no frontmatter" in out
    assert out.rstrip().endswith("1 imported, 0 unchanged, 0 skipped, 0 failed")
    changed = make_tree(full_plugin(**{"commands/greet.md": "v2"}))
    status, out, _ = run_command(changed)
    assert "  new version (1): command:greet" in out
    assert "  reused (7):" in out


def test_dry_runs_and_unchanged_plugins_never_say_imported(make_tree):
    root = make_tree(full_plugin())
    _, out, _ = run_command(root, "--dry-run")
    assert "[dry run] toolbox" in out and ": would be imported (CREATE_NEW_ARTIFACT;" in out
    assert out.rstrip().endswith(
        "dry run: 1 to import, 0 unchanged, 0 skipped, 0 failed; nothing written"
    )
    assert " imported" not in out.replace("be imported", "")
    run_command(root)
    _, out, _ = run_command(root)
    assert ": unchanged, nothing written (LINK_EXISTING;" in out
    assert out.rstrip().endswith("0 imported, 1 unchanged, 0 skipped, 0 failed")
    _, out, _ = run_command(root, "--dry-run")
    assert ": unchanged, nothing to import (LINK_EXISTING;" in out


def test_a_failure_is_printed_once_on_stderr(make_tree, tmp_path):
    status, out, err = run_command(make_tree(full_plugin()), tmp_path / "absent")
    assert status == 1
    assert err.count("no such file or directory") == 1
    assert "no such file or directory" not in out
    assert out.rstrip().endswith("1 imported, 0 unchanged, 0 skipped, 1 failed")


def test_dry_run_and_json(make_tree):
    root = make_tree(full_plugin())
    status, out, _ = run_command(root, "--dry-run", "--json")
    document = json.loads(out)
    assert status == 0
    assert set(document) == {"results", "skipped", "failed"}
    (result,) = document["results"]
    assert result["dry_run"] is True
    assert set(result) >= {
        "plugin_id",
        "plugin_name",
        "plugin_hash",
        "decision",
        "transaction_id",
        "dry_run",
        "children",
        "children_imported",
        "children_reused",
        "warnings",
        "duration_ms",
    }
    assert set(result["children"][0]) == {
        "name",
        "type",
        "content_hash",
        "decision",
        "artifact_id",
        "version_id",
    }


def test_a_failed_plugin_gives_exit_1_and_an_error_line(make_tree, tmp_path):
    good = make_tree(full_plugin())
    bad = make_zip(tmp_path / "bad.zip", {"../evil.md": "x"})
    status, out, err = run_command(good, bad, "--json")
    assert status == 1
    document = json.loads(out)
    assert [r["plugin_name"] for r in document["results"]] == ["toolbox"]
    (failure,) = document["failed"]
    assert failure == {
        "name": "bad.zip",
        "path": f"{bad}!../evil.md",
        "rule": "unsafe_archive_member",
        "message": "archive member path contains '..'",
    }
    assert "error: bad.zip:" in err and "unsafe_archive_member" in err


def test_usage_errors_exit_2(make_tree):
    status, _, err = run_command(make_tree(full_plugin()), "--collection", "../x")
    assert status == 2
    assert "collection name" in err


def test_the_real_command_line_keeps_stdout_for_the_document(make_tree, cli_env):
    root = make_tree(full_plugin())
    command = [sys.executable, "manage.py", "import_plugin", str(root), "--json"]
    done = subprocess.run(command, cwd=ROOT, env=cli_env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # exactly one JSON document, nothing else
    assert document["results"][0]["plugin_name"] == "toolbox"
    events = [
        json.loads(line)["event"] for line in done.stderr.splitlines() if line.startswith("{")
    ]
    assert events == ["plugin_import_started", "plugin_imported"]
    missing = subprocess.run(
        [sys.executable, "manage.py", "import_plugin", "--json"],
        cwd=ROOT,
        env=cli_env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2
    assert missing.stdout == ""
    absent = subprocess.run(
        [sys.executable, "manage.py", "import_plugin", str(root / "absent")],
        cwd=ROOT,
        env=cli_env,
        capture_output=True,
        text=True,
    )
    assert absent.returncode == 1
    assert "no such file or directory" in absent.stderr
