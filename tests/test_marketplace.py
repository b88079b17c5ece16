"""The collection as a private Claude Code marketplace (DESIGN section 12): the document's
fields, each archive's sha256 equal to the bytes served (the same bytes twice), each archive
re-importing to the same plugin hash, 401 without a token, and the version_reused warning."""

import hashlib
import io
import zipfile

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from artifacts.models import Artifact, ImportRecord
from importer.results import DedupDecision
from importer.services import import_paths
from tests.plugins import full_plugin, manifest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def teammate():
    """Any signed-in user: no staff rights needed to install plugins."""
    user = User.objects.create_user("teammate", password="x")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def served(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content), response


def test_the_marketplace_document_and_its_archives(teammate, make_tree, tmp_path):
    import_paths([make_tree(full_plugin())])
    import_paths([make_tree({".claude-plugin/plugin.json": manifest("solo"), "agents/a.md": "a"})])
    response = teammate.get("/api/v1/collections/default/marketplace.json")
    assert response.status_code == 200
    document = response.json()
    assert document["name"] == "default" and document["owner"] == {"name": "SkillMeat"}
    entries = {entry["name"]: entry for entry in document["plugins"]}
    assert sorted(entries) == ["solo", "toolbox"]
    toolbox = Artifact.objects.get(type="plugin", name="toolbox")
    entry = entries["toolbox"]
    assert entry["description"] == "Tools."
    assert entry["version"] == toolbox.latest_version.content_hash[:12]
    assert entry["source"]["source"] == "archive"
    assert entry["source"]["url"] == (
        f"http://testserver/api/v1/artifacts/{toolbox.pk}/export.zip"
        f"?version={toolbox.latest_version.content_hash}"
    )
    first, headers = served(teammate, entry["source"]["url"])
    second, _ = served(teammate, entry["source"]["url"])
    assert first == second, "the same version gives the same bytes"
    assert hashlib.sha256(first).hexdigest() == entry["source"]["sha256"]
    assert headers["Content-Type"] == "application/zip"
    again = teammate.get("/api/v1/collections/default/marketplace.json").json()
    assert again == document

    archive = tmp_path / "toolbox.zip"
    archive.write_bytes(first)
    with zipfile.ZipFile(io.BytesIO(first)) as bundle:
        assert all(name.startswith("toolbox/") for name in bundle.namelist())
    (result,) = import_paths([archive]).results
    assert result.decision == DedupDecision.LINK_EXISTING
    assert result.plugin_hash == toolbox.latest_version.content_hash


def test_without_a_token_401_and_unknown_names_404(teammate, make_tree):
    import_paths([make_tree(full_plugin())])
    toolbox = Artifact.objects.get(type="plugin", name="toolbox")
    anonymous = APIClient()
    assert anonymous.get("/api/v1/collections/default/marketplace.json").status_code == 401
    assert anonymous.get(f"/api/v1/artifacts/{toolbox.pk}/export.zip").status_code == 401
    assert teammate.get("/api/v1/collections/nope/marketplace.json").status_code == 404
    skill = Artifact.objects.get(type="skill", name="pdf")
    assert teammate.get(f"/api/v1/artifacts/{skill.pk}/export.zip").status_code == 404
    url = f"/api/v1/artifacts/{toolbox.pk}/export.zip?version={'0' * 12}"
    assert teammate.get(url).status_code == 404
    prefix = toolbox.latest_version.content_hash[:8]
    by_prefix, _ = served(teammate, f"/api/v1/artifacts/{toolbox.pk}/export.zip?version={prefix}")
    latest, _ = served(teammate, f"/api/v1/artifacts/{toolbox.pk}/export.zip")
    assert by_prefix == latest


def test_a_reused_version_string_is_warned_at_import_in_the_api_and_the_admin(
    make_tree, admin_client
):
    def kit(text):
        return {".claude-plugin/plugin.json": manifest("kit", version="1.0.0"), "agents/a.md": text}

    import_paths([make_tree(kit("one"))])
    (result,) = import_paths([make_tree(kit("two"))]).results
    (warning,) = [w for w in result.warnings if w.startswith("version_reused")]
    assert "'1.0.0'" in warning and "raise the version" in warning
    assert any(w.startswith("version_reused") for w in ImportRecord.objects.first().warnings)
    plugin = Artifact.objects.get(type="plugin", name="kit")
    versions = admin_client.get(f"/api/v1/artifacts/{plugin.pk}/versions/").json()["results"]
    newest, oldest = versions
    assert newest["warnings"] and newest["warnings"][0].startswith("version_reused")
    assert oldest["warnings"] == []
    page = admin_client.get(f"/admin/artifacts/version/{plugin.latest_version_id}/change/")
    assert b"version_reused" in page.content
    (unchanged,) = import_paths([make_tree(kit("two"))]).results
    assert not any(w.startswith("version_reused") for w in unchanged.warnings)
