"""The admin: plugin pages with children and drift, a child's parents, versions with their
files, the import page, read-only content, and constant query counts."""

import pytest

from artifacts.models import Artifact, Version
from importer.services import import_paths
from tests.conftest import count_queries
from tests.plugins import full_plugin, make_zip, manifest, synthetic_plugin

pytestmark = pytest.mark.django_db(transaction=True)


def change_url(artifact):
    return f"/admin/artifacts/artifact/{artifact.pk}/change/"


def test_plugin_page_lists_children_with_pinned_and_current_hashes(make_tree, admin_client):
    import_paths([make_tree(full_plugin())])
    import_paths(
        [
            make_tree(
                {".claude-plugin/plugin.json": manifest("other"), "commands/greet.md": "newer\n"}
            )
        ]
    )
    plugin = Artifact.objects.get(type="plugin", name="toolbox")
    page = admin_client.get(change_url(plugin)).content.decode()
    greet = Artifact.objects.get(name="greet")
    pinned = plugin.latest_version.child_associations.get(child=greet).pinned_version_hash
    assert pinned[:16] in page and greet.latest_version.content_hash[:16] in page
    assert page.count('class="drifted"') == 1
    assert page.count('class="in-sync"') == 7
    assert "Versions" in page and "latest" in page


def test_child_page_lists_the_plugins_that_contain_it(make_tree, admin_client):
    import_paths([make_tree(full_plugin())])
    import_paths([make_tree(full_plugin("second"))])
    skill = Artifact.objects.get(name="pdf")
    page = admin_client.get(change_url(skill)).content.decode()
    assert "Plugins whose latest version contains it" in page
    assert ">toolbox</a>" in page and ">second</a>" in page
    assert "Current children" not in page


def test_version_page_shows_files_and_what_a_plugin_version_contained(make_tree, admin_client):
    import_paths([make_tree(full_plugin())])
    version = Artifact.objects.get(type="plugin").latest_version
    page = admin_client.get(f"/admin/artifacts/version/{version.pk}/change/").content.decode()
    assert "scripts/setup.sh" in page and "100755" in page
    assert ">git/commit</a>" in page
    skill_version = Version.objects.get(artifact__name="pdf")
    assert skill_version.content_hash[:16] in page


def test_content_is_read_only_and_searchable_by_hash(make_tree, admin_client):
    import_paths([make_tree(full_plugin())])
    assert admin_client.get("/admin/artifacts/artifact/add/").status_code == 403
    assert admin_client.get("/admin/artifacts/version/add/").status_code == 403
    skill = Artifact.objects.get(name="pdf")
    page = admin_client.get(change_url(skill)).content.decode()
    assert 'type="submit" value="Save"' not in page
    found = admin_client.get(
        f"/admin/artifacts/artifact/?q={skill.latest_version.content_hash}"
    ).content.decode()
    assert ">pdf<" in found and ">greet<" not in found
    listing = admin_client.get(
        "/admin/artifacts/artifact/?type__exact=skill&collection__id__exact=1"
    )
    assert listing.status_code == 200


def test_the_import_page(tmp_path, admin_client):
    page = admin_client.get("/admin/artifacts/artifact/import/")
    assert page.status_code == 200 and b'id="import-form"' in page.content
    archive = make_zip(
        tmp_path / "toolbox.zip", {f"toolbox/{k}": v for k, v in full_plugin().items()}
    )
    with archive.open("rb") as handle:
        done = admin_client.post(
            "/admin/artifacts/artifact/import/", {"file": handle, "collection": "default"}
        )
    body = done.content.decode()
    assert "toolbox: CREATE_NEW_ARTIFACT" in body and "new (8)" in body
    assert Artifact.objects.count() == 9
    bad = make_zip(tmp_path / "bad.zip", {"../evil.md": "x"})
    with bad.open("rb") as handle:
        failed = admin_client.post(
            "/admin/artifacts/artifact/import/", {"file": handle, "collection": "default"}
        )
    assert "bad.zip!../evil.md" in failed.content.decode()
    assert "unsafe_archive_member" in failed.content.decode()


def test_pages_load_in_a_constant_number_of_queries(make_tree, admin_client):
    pages = {}
    for size in (5, 50):
        import_paths([make_tree(synthetic_plugin(f"p{size}", size))])
        first = Artifact.objects.get(type="plugin", name=f"p{size}").latest_version
        import_paths([make_tree(synthetic_plugin(f"p{size}", size, variant="b"))])
        plugin = Artifact.objects.get(type="plugin", name=f"p{size}")
        child = Artifact.objects.filter(type="command", name__startswith=f"p{size}-").first()
        version = plugin.latest_version
        a_file = version.files.order_by("path").first().path
        pages[size] = [
            "/admin/artifacts/artifact/",
            "/admin/artifacts/artifact/?type__exact=plugin&drift=drifted",
            change_url(plugin),
            change_url(child),
            f"/admin/artifacts/version/{version.pk}/change/",
            f"/admin/artifacts/version/{version.pk}/files/{a_file}",
            f"/admin/artifacts/version/{first.pk}/diff/{version.pk}/",
            "/admin/artifacts/version/",
            "/admin/artifacts/importrecord/",
        ]
    for url in pages[5]:  # warm the process-wide caches (content types) first
        count_queries(admin_client, url)
    counts = {
        size: [count_queries(admin_client, url) for url in urls] for size, urls in pages.items()
    }
    assert counts[5] == counts[50], counts


def test_the_import_page_takes_a_remote_source_through_the_guard(
    admin_client, git_host, settings, skillmeat_home
):
    from tests.test_remote import plugin_tree

    head = git_host.publish("acme/tools", plugin_tree("tools", hello="hi"))
    page = admin_client.post(
        "/admin/artifacts/artifact/import/",
        {"url": "https://github.com/acme/tools", "collection": "default"},
    )
    assert page.status_code == 200 and b"tools: CREATE_NEW_ARTIFACT" in page.content
    version = Version.objects.get(artifact__type="plugin")
    assert version.origin_commit == head
    detail = admin_client.get(f"/admin/artifacts/version/{version.pk}/change/")
    assert (
        b"https://github.com/acme/tools" in detail.content and head[:16].encode() in detail.content
    )

    settings.SKILLMEAT_REMOTE_HOSTS = ["github.com", "127.0.0.1"]
    refused = admin_client.post(
        "/admin/artifacts/artifact/import/",
        {"url": "https://127.0.0.1/acme/tools.git", "collection": "default"},
    )
    assert b"non-public address (127.0.0.1)" in refused.content
    neither = admin_client.post("/admin/artifacts/artifact/import/", {"collection": "default"})
    assert b"Give an archive or a remote source" in neither.content
    assert Artifact.objects.filter(type="plugin").count() == 1


def test_the_import_page_never_creates_a_collection_by_a_typo(admin_client, tmp_path):
    from artifacts.models import Collection

    archive = make_zip(tmp_path / "kit.zip", {f"kit/{k}": v for k, v in full_plugin("kit").items()})
    with archive.open("rb") as handle:
        typo = admin_client.post(
            "/admin/artifacts/artifact/import/", {"file": handle, "collection": "defualt"}
        )
    assert b"Select a valid choice" in typo.content
    assert not Collection.objects.filter(name="defualt").exists()
    with archive.open("rb") as handle:
        named = admin_client.post(
            "/admin/artifacts/artifact/import/",
            {"file": handle, "collection": "default", "new_collection": "team", "dry_run": "on"},
        )
    assert b"kit: CREATE_NEW_ARTIFACT (dry run)" in named.content
    assert not Collection.objects.filter(name="team").exists(), "a dry run writes nothing"
    confirm = named.context["confirm"]
    done = admin_client.post("/admin/artifacts/artifact/import/", {"confirm": confirm})
    assert b"kit: CREATE_NEW_ARTIFACT" in done.content
    assert Artifact.objects.get(type="plugin", name="kit").collection.name == "team"
    again = admin_client.post("/admin/artifacts/artifact/import/", {"confirm": confirm})
    assert b"The checked upload is gone" in again.content
    forged = admin_client.post("/admin/artifacts/artifact/import/", {"confirm": "x" + confirm})
    assert b"not valid" in forged.content


def test_the_plugin_list_counts_children_and_drift(make_tree, admin_client):
    from artifacts.admin.artifact import annotate_counts

    import_paths([make_tree(full_plugin())])
    import_paths(
        [make_tree({".claude-plugin/plugin.json": manifest("other"), "commands/greet.md": "x"})]
    )
    counts = {
        a.name: (a.child_total, a.drift_total)
        for a in annotate_counts(Artifact.objects.filter(type="plugin"))
    }
    assert counts == {"toolbox": (8, 1), "other": (1, 0)}
    page = admin_client.get("/admin/artifacts/artifact/?type__exact=plugin&drift=drifted")
    assert b"toolbox" in page.content and b">other<" not in page.content
