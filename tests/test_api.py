"""The REST API under /api/v1/: shapes, filters, pagination, authentication, permissions,
associations with pinned hashes and drift, the import endpoint, constant query counts."""

import json
import os

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from artifacts.models import Artifact, ArtifactAssociation, ImportRecord
from importer.hashing import hash_directory
from importer.services import import_paths
from tests.conftest import count_queries
from tests.plugins import (
    MCP_SERVERS,
    database_snapshot,
    full_plugin,
    make_tar,
    make_zip,
    manifest,
    storage_snapshot,
    synthetic_plugin,
)

pytestmark = pytest.mark.django_db(transaction=True)
API = "/api/v1"


def client_for(user):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def reader():
    return client_for(User.objects.create_user("reader", password="x"))


@pytest.fixture
def staff():
    return client_for(User.objects.create_user("staff", password="x", is_staff=True))


@pytest.fixture
def importer_user():
    user = User.objects.create_user("importer", password="x")
    user.user_permissions.add(Permission.objects.get(codename="add_artifact"))
    return client_for(user)


def plugin_id(name="toolbox"):
    return str(Artifact.objects.get(type="plugin", name=name).pk)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/collections/"),
        ("get", "/artifacts/"),
        ("get", "/artifacts/00000000-0000-0000-0000-000000000000/"),
        ("get", "/artifacts/00000000-0000-0000-0000-000000000000/versions/"),
        ("get", "/artifacts/00000000-0000-0000-0000-000000000000/associations/"),
        ("post", "/imports/"),
        ("get", "/deployments/"),
        ("get", "/project-status/?project=/tmp"),
        ("get", "/schema/"),
    ],
)
def test_every_endpoint_needs_credentials(method, path):
    response = getattr(APIClient(), method)(API + path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    if response["Content-Type"].startswith("application/json"):
        assert response.json()["code"] == "not_authenticated"


def test_collections(reader, toolbox):
    body = reader.get(f"{API}/collections/").json()
    assert body["count"] == 1
    assert body["results"][0]["name"] == "default"


def test_artifact_list_shape_filters_and_pagination(reader, toolbox):
    root = toolbox
    plugin_hash = hash_directory(root)
    body = reader.get(f"{API}/artifacts/").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 9
    first = body["results"][0]
    assert {
        "id",
        "collection",
        "type",
        "name",
        "latest_version_hash",
        "created_at",
        "updated_at",
    } <= set(first)
    assert first["collection"] == "default"

    def names(query):
        response = reader.get(f"{API}/artifacts/{query}")
        assert response.status_code == 200, response.content
        return sorted(a["name"] for a in response.json()["results"])

    assert names("?type=skill") == ["pdf", "xlsx"]
    assert names("?type=command&search=GIT") == ["git/commit"]
    assert names("?name=PDF") == ["pdf"]
    assert names(f"?content_hash={hash_directory(root / 'skills/pdf')}") == ["pdf"]
    assert names(f"?content_hash={plugin_hash}") == ["toolbox"]
    assert names("?collection=default&type=hook") == ["toolbox"]
    assert names("?collection=nope") == []
    page = reader.get(f"{API}/artifacts?page_size=4&page=2").json()
    assert len(page["results"]) == 4 and page["previous"] and page["next"]
    assert reader.get(f"{API}/artifacts/?type=widget").status_code == 400


@pytest.mark.parametrize("user", ["reader", "staff"])
def test_every_list_item_is_the_artifacts_detail_document(request, user, toolbox):
    """The list reads plain rows off the cursor, the detail converted ones: the same text
    for ids, datetimes (DRF's ISO 8601 with Z), hashes and masked configurations."""
    client = request.getfixturevalue(user)
    items = client.get(f"{API}/artifacts/?page_size=1000").json()["results"]
    assert len(items) == 9
    for item in items:
        detail = client.get(f"{API}/artifacts/{item['id']}/").json()
        assert item == detail
        assert item["created_at"] == serializers.DateTimeField().to_representation(
            Artifact.objects.get(pk=item["id"]).created_at
        )
    mcp = next(item for item in items if item["type"] == "mcp")
    assert mcp["configuration"] and mcp["latest_version_hash"]


def test_artifact_detail_and_unknown_or_malformed_ids(reader, toolbox):
    pid = plugin_id()
    body = reader.get(f"{API}/artifacts/{pid}").json()
    assert (body["id"], body["type"], body["name"]) == (pid, "plugin", "toolbox")
    assert body["latest_version_hash"] == hash_directory(toolbox)
    for path in ("", "/versions/", "/associations/"):
        assert (
            reader.get(f"{API}/artifacts/11111111-2222-3333-4444-555555555555{path}").status_code
            == 404
        )
        assert reader.get(f"{API}/artifacts/not-a-uuid{path}").status_code == 404


def test_versions(reader, make_tree, toolbox):
    import_paths([make_tree(full_plugin(**{"skills/pdf/SKILL.md": "v2"}))])
    skill = Artifact.objects.get(name="pdf")
    body = reader.get(f"{API}/artifacts/{skill.pk}/versions/").json()
    assert body["count"] == 2
    newest, oldest = body["results"]
    assert newest["is_latest"] and not oldest["is_latest"]
    assert newest["content_hash"] == skill.latest_version.content_hash
    script = next(f for f in oldest["files"] if f["path"] == "scripts/extract.py")
    assert script["mode"] == "100755" and len(script["blob_hash"]) == 64


def test_mcp_secrets_are_masked_for_readers_who_are_not_staff(reader, staff, toolbox):
    server = Artifact.objects.get(type="mcp", name="google calendar")
    masked = reader.get(f"{API}/artifacts/{server.pk}/").json()["configuration"]
    assert masked["headers"] == {"Authorization": "********"}
    assert masked["url"] == MCP_SERVERS["google calendar"]["url"]
    notes = Artifact.objects.get(type="mcp", name="notes")
    versions = reader.get(f"{API}/artifacts/{notes.pk}/versions/").json()
    assert versions["results"][0]["metadata"]["configuration"]["env"] == {"TOKEN": "********"}
    assert "secret" not in json.dumps(reader.get(f"{API}/artifacts/?type=mcp").json())
    raw = staff.get(f"{API}/artifacts/{server.pk}/").json()["configuration"]
    assert raw == MCP_SERVERS["google calendar"]


def test_associations_of_a_plugin_pin_what_the_import_recorded(staff, toolbox):
    body = staff.get(f"{API}/artifacts/{plugin_id()}/associations/").json()
    assert body["artifact_id"] == plugin_id() and body["parents"] == []
    recorded = {
        (a.child.type, a.child.name): a.pinned_version_hash
        for a in ArtifactAssociation.objects.select_related("child")
    }
    shown = {
        (c["artifact_type"], c["artifact_name"]): c["pinned_version_hash"] for c in body["children"]
    }
    assert shown == recorded
    assert [c["position"] for c in body["children"]] == list(range(8))
    assert all(
        c["drifted"] is False and c["relationship_type"] == "contains" for c in body["children"]
    )
    assert set(body["children"][0]) == {
        "artifact_id",
        "artifact_name",
        "artifact_type",
        "relationship_type",
        "pinned_version_hash",
        "current_version_hash",
        "drifted",
        "latest_from",
        "latest_from_count",
        "invocation_name",
        "position",
        "created_at",
    }


def test_a_shared_child_lists_both_parents_and_drift_shows(reader, make_tree, toolbox):
    other = make_tree(
        {".claude-plugin/plugin.json": manifest("other"), "commands/greet.md": "a newer greeting\n"}
    )
    import_paths([other])
    greet = Artifact.objects.get(type="command", name="greet")
    body = reader.get(f"{API}/artifacts/{greet.pk}/associations").json()
    assert body["children"] == []
    parents = {p["artifact_name"]: p for p in body["parents"]}
    assert set(parents) == {"toolbox", "other"}
    assert parents["toolbox"]["drifted"] is True
    assert parents["other"]["drifted"] is False
    assert parents["toolbox"]["current_version_hash"] == parents["other"]["pinned_version_hash"]
    children = reader.get(f"{API}/artifacts/{plugin_id()}/associations/").json()["children"]
    drifted = [c["artifact_name"] for c in children if c["drifted"]]
    assert drifted == ["greet"]


def test_association_query_parameters(reader, make_tree, toolbox):
    pid = plugin_id()
    url = f"{API}/artifacts/{pid}/associations/"
    assert reader.get(url, {"include_children": "false"}).json()["children"] == []
    greet = Artifact.objects.get(type="command", name="greet")
    assert reader.get(
        f"{API}/artifacts/{greet.pk}/associations/", {"include_parents": "false"}
    ).json() == {
        "artifact_id": str(greet.pk),
        "parents": [],
        "children": [],
        "parents_count": 0,
        "children_count": 0,
    }
    assert len(reader.get(url, {"relationship_type": "contains"}).json()["children"]) == 8
    assert reader.get(url, {"relationship_type": "requires"}).json()["children"] == []
    old_hash = hash_directory(toolbox)
    import_paths([make_tree(full_plugin(**{"agents/reviewer.md": None}))])
    assert len(reader.get(url).json()["children"]) == 7
    assert len(reader.get(url, {"plugin_version": old_hash}).json()["children"]) == 8
    assert reader.get(url, {"plugin_version": "0" * 64}).status_code == 404
    assert reader.get(url, {"include_children": "maybe"}).status_code == 400


def test_an_artifact_without_associations(reader, make_tree):
    import_paths([make_tree({"commands/solo.md": "x"}, name="solo")])
    loner = Artifact.objects.get(type="command")
    ArtifactAssociation.objects.all().delete()
    body = reader.get(f"{API}/artifacts/{loner.pk}/associations/").json()
    assert body == {
        "artifact_id": str(loner.pk),
        "parents": [],
        "children": [],
        "parents_count": 0,
        "children_count": 0,
    }


# --- import endpoint ------------------------------------------------------------------------


def upload(client, archive, **fields):
    with archive.open("rb") as handle:
        return client.post(f"{API}/imports/", {"file": handle, **fields}, format="multipart")


def test_import_a_good_archive(importer_user, tmp_path):
    archive = make_zip(
        tmp_path / "toolbox.zip", {f"toolbox/{k}": v for k, v in full_plugin().items()}
    )
    response = upload(importer_user, archive)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"results", "skipped", "failed"}
    assert body["results"][0]["plugin_name"] == "toolbox"
    assert len(body["results"][0]["children"]) == 8
    assert Artifact.objects.count() == 9
    again = upload(importer_user, archive)
    assert again.json()["results"][0]["decision"] == "LINK_EXISTING"


def test_import_dry_run_writes_nothing(staff, tmp_path, skillmeat_home):
    archive = make_tar(tmp_path / "toolbox.tgz", full_plugin())
    before = (database_snapshot(), storage_snapshot(skillmeat_home), ImportRecord.objects.count())
    response = upload(staff, archive, dry_run="true")
    assert response.status_code == 200
    assert response.json()["results"][0]["dry_run"] is True
    assert (
        database_snapshot(),
        storage_snapshot(skillmeat_home),
        ImportRecord.objects.count(),
    ) == before


@pytest.mark.parametrize(
    ("name", "members", "rule", "where"),
    [
        (
            "evil.zip",
            {"p/commands/a.md": "a", "../evil.md": "x"},
            "unsafe_archive_member",
            "evil.zip!../evil.md",
        ),
        (
            "bad.zip",
            {"p/.claude-plugin/plugin.json": "[]"},
            "bad_manifest",
            "bad.zip!p/.claude-plugin/plugin.json",
        ),
        ("two.zip", {"a/commands/x.md": "x", "b/commands/y.md": "y"}, "not_a_plugin", "two.zip"),
        (
            "names.zip",
            {"p/.claude-plugin/plugin.json": manifest("../../x")},
            "bad_name",
            "names.zip!p/",
        ),
    ],
)
def test_bad_archives_give_400_naming_path_and_rule(
    staff, tmp_path, skillmeat_home, name, members, rule, where
):
    archive = make_zip(tmp_path / name, members)
    before = (database_snapshot(), storage_snapshot(skillmeat_home))
    response = upload(staff, archive)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "import_failed" and body["detail"]
    (error,) = body["errors"]
    assert error["rule"] == rule and error["path"].startswith(where), error
    assert (database_snapshot(), storage_snapshot(skillmeat_home)) == before


def test_not_an_archive_and_no_file(staff, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    response = upload(staff, text)
    assert response.status_code == 400
    assert response.json()["errors"][0]["rule"] == "bad_archive"
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(b"not a zip at all")
    assert upload(staff, corrupt).json()["errors"][0]["rule"] == "bad_archive"
    missing = staff.post(f"{API}/imports/", {"collection": "default"}, format="multipart")
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["path"] == "file"


def test_an_oversized_upload_gives_413_and_writes_nothing(
    staff, tmp_path, settings, skillmeat_home
):
    settings.SKILLMEAT_MAX_TOTAL_BYTES = 200_000
    archive = make_zip(tmp_path / "big.zip", {"p/commands/a.md": os.urandom(300_000)})
    before = (database_snapshot(), storage_snapshot(skillmeat_home))
    response = upload(staff, archive)
    assert response.status_code == 413
    assert response.json()["code"] == "upload_too_large"
    assert (database_snapshot(), storage_snapshot(skillmeat_home)) == before


def test_import_needs_staff_or_the_add_artifact_permission(reader, tmp_path):
    archive = make_zip(tmp_path / "p.zip", {"p/commands/a.md": "a"})
    response = upload(reader, archive)
    assert response.status_code == 403
    assert Artifact.objects.count() == 0


def test_session_authentication_works_too(tmp_path):
    User.objects.create_user("admin", password="pw", is_staff=True)
    client = APIClient()
    assert client.login(username="admin", password="pw")
    assert client.get(f"{API}/artifacts/").status_code == 200
    archive = make_zip(tmp_path / "p.zip", {"p/commands/a.md": "a"})
    assert upload(client, archive).status_code == 201


# --- constant query counts ------------------------------------------------------------------


def test_query_counts_do_not_grow_with_rows(reader, make_tree):
    counts = {}
    for size in (5, 50):
        import_paths([make_tree(synthetic_plugin(f"plugin-{size}", size))])
        plugin = Artifact.objects.get(type="plugin", name=f"plugin-{size}")
        counts[size] = (
            count_queries(reader, f"{API}/artifacts/?page_size=1000"),
            count_queries(reader, f"{API}/artifacts/{plugin.pk}/associations/"),
            count_queries(reader, f"{API}/artifacts/{plugin.pk}/versions/"),
        )
    assert counts[5] == counts[50], counts


def test_the_list_runs_in_collection_type_name_order_across_pages(reader, make_tree):
    """Collections in the order they were made, then type, then name: the identity index's
    order, which a deep page walks instead of sorting every row. Paging one item at a time
    gives the same sequence, each artifact once."""
    plugin = {
        ".claude-plugin/plugin.json": manifest("kit"),
        "commands/b.md": "b\n",
        "commands/A.md": "a\n",
        "agents/z.md": "z\n",
    }
    for collection in ("zeta", "alpha"):
        assert import_paths([make_tree(plugin)], collection=collection).failed == []
    expected = [
        (collection, kind, name)
        for collection in ("zeta", "alpha")
        for kind, name in (("agent", "z"), ("command", "A"), ("command", "b"), ("plugin", "kit"))
    ]
    body = reader.get(f"{API}/artifacts/", {"page_size": 100}).json()
    listed = [(a["collection"], a["type"], a["name"]) for a in body["results"]]
    assert listed == expected
    paged, url = [], f"{API}/artifacts/?page_size=1&type=command"
    while url:
        page = reader.get(url).json()
        paged += [(a["collection"], a["name"]) for a in page["results"]]
        url = page["next"]
    assert paged == [(c, n) for c, kind, n in expected if kind == "command"]
    assert reader.get(f"{API}/artifacts/", {"page": 9}).status_code == 404
