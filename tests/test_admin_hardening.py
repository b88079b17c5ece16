"""The admin under hostile input: collection names, the import page's size limit and its
permission (the same as the API's)."""

import io

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from artifacts.models import Collection
from tests.plugins import full_plugin, make_zip

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "a@example.org", "x"))
    return client


@pytest.mark.parametrize("name", ["../../x", "a/b", "evil\u202e", "é" * 128, "x" * 600])
def test_a_collection_with_a_bad_name_cannot_be_added(admin_client, name):
    response = admin_client.post(
        "/admin/artifacts/collection/add/", {"name": name, "description": ""}
    )
    assert response.status_code == 200  # the form again, with its error
    assert b"errorlist" in response.content
    assert not Collection.objects.filter(name=name).exists()


def test_a_used_collection_name_is_read_only(admin_client, toolbox):
    default = Collection.objects.get(name="default")
    page = admin_client.get(f"/admin/artifacts/collection/{default.pk}/change/")
    assert b'name="name"' not in page.content
    admin_client.post(
        f"/admin/artifacts/collection/{default.pk}/change/",
        {"name": "renamed", "description": "d"},
    )
    default.refresh_from_db()
    assert default.name == "default" and default.description == "d"
    empty = Collection.objects.create(name="empty")
    page = admin_client.get(f"/admin/artifacts/collection/{empty.pk}/change/")
    assert b'name="name"' in page.content


def post_archive(client, data, *, csrf=True):
    page = client.get("/admin/artifacts/artifact/import/")
    upload = io.BytesIO(data)
    upload.name = "plugin.zip"
    form = {"file": upload, "collection": "default", "_import": "1"}
    if csrf:
        form["csrfmiddlewaretoken"] = page.cookies["csrftoken"].value
    return client.post("/admin/artifacts/artifact/import/", form)


def test_an_upload_past_the_limit_is_a_form_error_not_a_server_error(settings):
    settings.SKILLMEAT_MAX_TOTAL_BYTES = 1000
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_superuser("admin", "a@example.org", "x"))
    response = post_archive(client, b"x" * 200_000)
    assert response.status_code == 413
    assert b'id="import-error"' in response.content
    assert b"larger than the limit of 1000 bytes" in response.content
    assert b'id="import-form"' in response.content


def test_the_admin_import_needs_the_same_permission_as_the_api(tmp_path):
    """Staff status alone allows importing in both (DESIGN 8); a reader is refused by both."""
    archive = make_zip(tmp_path / "p.zip", {f"p/{k}": v for k, v in full_plugin("p").items()})
    staff = User.objects.create_user("staff", password="x", is_staff=True)
    assert not staff.has_perm("artifacts.add_artifact")
    client = Client()
    client.force_login(staff)
    assert post_archive(client, archive.read_bytes(), csrf=False).status_code == 200
    assert Collection.objects.get(name="default").artifacts.filter(name="p").exists()
    api = APIClient()
    api.force_authenticate(staff)
    with archive.open("rb") as upload:
        response = api.post("/api/v1/imports/", {"file": upload, "dry_run": "true"})
    assert response.status_code == 200
    reader = User.objects.create_user("reader", password="x")
    api.force_authenticate(reader)
    with archive.open("rb") as upload:
        assert api.post("/api/v1/imports/", {"file": upload}).status_code == 403


def test_the_admin_finds_artifacts_by_a_hash_prefix(admin_client, toolbox):
    from artifacts.models import Artifact

    plugin = Artifact.objects.get(type="plugin", name="toolbox")
    prefix = plugin.latest_version.content_hash[:8]
    page = admin_client.get(f"/admin/artifacts/artifact/?q={prefix.upper()}")
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    assert list(page.context["cl"].result_list) == [plugin]
    assert admin_client.get("/admin/artifacts/artifact/?q=greet").context["cl"].result_count == 1
