"""verify_collection finds what is wrong with the storage root and --repair fixes what can
be fixed, never deleting a blob a row needs; a SIGKILLed import is reported and repaired."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from artifacts.models import Artifact, Collection, Version, VersionFile
from blobstore import LocalBlobStore
from importer.services import import_paths
from importer.verify import collection_verify
from tests.plugins import full_plugin, row_counts

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parent.parent


def kinds(report):
    return sorted(p.kind for p in report.problems)


def blob_of(path):
    version_file = VersionFile.objects.filter(path=path).first()
    return LocalBlobStore().path_for(version_file.blob_hash)


def test_a_clean_collection_verifies(toolbox):
    assert collection_verify().ok
    out = StringIO()
    call_command("verify_collection", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {
        "ok": True,
        "checked": {"blobs": 16, "versions": 9, "views": 9},
        "problems": [],
        "garbage": [],
        "repaired": [],
    }
    out = StringIO()
    call_command("verify_collection", stdout=out)
    assert out.getvalue().strip() == "checked 16 blobs, 9 versions, 9 views: ok"


def test_stray_entries_in_objects_are_reported_and_set_aside(toolbox, skillmeat_home):
    objects = skillmeat_home / "objects"
    (objects / "README").write_text("not a blob")
    (objects / "zz").mkdir()
    some_folder = next(p for p in objects.iterdir() if len(p.name) == 2 and p.name != "zz")
    (some_folder / "short-name").write_text("x")
    report = collection_verify()
    strays = sorted(Path(p.path).name for p in report.problems if p.kind == "stray_object")
    assert strays == ["README", "short-name", "zz"]
    assert not report.ok
    repaired = collection_verify(repair=True, grace_seconds=0)
    assert repaired.ok, repaired.problems
    assert (skillmeat_home / "quarantine/objects/README").read_text() == "not a blob"


def test_names_written_before_the_name_rule_are_reported_never_used(toolbox, skillmeat_home):
    """Rows that bypassed the rule (an older release): verify names them and writes nothing
    outside collections/, with or without --repair."""
    Collection.objects.create(name="../../escape")
    long_name = Artifact.objects.get(type="command", name="greet")
    long_name.name = "g" * 300
    long_name.save()
    escaped = Artifact.objects.get(type="agent", name="reviewer")
    escaped.collection = Collection.objects.get(name="../../escape")
    escaped.save()
    report = collection_verify()
    bad = [p for p in report.problems if p.kind == "bad_name"]
    assert len(bad) == 2
    assert any("longer than 255 bytes" in p.message for p in bad)
    before = sorted(str(p) for p in skillmeat_home.parent.iterdir())
    collection_verify(repair=True, grace_seconds=0)
    assert sorted(str(p) for p in skillmeat_home.parent.iterdir()) == before
    assert not (skillmeat_home.parent / "escape").exists()


def test_a_missing_blob_names_the_versions_and_reimporting_heals_it(toolbox):
    blob = blob_of("scripts/extract.py")
    blob.unlink()
    report = collection_verify(repair=True, grace_seconds=0)
    (problem,) = report.problems
    assert problem.kind == "missing_blob"
    skill = Version.objects.get(artifact__name="pdf")
    plugin = Artifact.objects.get(type="plugin").latest_version
    assert set(problem.versions) == {
        f"skill:pdf@{skill.content_hash[:12]}",
        f"plugin:toolbox@{plugin.content_hash[:12]}",
    }
    with pytest.raises(SystemExit) as exit_:
        call_command("verify_collection", stdout=StringIO())
    assert exit_.value.code == 1
    import_paths([toolbox])
    assert collection_verify().ok


def test_a_corrupted_blob_is_set_aside_and_healed_by_reimporting(toolbox, skillmeat_home):
    blob = blob_of("SKILL.md")
    os.chmod(blob, 0o644)
    blob.write_bytes(b"bit rot")
    report = collection_verify()
    assert kinds(report) == ["corrupt_blob"]
    repaired = collection_verify(repair=True, grace_seconds=0)
    assert kinds(repaired) == ["missing_blob"]  # set aside; the row's versions are named
    assert list((skillmeat_home / "quarantine").rglob("*"))
    import_paths([toolbox])
    assert collection_verify().ok


def test_a_stale_and_a_missing_view_are_rebuilt(toolbox, skillmeat_home):
    views = skillmeat_home / "collections/default"
    (views / "commands/greet.md").write_text("edited in place\n")
    (views / "skills/xlsx/SKILL.md").unlink()
    os.unlink(views / "agents/reviewer.md")
    report = collection_verify()
    assert kinds(report) == ["missing_view", "stale_view", "stale_view"]
    repaired = collection_verify(repair=True)
    assert repaired.ok
    assert len(repaired.repaired) == 3
    assert (views / "commands/greet.md").read_bytes() == (
        toolbox / "commands/greet.md"
    ).read_bytes()


def test_garbage_is_informational_and_unexpected_views_are_problems(toolbox, skillmeat_home):
    store = LocalBlobStore()
    digest, _ = store.put_bytes(b"nobody needs me")
    (skillmeat_home / "collections/default/skills/ghost").mkdir()
    report = collection_verify()
    assert kinds(report) == ["unexpected_view"]
    assert [(g.kind, g.size) for g in report.garbage] == [("garbage", 15)]
    kept = collection_verify(repair=True, grace_seconds=3600)
    assert kept.ok and len(kept.garbage) == 1  # too young to remove
    assert store.has(digest)
    cleaned = collection_verify(repair=True, grace_seconds=0)
    assert cleaned.ok and cleaned.garbage == []
    assert not store.has(digest)
    needed = set(VersionFile.objects.values_list("blob_hash", flat=True))
    assert needed <= set(store.all_digests())


def kill_during_import(step, path, env):
    done = subprocess.run(
        [sys.executable, "tests/kill_import.py", step, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
    )
    assert done.returncode == -9, done.stderr.decode()


@pytest.fixture
def subprocess_env(skillmeat_home):
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{database['NAME']}"
    else:
        url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "SKILLMEAT_HOME": str(skillmeat_home),
        "DJANGO_SETTINGS_MODULE": "skillmeat_site.settings",
        "SECRET_KEY": "kill-test-" + "x" * 40,
    }


@pytest.mark.parametrize("step", ["blobs", "commit", "committed"])
def test_a_sigkilled_import_is_reported_and_repaired(toolbox, make_tree, subprocess_env, step):
    changed = make_tree(full_plugin(**{"commands/greet.md": "v2\n", "skills/pdf/SKILL.md": "v2\n"}))
    before = row_counts()
    kill_during_import(step, changed, subprocess_env)
    report = collection_verify(grace_seconds=0)
    if step == "blobs":
        # Killed after writing its blobs, before its transaction: they are garbage, and the
        # bytes it staged were in memory, so nothing is left over in tmp/.
        assert report.ok and report.garbage, report.problems
    else:
        assert not report.ok
        assert "leftover" in kinds(report)
    repaired = collection_verify(repair=True, grace_seconds=0)
    assert repaired.ok, repaired.problems
    plugin = Artifact.objects.get(type="plugin")
    if step == "committed":
        # The transaction committed before the kill: its rows stand and the views follow them.
        assert plugin.versions.count() == 2
        views = Path(subprocess_env["SKILLMEAT_HOME"]) / "collections/default"
        assert (views / "commands/greet.md").read_text() == "v2\n"
    else:
        assert row_counts() == {**before, "ImportRecord": before["ImportRecord"]}
        assert plugin.versions.count() == 1
    needed = set(VersionFile.objects.values_list("blob_hash", flat=True))
    assert needed <= set(LocalBlobStore().all_digests())
