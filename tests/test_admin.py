"""The admin pages for imported content load, and content is read-only there."""

import pytest

from artifacts.models import Artifact, Version
from importer.services import import_paths
from tests.plugins import full_plugin

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_pages_show_imported_content(make_tree, admin_client):
    import_paths([make_tree(full_plugin())])
    listing = admin_client.get("/admin/artifacts/artifact/?type__exact=skill")
    assert listing.status_code == 200
    assert b"pdf" in listing.content and b"greet" not in listing.content
    plugin_version = Artifact.objects.get(type="plugin").latest_version
    page = admin_client.get(f"/admin/artifacts/version/{plugin_version.pk}/change/")
    assert page.status_code == 200
    assert plugin_version.content_hash.encode() in page.content
    assert b"scripts/setup.sh" in page.content
    skill_version = Version.objects.get(artifact__name="pdf")
    assert skill_version.content_hash.encode() in page.content  # pinned in the associations
    assert admin_client.get("/admin/artifacts/artifact/add/").status_code == 403
    found = admin_client.get(f"/admin/artifacts/artifact/?q={skill_version.content_hash}")
    assert b"pdf" in found.content
    assert admin_client.get("/admin/artifacts/importrecord/").status_code == 200
