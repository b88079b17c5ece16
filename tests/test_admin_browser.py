"""The admin in a real browser: headless Chromium (Debian's package) driven by Playwright
against a live test server. Screenshots are kept in test-artifacts/."""

import os
import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connections

from artifacts.models import Artifact
from importer.services import import_paths
from tests.plugins import full_plugin, make_zip, manifest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Chromium is not installed (apt-get install chromium); CI installs it",
    ),
]


@pytest.fixture
def browser_page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # itself are still plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            yield page
        finally:
            # The ORM calls made while Playwright's loop runs open a connection of their own;
            # close it, or PostgreSQL cannot drop the test database at the end of the run.
            connections.close_all()
            browser.close()


def shot(page, name):
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_admin_walkthrough(live_server, browser_page, make_tree, tmp_path):
    User.objects.create_superuser("admin", "admin@example.org", "correct horse battery")
    import_paths([make_tree(full_plugin())])
    import_paths(
        [
            make_tree(
                {".claude-plugin/plugin.json": manifest("other"), "commands/greet.md": "newer\n"}
            )
        ]
    )
    page = browser_page

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "correct horse battery")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    shot(page, "01-admin-home")

    page.goto(f"{live_server.url}/admin/artifacts/artifact/?type__exact=plugin")
    page.click("text=toolbox")
    page.wait_for_selector(".skillmeat-table")
    shot(page, "02-plugin-children")
    table = page.inner_text(".skillmeat-table")
    plugin = Artifact.objects.get(type="plugin", name="toolbox")
    for association in plugin.latest_version.child_associations.all():
        assert association.pinned_version_hash[:16] in table
    assert page.locator(".drifted").count() == 1

    page.click(".skillmeat-table >> text=pdf")
    page.wait_for_selector("text=Plugins whose latest version contains it")
    shot(page, "03-child-parents")
    assert "toolbox" in page.inner_text(".skillmeat-table")

    page.goto(f"{live_server.url}/admin/artifacts/artifact/")
    page.click("text=Import an archive")
    archive = make_zip(
        tmp_path / "uploaded.zip", {f"uploaded/{k}": v for k, v in full_plugin("uploaded").items()}
    )
    page.set_input_files("#id_file", str(archive))
    page.click("input[name=_import]")
    page.wait_for_selector("#import-report")
    shot(page, "04-import-result")
    assert "uploaded: CREATE_NEW_ARTIFACT" in page.inner_text("#import-report")
    assert "reused (" in page.inner_text("#import-report")
    assert Artifact.objects.filter(type="plugin", name="uploaded").exists()
    assert os.path.getsize(SCREENSHOTS / "04-import-result.png") > 10_000
