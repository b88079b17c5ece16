"""Deleting (DESIGN section 13) on real imports: pinned children and versions are refused
naming the plugins, deployed versions need --force, --with-children keeps shared children, the
latest pointer and the views follow, one transaction; garbage collection removes exactly the
unreferenced blobs older than the grace period and never one an import in flight wrote."""

import json
import threading
import time

import pytest

from artifacts.models import Artifact, ArtifactAssociation, Version, VersionFile
from blobstore import LocalBlobStore
from deploy.models import Deployment
from deploy.services import plugin_deploy
from importer.removal import RemovalRefused, remove_artifact, remove_version
from importer.services import import_paths
from importer.verify import collection_verify
from tests.conftest import run_command
from tests.plugins import database_snapshot, manifest

pytestmark = pytest.mark.django_db(transaction=True)


def plugin(name, **commands):
    tree = {".claude-plugin/plugin.json": manifest(name)}
    tree.update({f"commands/{k}.md": v for k, v in commands.items()})
    return tree


@pytest.fixture
def two_plugins(make_tree):
    """``alpha`` (hello, own) and ``beta`` (hello shared, solo); alpha imported twice."""
    assert import_paths([make_tree(plugin("alpha", hello="hi", own="a1"))]).failed == []
    assert import_paths([make_tree(plugin("alpha", hello="hi", own="a2"))]).failed == []
    assert import_paths([make_tree(plugin("beta", hello="hi", solo="b"))]).failed == []


def get(type_, name):
    return Artifact.objects.get(type=type_, name=name)


def test_a_pinned_child_or_version_is_refused_naming_the_plugins(two_plugins):
    before = database_snapshot()
    with pytest.raises(RemovalRefused) as caught:
        remove_artifact(get("command", "hello"))
    assert caught.value.rule == "pinned"
    assert "alpha, beta" in caught.value.message
    own = get("command", "own")
    with pytest.raises(RemovalRefused):
        remove_version(own.latest_version)
    assert database_snapshot() == before


def test_deleting_a_plugin_keeps_its_children_unless_asked(two_plugins, skillmeat_home):
    views = skillmeat_home / "collections/default"
    report = remove_artifact(get("plugin", "alpha"))
    assert report.artifacts == ["plugin:alpha"] and len(report.versions) == 2
    assert not Artifact.objects.filter(name="alpha").exists()
    assert get("command", "own").versions.count() == 2, "children stay"
    assert not (views / "plugins/alpha").exists()
    assert (views / "plugins/beta").is_dir()
    # Nothing pins "own" any more: it can go now; "hello" is still beta's.
    remove_artifact(get("command", "own"))
    assert not (views / "commands/own.md").exists()
    with pytest.raises(RemovalRefused):
        remove_artifact(get("command", "hello"))


def test_with_children_removes_what_no_remaining_plugin_pins(two_plugins, skillmeat_home):
    report = remove_artifact(get("plugin", "alpha"), with_children=True)
    assert sorted(report.artifacts) == ["command:own", "plugin:alpha"]
    assert report.kept_children == ["command:hello"]
    assert get("command", "hello").versions.count() == 1, "a kept child keeps its versions"
    assert not (skillmeat_home / "collections/default/commands/own.md").exists()
    remove_artifact(get("plugin", "beta"), with_children=True)
    assert Artifact.objects.count() == 0
    assert ArtifactAssociation.objects.count() == 0 and VersionFile.objects.count() == 0


def test_deleting_the_latest_version_moves_the_pointer_and_the_view(two_plugins, skillmeat_home):
    alpha = get("plugin", "alpha")
    first, latest = alpha.versions.order_by("created_at")
    remove_version(latest)
    alpha.refresh_from_db()
    assert alpha.latest_version == first
    # own@a2 is no longer pinned by anything: it can go, and its view goes back to a1.
    own = get("command", "own")
    newest = own.latest_version
    report = remove_version(newest)
    own.refresh_from_db()
    assert report.latest == [str(own.latest_version)]
    view = skillmeat_home / "collections/default/commands/own.md"
    assert view.read_text() == "a1"
    assert collection_verify().ok


def test_deleting_the_last_version_deletes_the_artifact(make_tree):
    import_paths([make_tree(plugin("solo", x="x"))])
    solo = get("plugin", "solo")
    remove_version(solo.latest_version)
    assert not Artifact.objects.filter(type="plugin").exists()
    assert Artifact.objects.filter(name="x").exists()


def test_a_deployed_version_needs_force_which_forgets_the_deployment(two_plugins, project):
    plugin_deploy(mode="flat", name="beta", project=project)
    before = database_snapshot()
    with pytest.raises(RemovalRefused) as caught:
        remove_artifact(get("plugin", "beta"))
    assert caught.value.rule == "deployed" and str(project) in caught.value.message
    assert database_snapshot() == before
    report = remove_artifact(get("plugin", "beta"), force=True)
    assert report.forgotten_deployments == [f"beta -> {project}"]
    assert not Deployment.objects.exists()
    assert (project / ".claude/commands/solo.md").exists(), "the project's files stay"


def test_a_failure_inside_the_transaction_changes_nothing(two_plugins, skillmeat_home, monkeypatch):
    from importer import removal

    before = database_snapshot()
    view = skillmeat_home / "collections/default/plugins/alpha"
    assert view.is_dir()

    def broken(self, artifact, versions):
        self.report.artifacts.append("half")
        Version.objects.filter(artifact=artifact).update(version_label="changed")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(removal._Removal, "_delete_artifact", broken)
    with pytest.raises(RuntimeError):
        remove_artifact(get("plugin", "alpha"))
    assert database_snapshot() == before
    assert view.is_dir()


def test_the_command(two_plugins, project):
    status, out, err = run_command("remove_artifact", "command", "hello")
    assert status == 1 and "pinned by plugin(s) alpha, beta" in err
    status, out, err = run_command("remove_artifact", "plugin", "nope")
    assert status == 1 and "no plugin named 'nope'" in err
    alpha = get("plugin", "alpha")
    first = alpha.versions.order_by("created_at").first()
    status, out, err = run_command(
        "remove_artifact", "plugin", "ALPHA", "--version", first.content_hash[:10], "--json"
    )
    assert status == 0, err
    assert json.loads(out)["versions"] == [str(first)]
    status, out, err = run_command("remove_artifact", "plugin", "alpha", "--with-children")
    assert status == 0
    assert "deleted plugin:alpha" in out and "kept command:hello" in out
    assert "verify_collection --repair" in out


# Garbage collection ---------------------------------------------------------------------


def test_garbage_collection_removes_exactly_the_unreferenced_blobs_past_the_grace(
    two_plugins, settings
):
    store = LocalBlobStore()
    remove_artifact(get("plugin", "alpha"), with_children=True)
    needed = set(VersionFile.objects.values_list("blob_hash", flat=True))
    garbage = {g.path for g in collection_verify().garbage}
    assert garbage and all(store.path_for(d) not in garbage for d in needed)
    assert collection_verify(repair=True, grace_seconds=3600).garbage, "too young to go"
    cleaned = collection_verify(repair=True, grace_seconds=0)
    assert cleaned.ok and cleaned.garbage == []
    assert set(store.all_digests()) == needed


def test_garbage_collection_waits_for_an_import_in_flight(make_tree):
    import_paths([make_tree(plugin("first", a="a"))])
    written = threading.Event()
    proceed = threading.Event()
    result: dict = {}

    def step(step_name, /, **context):
        if step_name == "blobs":  # blobs written, nothing committed yet
            written.set()
            assert proceed.wait(20)

    def collect():
        result["report"] = collection_verify(repair=True, grace_seconds=0)

    importer = threading.Thread(
        target=lambda: result.setdefault(
            "import", import_paths([make_tree(plugin("second", b="new bytes"))], step=step)
        )
    )
    importer.start()
    assert written.wait(20)
    collector = threading.Thread(target=collect)
    collector.start()
    time.sleep(1.0)
    assert collector.is_alive(), "garbage collection waits for the import lock"
    proceed.set()
    importer.join(30)
    collector.join(30)
    assert result["import"].failed == []
    store = LocalBlobStore()
    needed = set(VersionFile.objects.values_list("blob_hash", flat=True))
    assert needed <= set(store.all_digests()), "no blob of the import was lost"
    assert result["report"].ok
