"""The admin in a real browser: headless Chromium (Debian's package) driven by Playwright
against a live test server. Screenshots are kept in test-artifacts/."""

import os
import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connections

from artifacts.models import Artifact
from deploy.services import plugin_deploy
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
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = context.new_page()
        try:
            yield page
        finally:
            # The ORM calls made while Playwright's loop runs open a connection of their own;
            # close it, or PostgreSQL cannot drop the test database at the end of the run.
            connections.close_all()
            browser.close()


def shot(page, name):
    """A full-page screenshot, after checking the page does not scroll sideways at 1400 px."""
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{name}: the page is {widths[0]} px wide at {widths[1]} px"


def login(page, live_server):
    User.objects.create_superuser("admin", "admin@example.org", "correct horse battery")
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "correct horse battery")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def test_admin_walkthrough(live_server, browser_page, make_tree, tmp_path):
    import_paths([make_tree(full_plugin())])
    import_paths(
        [
            make_tree(
                {".claude-plugin/plugin.json": manifest("other"), "commands/greet.md": "newer\n"}
            )
        ]
    )
    page = browser_page
    login(page, live_server)
    shot(page, "01-admin-home")

    page.goto(f"{live_server.url}/admin/artifacts/artifact/?type__exact=plugin")
    shot(page, "02-plugin-list")
    listing = page.inner_text("#result_list")
    assert "1 with newer versions" in listing and "not checked" in listing
    page.click("#result_list >> text=toolbox")
    page.wait_for_selector(".skillmeat-table")
    shot(page, "03-plugin-children")
    children = page.inner_text(".field-children .skillmeat-table")
    plugin = Artifact.objects.get(type="plugin", name="toolbox")
    for association in plugin.latest_version.child_associations.all():
        assert association.pinned_version_hash[:12] in children
    assert page.locator(".drifted").count() == 1
    assert "newer in other" in page.inner_text(".drifted")

    first = page.locator(".copy-hash").first
    full = first.get_attribute("data-hash")
    first.click()
    page.wait_for_function("document.querySelector('.copy-hash').textContent === 'copied'")
    assert page.evaluate("navigator.clipboard.readText()") == full

    page.click(".field-children .skillmeat-table >> text=greet")
    page.wait_for_selector("text=Plugins whose latest version contains it")
    shot(page, "04-child-parents-and-versions")
    versions = page.inner_text(".field-version_history").lower()
    assert "brought by" in versions and "toolbox" in versions and "other" in versions
    page.click(".field-version_history >> text=compare with latest")
    page.wait_for_selector(".diff-page")
    shot(page, "05-diff")
    assert page.locator(".file-diff .added").count() >= 1

    page.click(".breadcrumbs >> a >> nth=2")
    page.wait_for_selector(".field-file_table")
    shot(page, "06-version")
    page.click(".field-file_table >> text=greet.md")
    page.wait_for_selector("#file-contents")
    shot(page, "07-file-text")
    page.goto(f"{live_server.url}/admin/artifacts/artifact/")
    page.click("text=Import an archive")
    archive = make_zip(
        tmp_path / "uploaded.zip", {f"uploaded/{k}": v for k, v in full_plugin("uploaded").items()}
    )
    shot(page, "08-import-form")
    page.set_input_files("#id_file", str(archive))
    page.click("input[name=_import]")  # a dry run: the box is ticked at first
    page.wait_for_selector("#confirm-form")
    shot(page, "09-import-dry-run")
    assert "uploaded: CREATE_NEW_ARTIFACT (dry run)" in page.inner_text("#import-report")
    assert not Artifact.objects.filter(type="plugin", name="uploaded").exists()
    page.click("#confirm-form input[type=submit]")
    page.wait_for_selector("#import-report")
    shot(page, "10-import-result")
    assert "uploaded: CREATE_NEW_ARTIFACT" in page.inner_text("#import-report")
    assert "reused (" in page.inner_text("#import-report")
    assert Artifact.objects.filter(type="plugin", name="uploaded").exists()
    assert os.path.getsize(SCREENSHOTS / "10-import-result.png") > 10_000


def test_binary_files_deployments_and_deleting(live_server, browser_page, make_tree, tmp_path):
    tree = full_plugin()
    tree["skills/pdf/logo.png"] = bytes(range(256)) * 8
    import_paths([make_tree(tree)])
    project = tmp_path / ("a-project-folder-with-a-rather-long-name-" * 3) / "checkout"
    project.mkdir(parents=True)
    plugin_deploy(mode="flat", name="toolbox", project=project)
    page = browser_page
    login(page, live_server)

    skill = Artifact.objects.get(type="skill", name="pdf").latest_version
    page.goto(f"{live_server.url}/admin/artifacts/version/{skill.pk}/files/logo.png")
    page.wait_for_selector("#binary-file")
    shot(page, "11-file-binary")
    with page.expect_download() as download:
        page.click("#download-file")
    assert Path(download.value.path()).read_bytes() == bytes(range(256)) * 8

    page.goto(f"{live_server.url}/admin/deploy/deployment/")
    shot(page, "12-deployments")
    page.click("#result_list >> text=toolbox")
    page.wait_for_selector(".field-states")
    shot(page, "13-deployment")

    page.goto(f"{live_server.url}/admin/artifacts/importrecord/")
    shot(page, "14-import-history")

    page.goto(f"{live_server.url}/admin/artifacts/artifact/?type__exact=plugin")
    page.check("#result_list input.action-select")
    page.select_option("select[name=action]", "remove_selected")
    page.click("button[name=index]")
    page.wait_for_selector("#to-remove")
    shot(page, "15-delete-confirmation")
    page.click("#confirm-remove")
    page.wait_for_selector(".messagelist")
    assert "deployed" in page.inner_text(".messagelist"), "deployed: refused without force"
    page.check("#result_list input.action-select")
    page.select_option("select[name=action]", "remove_selected")
    page.click("button[name=index]")
    page.check("#id_force")
    page.check("#id_with_children")
    page.click("#confirm-remove")
    page.wait_for_selector(".messagelist")
    shot(page, "16-deleted")
    assert "Deleted" in page.inner_text(".messagelist")
    assert not Artifact.objects.exists()
