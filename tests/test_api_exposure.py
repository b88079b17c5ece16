"""What the API shows to whom: secrets and the hashes that would reveal them (DESIGN 8),
staff-only server paths, and hash prefixes wherever a hash is accepted."""

import json

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from artifacts.masking import MASK, mask_configuration, strip_url_secrets
from artifacts.models import Artifact, Version
from importer.services import import_paths
from tests.plugins import full_plugin

pytestmark = pytest.mark.django_db(transaction=True)
API = "/api/v1"

SECRET_SERVERS = {
    "listy": {
        "command": "node",
        "args": ["server.js", "--api-key", "sk-live-1", "--token=tok-2", "--port", "8080"],
        "env": ["DB_PASSWORD=hunter2", "PLAIN"],
        "headers": [{"name": "Authorization", "value": "Bearer abc"}],
    },
    "urly": {
        "type": "http",
        "url": "https://alice:pa55@mcp.example.org/v1?api_key=k-3&region=eu",
    },
}
SECRETS = ("sk-live-1", "tok-2", "hunter2", "Bearer abc", "pa55", "alice", "k-3")


def client(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def seeded(make_tree):
    tree = full_plugin(**{".mcp.json": json.dumps({"mcpServers": SECRET_SERVERS})})
    assert import_paths([make_tree(tree)]).failed == []
    reader = client(User.objects.create_user("reader", password="x"))
    staff = client(User.objects.create_user("staff", password="x", is_staff=True))
    return reader, staff


def test_mask_configuration_covers_every_form():
    masked = mask_configuration(SECRET_SERVERS["listy"])
    assert masked["args"] == ["server.js", "--api-key", MASK, f"--token={MASK}", "--port", "8080"]
    assert masked["env"] == [f"DB_PASSWORD={MASK}", MASK]
    assert masked["headers"] == [{"name": "Authorization", "value": MASK}]
    url = mask_configuration(SECRET_SERVERS["urly"])["url"]
    assert url == f"https://{MASK}@mcp.example.org/v1?api_key={MASK}&region=eu"
    assert strip_url_secrets("https://u:p@h.example/x", replacement="") == "https://h.example/x"


def test_readers_see_no_secret_and_no_hash_that_commits_to_one(seeded):
    reader, staff = seeded
    everything = []
    for artifact in Artifact.objects.all():
        for path in ("", "versions/", "associations/"):
            response = reader.get(f"{API}/artifacts/{artifact.pk}/{path}")
            assert response.status_code == 200
            everything.append(response.content.decode())
    everything.append(reader.get(f"{API}/artifacts/?page_size=1000").content.decode())
    shown = "\n".join(everything)
    for secret in SECRETS:
        assert secret not in shown, secret
    for version in Version.objects.filter(artifact__type="mcp"):
        assert version.content_hash not in shown
    plugin = Artifact.objects.get(type="plugin")
    mcp_json = plugin.latest_version.files.get(path=".mcp.json")
    assert mcp_json.blob_hash not in shown
    assert plugin.latest_version.content_hash in shown  # the plugin's own hash stays
    staff_view = staff.get(f"{API}/artifacts/{plugin.pk}/versions/").content.decode()
    assert mcp_json.blob_hash in staff_view
    server = Artifact.objects.get(type="mcp", name="urly")
    staff_detail = staff.get(f"{API}/artifacts/{server.pk}/").json()
    assert staff_detail["configuration"]["url"] == SECRET_SERVERS["urly"]["url"]


def test_readers_cannot_test_guesses_against_mcp_hashes(seeded):
    reader, staff = seeded
    server = Artifact.objects.get(type="mcp", name="listy")
    digest = server.latest_version.content_hash
    assert reader.get(f"{API}/artifacts/?content_hash={digest}").json()["count"] == 0
    assert staff.get(f"{API}/artifacts/?content_hash={digest}").json()["count"] == 1


def test_server_paths_are_for_staff_only(seeded, tmp_path):
    reader, staff = seeded
    plugin = Artifact.objects.get(type="plugin")
    (item,) = reader.get(f"{API}/artifacts/{plugin.pk}/versions/").json()["results"]
    assert item["source"] == MASK
    (item,) = staff.get(f"{API}/artifacts/{plugin.pk}/versions/").json()["results"]
    assert item["source"].startswith("/")
    assert reader.get(f"{API}/deployments/").status_code == 403
    assert reader.get(f"{API}/project-status/?project={tmp_path}").status_code == 403
    assert staff.get(f"{API}/project-status/?project={tmp_path}").status_code == 200


@pytest.mark.parametrize(
    "project", ["%00", "/tmp/%00x", "~nosuchuser", "~", "relative/path", "/no/such/folder", ""]
)
def test_bad_project_parameters_are_400s(seeded, project):
    _, staff = seeded
    response = staff.get(f"{API}/project-status/?project={project}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "project"


def test_hash_prefixes_and_ambiguous_ones(seeded, make_tree):
    _, staff = seeded
    plugin = Artifact.objects.get(type="plugin")
    digest = plugin.latest_version.content_hash
    found = staff.get(f"{API}/artifacts/?content_hash={digest[:8].upper()}").json()
    assert [a["id"] for a in found["results"]] == [str(plugin.pk)]
    assert staff.get(f"{API}/artifacts/?content_hash={digest[:7]}").status_code == 400
    response = staff.get(f"{API}/artifacts/{plugin.pk}/associations/?plugin_version={digest[:10]}")
    assert response.status_code == 200 and len(response.json()["children"]) == 8
    # Two versions of one plugin whose hashes share a prefix: make one by hand.
    other = Version.objects.create(
        artifact=plugin, content_hash=digest[:10] + "0" * 54, size=0, file_count=0
    )
    for query in (
        f"/artifacts/?content_hash={digest[:10]}",
        f"/artifacts/{plugin.pk}/associations/?plugin_version={digest[:10]}",
    ):
        ambiguous = staff.get(API + query)
        assert ambiguous.status_code == 400
        body = ambiguous.json()
        assert body["code"] in ("invalid", "bad_hash_reference")
        assert "ambiguous" in json.dumps(body)
        assert digest in json.dumps(body) and other.content_hash in json.dumps(body)


def test_the_command_line_takes_prefixes_and_names_ambiguous_ones(seeded, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    plugin = Artifact.objects.get(type="plugin")
    digest = plugin.latest_version.content_hash
    out = StringIO()
    call_command(
        "export_plugin",
        "toolbox",
        "-o",
        str(tmp_path / "a.zip"),
        "--version",
        digest[:8],
        stdout=out,
    )
    assert (tmp_path / "a.zip").is_file()
    Version.objects.create(
        artifact=plugin, content_hash=digest[:8] + "f" * 56, size=0, file_count=0
    )
    for command in (
        ["export_plugin", "toolbox", "-o", str(tmp_path / "b.zip")],
        ["deploy_plugin", "toolbox", "--project", str(tmp_path)],
    ):
        err = StringIO()
        with pytest.raises(SystemExit) as exit_:
            call_command(*command, "--version", digest[:8], stderr=err)
        assert exit_.value.code == 2
        assert "ambiguous" in err.getvalue() and digest in err.getvalue()
    assert not (tmp_path / "b.zip").exists()


def test_association_lists_are_paged_with_their_counts(make_tree):
    from artifacts.models import ArtifactType

    shared = "---\ndescription: shared\n---\nThe same command everywhere.\n"
    for index in range(7):
        tree = {".claude-plugin/plugin.json": f'{{"name": "p{index}"}}', "commands/s.md": shared}
        assert import_paths([make_tree(tree)]).failed == []
    staff = client(User.objects.create_user("staff", password="x", is_staff=True))
    command = Artifact.objects.get(type=ArtifactType.COMMAND, name="s")
    url = f"{API}/artifacts/{command.pk}/associations/"
    body = staff.get(url, {"limit": 3, "parents_offset": 5}).json()
    assert body["parents_count"] == 7 and body["children_count"] == 0
    assert [p["artifact_name"] for p in body["parents"]] == ["p5", "p6"]
    assert staff.get(url, {"limit": 0}).status_code == 400
    plugin = Artifact.objects.get(type=ArtifactType.PLUGIN, name="p0")
    body = staff.get(f"{API}/artifacts/{plugin.pk}/associations/", {"limit": 1}).json()
    assert body["children_count"] == 1 and len(body["children"]) == 1


def test_latest_from_names_twenty_plugins_its_own_first_and_counts_them_all(make_tree):
    """A child shared by 25 plugins: each of its 25 parent items would otherwise repeat all
    25 names (a million names for a child of a thousand parents). The names come in the order
    the plugins entered the collection (here the reverse of their names' order)."""
    from artifacts.models import ArtifactType

    shared = "The same command everywhere.\n"
    for index in reversed(range(25)):
        tree = {
            ".claude-plugin/plugin.json": f'{{"name": "p{index:02d}"}}',
            "commands/s.md": shared,
        }
        assert import_paths([make_tree(tree)]).failed == []
    staff = client(User.objects.create_user("staff", password="x", is_staff=True))
    command = Artifact.objects.get(type=ArtifactType.COMMAND, name="s")
    body = staff.get(f"{API}/artifacts/{command.pk}/associations/").json()
    everyone = [f"p{index:02d}" for index in reversed(range(25))]
    for parent in body["parents"]:
        own = parent["artifact_name"]
        assert parent["latest_from_count"] == 25
        assert parent["latest_from"][0] == own and len(parent["latest_from"]) == 20
        assert parent["latest_from"][1:] == [name for name in everyone if name != own][:19]
    plugin = Artifact.objects.get(type=ArtifactType.PLUGIN, name="p00")
    (child,) = staff.get(f"{API}/artifacts/{plugin.pk}/associations/").json()["children"]
    assert child["latest_from"] == ["p00", *everyone[:19]] and child["latest_from_count"] == 25
