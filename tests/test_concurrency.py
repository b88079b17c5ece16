"""Concurrent imports of overlapping plugins: several processes at once (SQLite and
PostgreSQL), and a writer that bypasses the import lock (PostgreSQL). Never a duplicate,
never an IntegrityError."""

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections

from artifacts.models import (
    Artifact,
    ArtifactType,
    Collection,
    ImportRecord,
    Version,
    normalize_name,
)
from importer.results import DedupDecision
from importer.services import import_paths
from tests.conftest import subprocess_env
from tests.plugins import full_plugin, manifest

pytestmark = pytest.mark.django_db(transaction=True)
on_postgres = pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="a rival writer inside our transaction needs PostgreSQL (SQLite has one writer)",
)
ROOT = Path(__file__).resolve().parent.parent


def overlapping_plugin(index: int) -> dict:
    """Four plugins that share children, and each change one shared name's content."""
    return {
        ".claude-plugin/plugin.json": manifest(f"plugin-{index}"),
        "commands/shared.md": "the same in every plugin\n",
        "skills/shared-skill/SKILL.md": "shared skill\n",
        "skills/shared-skill/run.sh": ("#!/bin/sh\n", 0o755),
        "agents/contested.md": f"a different body in plugin {index}\n",
        f"commands/own-{index}.md": f"only in plugin {index}\n",
        ".mcp.json": '{"mcpServers": {"shared server": {"command": "npx"}}}',
    }


def test_four_processes_importing_overlapping_plugins(make_tree, skillmeat_home):
    env = subprocess_env(skillmeat_home)
    Collection.objects.get_or_create(name="default")
    roots = [make_tree(overlapping_plugin(i)) for i in range(4)]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "import_plugin",
                str(root),
                str(roots[(i + 1) % 4]),
                "--json",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, root in enumerate(roots)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert "IntegrityError" not in err
        assert len(json.loads(out)["results"]) == 2
    assert ImportRecord.objects.filter(status="succeeded").count() == 8
    assert Artifact.objects.filter(type=ArtifactType.PLUGIN).count() == 4
    assert Artifact.objects.filter(name="shared").count() == 1
    assert Version.objects.filter(artifact__name="shared").count() == 1
    assert Version.objects.filter(artifact__name="contested").count() == 4
    assert Version.objects.filter(artifact__name="shared server").count() == 1
    assert Artifact.objects.count() == 4 + 1 + 1 + 1 + 4 + 1


@on_postgres
def test_a_writer_that_bypassed_the_lock_is_recovered_by_rereading(make_tree):
    """Another writer commits the same new child between our reads and our writes."""
    root = make_tree(full_plugin())
    Collection.objects.get_or_create(name="default")
    attempts = []

    def rival_commits_first(step, /, **context):
        if step != "child" or context["index"] != 0 or attempts:
            return
        attempts.append(step)

        def rival():
            collection = Collection.objects.get(name="default")
            Artifact.objects.create(collection=collection, type="command", name="GREET")
            connections.close_all()

        thread = threading.Thread(target=rival)
        thread.start()
        thread.join()

    report = import_paths([root], step=rival_commits_first)
    assert report.failed == []
    (result,) = report.results
    greet = next(c for c in result.children if c.name == "greet")
    assert greet.decision == DedupDecision.CREATE_NEW_VERSION
    assert Artifact.objects.filter(type="command", name_key=normalize_name("greet")).count() == 1
    assert connection.vendor == "postgresql"
