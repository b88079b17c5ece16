"""Remote sources through the API: the guard (https only, allowed hosts, public addresses),
refusals before anything is fetched, guarded marketplace entries, origins in version items."""

import json

import pytest

from artifacts.models import Artifact, ImportRecord, Version
from importer.services import import_paths
from tests.test_api import API, client_for, reader, staff  # noqa: F401 - fixtures
from tests.test_remote import market, plugin_tree

pytestmark = pytest.mark.django_db(transaction=True)


def post_url(client, url, **extra):
    return client.post(f"{API}/imports/", {"url": url, **extra}, format="json")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc", "only https://"),
        ("http://github.com/acme/tools", "only https://"),
        ("ssh://git@github.com/acme/tools.git", "only https://"),
        ("git@github.com:acme/tools.git", "only https://"),
        ("https://evil.example/acme/tools.git", "host 'evil.example' is not allowed"),
        ("https://127.0.0.1/acme/tools.git", "non-public address (127.0.0.1)"),
        ("https://localhost/plugin.zip", "non-public address"),
        ("https://10.1.2.3/plugin.zip", "non-public address (10.1.2.3)"),
        ("https://[::1]/plugin.zip", "non-public address (::1)"),
        ("https://169.254.169.254/latest.zip", "non-public address (169.254.169.254)"),
    ],
)
def test_the_api_refuses_sources_it_must_not_fetch_before_fetching(
    staff,  # noqa: F811
    settings,
    skillmeat_home,
    url,
    message,
):
    settings.SKILLMEAT_REMOTE_HOSTS = [
        "github.com",
        "127.0.0.1",
        "localhost",
        "10.1.2.3",
        "::1",
        "169.254.169.254",
    ]
    response = post_url(staff, url)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "remote_not_allowed"
    assert body["errors"][0]["rule"] == "remote_not_allowed"
    assert message in body["errors"][0]["message"]
    assert not (skillmeat_home / "cache").exists(), "nothing was fetched"
    assert ImportRecord.objects.count() == 0


def test_a_bad_url_or_both_fields_is_a_400(staff):  # noqa: F811
    assert post_url(staff, "ftp://x/y").json()["errors"][0]["rule"] == "bad_source"
    both = staff.post(
        f"{API}/imports/", {"url": "github:a/b", "file": b"x"}, format="multipart"
    ).json()
    assert both["errors"][0]["path"] == "file"


def test_a_reader_may_not_import_from_a_url(reader, git_host):  # noqa: F811
    git_host.publish("acme/tools", plugin_tree("tools", hello="hi"))
    assert post_url(reader, "https://github.com/acme/tools").status_code == 403
    assert Artifact.objects.count() == 0


def test_an_allowed_repository_imports_and_its_origin_is_shown(
    staff,  # noqa: F811
    reader,  # noqa: F811
    git_host,
):
    head = git_host.publish("acme/tools", plugin_tree("tools", hello="hi"), tag="v1")
    response = post_url(staff, "https://github.com/acme/tools@v1")
    assert response.status_code == 201, response.content
    (result,) = response.json()["results"]
    versions = staff.get(f"{API}/artifacts/{result['plugin_id']}/versions/").json()
    origin = versions["results"][0]["origin"]
    assert origin == {
        "kind": "git",
        "location": "https://github.com/acme/tools",
        "ref": "v1",
        "commit": head,
        "sha256": None,
        "path": None,
        "marketplace": None,
    }
    seen = reader.get(f"{API}/artifacts/{result['plugin_id']}/versions/").json()
    assert seen["results"][0]["origin"] == origin, "a public URL is no secret"


def test_a_fetched_marketplaces_entries_are_guarded_one_by_one(
    staff,  # noqa: F811
    git_host,
    tmp_path,
):
    git_host.publish("acme/ok", plugin_tree("ok-plugin", ok="ok"))
    git_host.publish(
        "acme/market",
        market(
            "guarded",
            [
                {"name": "ok", "source": {"source": "github", "repo": "acme/ok"}},
                {"name": "local-file", "source": {"source": "url", "url": f"file://{tmp_path}"}},
                {"name": "elsewhere", "source": {"source": "url", "url": "https://evil.example/r"}},
            ],
        ),
    )
    response = post_url(staff, "https://github.com/acme/market")
    assert response.status_code == 201, response.content
    document = response.json()
    assert [r["plugin_name"] for r in document["results"]] == ["ok-plugin"]
    assert {(f["name"], f["rule"]) for f in document["failed"]} == {
        ("local-file", "remote_not_allowed"),
        ("elsewhere", "remote_not_allowed"),
    }


def test_local_origins_are_shown_to_staff_only(staff, reader, make_tree):  # noqa: F811
    folder = make_tree(plugin_tree("local", hello="hi"))
    (result,) = import_paths([folder]).results
    url = f"{API}/artifacts/{result.plugin_id}/versions/"
    assert staff.get(url).json()["results"][0]["origin"]["location"] == str(folder)
    origin = reader.get(url).json()["results"][0]["origin"]
    assert (origin["kind"], origin["location"]) == ("directory", "********")
    assert "directory" in json.dumps(origin)
    assert Version.objects.get(artifact__type="plugin").origin_location == str(folder)


def test_an_uploaded_marketplaces_remote_entries_are_fetched_only_when_asked_and_guarded(
    staff,  # noqa: F811
    git_host,
    tmp_path,
):
    from tests.plugins import make_zip

    git_host.publish("acme/ok", plugin_tree("ok-plugin", ok="ok"))
    archive = make_zip(
        tmp_path / "shop.zip",
        market(
            "shop",
            [
                {"name": "ok", "source": {"source": "github", "repo": "acme/ok"}},
                {"name": "inner", "source": {"source": "url", "url": "https://10.0.0.1/r.git"}},
            ],
        ),
    )

    def send(**extra):
        with archive.open("rb") as handle:
            return staff.post(
                f"{API}/imports/", {"file": handle, **extra}, format="multipart"
            ).json()

    assert [s["name"] for s in send()["skipped"]] == ["ok", "inner"]
    document = send(remote="true")
    assert [r["plugin_name"] for r in document["results"]] == ["ok-plugin"]
    assert [(f["name"], f["rule"]) for f in document["failed"]] == [("inner", "remote_not_allowed")]
