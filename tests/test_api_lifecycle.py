"""The API of DESIGN section 13: DELETE artifacts and versions (409 naming the plugins, 403
without the permission), diffs and file contents byte for byte, MCP files staff only."""

import pytest
from django.contrib.auth.models import Permission, User

from artifacts.models import Artifact, Version
from deploy.services import plugin_deploy
from importer.services import import_paths
from tests.conftest import count_queries
from tests.test_api import API, client_for, reader, staff  # noqa: F401 - fixtures
from tests.test_lifecycle import plugin

pytestmark = pytest.mark.django_db(transaction=True)

BINARY = bytes(range(256)) * 4


@pytest.fixture
def evolving(make_tree):
    """``kit`` twice: a text file changed, one added, one removed, a mode change, a binary."""
    first = {
        **plugin("kit", hello="line one\nline two\n"),
        "skills/s/SKILL.md": "---\nname: s\n---\nold\n",
        "skills/s/run.sh": ("#!/bin/sh\necho hi\n", 0o644),
        "skills/s/logo.bin": BINARY,
        "skills/s/gone.txt": "bye\n",
    }
    second = {
        **plugin("kit", hello="line one\nline 2\n"),
        "skills/s/SKILL.md": "---\nname: s\n---\nnew\n",
        "skills/s/run.sh": ("#!/bin/sh\necho hi\n", 0o755),
        "skills/s/logo.bin": BINARY[::-1],
        "skills/s/added.txt": "hello\n",
    }
    assert import_paths([make_tree(first)]).failed == []
    assert import_paths([make_tree(second)]).failed == []
    return Artifact.objects.get(type="skill", name="s")


def test_the_diff_between_two_versions(staff, evolving):  # noqa: F811
    old, new = evolving.versions.order_by("created_at")
    url = f"{API}/artifacts/{evolving.pk}/diff/?from={old.content_hash[:10]}&to={new.content_hash}"
    document = staff.get(url).json()
    assert (document["from"], document["to"]) == (old.content_hash, new.content_hash)
    files = {f["path"]: f for f in document["files"]}
    assert sorted(files) == ["SKILL.md", "added.txt", "gone.txt", "logo.bin", "run.sh"]
    assert files["SKILL.md"]["diff"] == (
        "--- a/SKILL.md\n+++ b/SKILL.md\n@@ -1,4 +1,4 @@\n ---\n name: s\n ---\n-old\n+new\n"
    )
    assert files["added.txt"]["status"] == "added" and files["added.txt"]["old_mode"] is None
    assert files["added.txt"]["diff"] == "--- /dev/null\n+++ b/added.txt\n@@ -0,0 +1 @@\n+hello\n"
    assert files["gone.txt"]["status"] == "removed"
    assert files["logo.bin"] == {
        "path": "logo.bin",
        "status": "changed",
        "old_mode": "100644",
        "new_mode": "100644",
        "binary": True,
        "diff": None,
        "truncated": False,
    }
    assert (files["run.sh"]["old_mode"], files["run.sh"]["new_mode"]) == ("100644", "100755")
    assert files["run.sh"]["diff"] is None, "a mode change alone has no text diff"
    same = staff.get(
        f"{API}/artifacts/{evolving.pk}/diff/?from={old.content_hash}&to={old.content_hash}"
    )
    assert same.json()["files"] == []


def test_diff_refusals(staff, evolving):  # noqa: F811
    url = f"{API}/artifacts/{evolving.pk}/diff/"
    assert staff.get(url).status_code == 400
    assert staff.get(f"{url}?from=zz&to=zz").status_code == 400
    assert staff.get(f"{url}?from={'0' * 64}&to={'0' * 64}").status_code == 404


def test_a_large_text_diff_is_capped(staff, make_tree):  # noqa: F811
    before = "".join(f"line {i}\n" for i in range(20_000))
    after = "".join(f"LINE {i}\n" for i in range(20_000))
    import_paths([make_tree(plugin("big", text=before))])
    import_paths([make_tree(plugin("big", text=after))])
    command = Artifact.objects.get(name="text")
    old, new = command.versions.order_by("created_at")
    url = f"{API}/artifacts/{command.pk}/diff/?from={old.content_hash}&to={new.content_hash}"
    (change,) = staff.get(url).json()["files"]
    assert change["truncated"] is True and 60_000 < len(change["diff"]) <= 64 * 1024


def test_file_contents_byte_exact_with_an_etag(reader, evolving):  # noqa: F811
    old, new = evolving.versions.order_by("created_at")
    url = f"{API}/versions/{old.pk}/files/logo.bin"
    response = reader.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == BINARY
    assert response["Content-Type"] == "application/octet-stream"
    assert "attachment" in response["Content-Disposition"]
    blob = old.files.get(path="logo.bin").blob_hash
    assert response["ETag"] == f'"{blob}"'
    assert reader.get(url, HTTP_IF_NONE_MATCH=f'"{blob}"').status_code == 304
    text = reader.get(f"{API}/versions/{new.pk}/files/SKILL.md/")
    assert b"".join(text.streaming_content) == b"---\nname: s\n---\nnew\n"
    assert text["Content-Type"] == "text/plain; charset=utf-8"
    assert reader.get(f"{API}/versions/{new.pk}/files/nope.md").status_code == 404


def test_files_that_declare_mcp_servers_are_for_staff_only(staff, reader, toolbox):  # noqa: F811
    version = Artifact.objects.get(type="plugin", name="toolbox").latest_version
    for path in (".mcp.json", ".claude-plugin/plugin.json"):
        assert reader.get(f"{API}/versions/{version.pk}/files/{path}").status_code == 403
        assert staff.get(f"{API}/versions/{version.pk}/files/{path}").status_code == 200
    mcp = Artifact.objects.filter(type="mcp").first().latest_version
    name = mcp.files.get().path
    assert reader.get(f"{API}/versions/{mcp.pk}/files/{name}").status_code == 403


def test_delete_through_the_api(staff, reader, make_tree, project):  # noqa: F811
    import_paths([make_tree(plugin("alpha", hello="hi", own="a"))])
    import_paths([make_tree(plugin("beta", hello="hi"))])
    hello = Artifact.objects.get(name="hello")
    refused = staff.delete(f"{API}/artifacts/{hello.pk}/")
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["rule"] == "pinned"
    assert "alpha, beta" in refused.json()["detail"]
    alpha = Artifact.objects.get(name="alpha")
    assert reader.delete(f"{API}/artifacts/{alpha.pk}/").status_code == 403
    plugin_deploy(mode="flat", name="alpha", project=project)
    deployed = staff.delete(f"{API}/artifacts/{alpha.pk}/?with_children=true")
    assert (deployed.status_code, deployed.json()["errors"][0]["rule"]) == (409, "deployed")
    done = staff.delete(f"{API}/artifacts/{alpha.pk}/?with_children=true&force=true")
    assert done.status_code == 200, done.content
    assert sorted(done.json()["artifacts"]) == ["command:own", "plugin:alpha"]
    assert done.json()["kept_children"] == ["command:hello"]
    beta_version = Artifact.objects.get(name="beta").latest_version
    assert staff.delete(f"{API}/versions/{beta_version.pk}/").status_code == 200
    assert not Version.objects.filter(pk=beta_version.pk).exists()
    assert staff.delete(f"{API}/versions/{beta_version.pk}/").status_code == 404


def test_the_delete_permission_is_enough(make_tree):
    import_paths([make_tree(plugin("alpha", own="a"))])
    user = User.objects.create_user("deleter", password="x")
    user.user_permissions.add(Permission.objects.get(codename="delete_artifact"))
    client = client_for(user)
    alpha = Artifact.objects.get(name="alpha")
    assert client.delete(f"{API}/artifacts/{alpha.pk}/").status_code == 200


def test_version_detail_and_diff_in_constant_queries(staff, make_tree):  # noqa: F811
    counts = []
    for size in (3, 30):
        import_paths([make_tree(plugin(f"p{size}", **{f"c{i}": "a" for i in range(size)}))])
        import_paths([make_tree(plugin(f"p{size}", **{f"c{i}": "b" for i in range(size)}))])
        artifact = Artifact.objects.get(name=f"p{size}")
        old, new = artifact.versions.order_by("created_at")
        diff = f"{API}/artifacts/{artifact.pk}/diff/?from={old.content_hash}&to={new.content_hash}"
        counts.append(
            (count_queries(staff, diff), count_queries(staff, f"{API}/versions/{new.pk}/"))
        )
    assert counts[0] == counts[1]
