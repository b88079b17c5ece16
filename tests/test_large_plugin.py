"""A plugin of 5,000 children through import, deploy, status, export and the API: every
batched query stays within SQLite's limits (its expression depth and parameter count)."""

import zipfile
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.test import APIClient

from artifacts.models import Artifact, ArtifactAssociation
from deploy.services import project_status
from importer.results import DedupDecision
from importer.services import import_paths
from tests.plugins import manifest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
CHILDREN = 5000


@pytest.fixture
def large_plugin(make_tree):
    tree = {".claude-plugin/plugin.json": manifest("large")}
    for index in range(CHILDREN):
        if index % 5 == 0:
            tree[f"skills/s{index:04}/SKILL.md"] = f"---\nname: s{index}\n---\nskill {index}\n"
        else:
            tree[f"commands/ns{index % 7}/c{index:04}.md"] = f"command {index}\n"
    return make_tree(tree)


def test_a_5000_child_plugin_end_to_end(large_plugin, tmp_path):
    (result,) = import_paths([large_plugin]).results
    assert len(result.children) == CHILDREN
    assert ArtifactAssociation.objects.count() == CHILDREN
    (dry,) = import_paths([large_plugin], dry_run=True).results
    assert dry.decision == DedupDecision.LINK_EXISTING and dry.children_reused == CHILDREN

    project = tmp_path / "project"
    project.mkdir()
    call_command(
        "deploy_plugin", "large", "--mode", "flat", "--project", str(project), stdout=StringIO()
    )
    (status,) = project_status(project)
    assert len(status.children) == CHILDREN
    assert {child.state for child in status.children} == {"in_sync"}
    out = StringIO()
    call_command("sync_status", "--project", str(project), stdout=out)
    assert out.getvalue().rstrip().endswith(f"{CHILDREN} children: {CHILDREN} in_sync")

    archive = tmp_path / "large.zip"
    call_command("export_plugin", "large", "-o", str(archive), stdout=StringIO())
    with zipfile.ZipFile(archive) as bundle:
        assert len(bundle.namelist()) == CHILDREN + 1  # every child's file and plugin.json

    api = APIClient()
    api.force_authenticate(User.objects.create_user("staff", password="x", is_staff=True))
    plugin = Artifact.objects.get(type="plugin", name="large")
    associations = api.get(f"/api/v1/artifacts/{plugin.pk}/associations/")
    assert associations.status_code == 200
    assert associations.json()["children_count"] == CHILDREN
    assert len(associations.json()["children"]) == 500  # a page, by default
    everything = api.get(f"/api/v1/artifacts/{plugin.pk}/associations/", {"limit": CHILDREN}).json()
    assert len(everything["children"]) == CHILDREN
    listed = api.get("/api/v1/artifacts/?page_size=1000&type=command")
    assert listed.status_code == 200 and listed.json()["count"] == CHILDREN * 4 // 5
    versions = api.get(f"/api/v1/artifacts/{plugin.pk}/versions/")
    assert versions.status_code == 200
    assert versions.json()["results"][0]["file_count"] == CHILDREN + 1
