"""A failure anywhere before the commit leaves every table and the whole storage tree as it
was; a failure of a rename after the commit keeps the committed data and reports the view."""

import shutil
from pathlib import Path

import pytest

from artifacts.models import Artifact, ImportRecord
from blobstore import LocalBlobStore
from importer.errors import Rule, StorageFailed
from importer.results import DedupDecision
from importer.services import import_paths
from tests.plugins import database_snapshot, full_plugin, storage_snapshot

pytestmark = pytest.mark.django_db(transaction=True)

CHANGED = {
    "commands/greet.md": "Hello again!\n",
    "skills/pdf/SKILL.md": "---\nname: pdf\n---\nVersion two.\n",
    "agents/reviewer.md": "Review harder.\n",
    "commands/brand-new.md": "New command.\n",
    "README.md": "# toolbox v2\n",
}


def fail_at(step_name, index=None):
    def hook(step, /, **context):
        if step == step_name and (index is None or context.get("index") == index):
            raise RuntimeError(f"injected failure at {step}")

    return hook


class FailingBlobStore(LocalBlobStore):
    """A blob store whose Nth write fails, like a full disk."""

    def __init__(self, fail_on: int) -> None:
        super().__init__()
        self.fail_on = fail_on
        self.writes = 0

    def place(self, staged, digest, *, prepared=False):
        self.writes += 1
        if self.writes == self.fail_on:
            if isinstance(staged, Path) and not prepared:  # consumed, as a real write would
                staged.unlink(missing_ok=True)
            raise StorageFailed(
                "disk full", path=str(self.path_for(digest)), rule=Rule.STORAGE_FAILED
            )
        return super().place(staged, digest, prepared=prepared)


@pytest.fixture
def imported_once(make_tree, skillmeat_home):
    import_paths([make_tree(full_plugin())])
    assert Artifact.objects.count() == 9
    return make_tree(full_plugin(**CHANGED))


def assert_nothing_changed(report, before, home, message):
    (failure,) = report.failed
    assert message in failure.message
    assert report.results == []
    assert database_snapshot() == before[0]
    assert storage_snapshot(home) == before[1]
    assert [p.name for p in (home / "tmp").iterdir()] == []
    record = ImportRecord.objects.get(status="failed")
    assert record.error_message == failure.message


@pytest.mark.parametrize(
    ("step", "index"),
    [
        ("blobs", None),
        ("child", 0),
        ("child", 4),
        ("plugin_version", None),
        ("associations", None),
        ("views", None),
        ("commit", None),
    ],
)
def test_a_failure_at_each_step_before_the_commit_changes_nothing(
    imported_once, skillmeat_home, step, index
):
    before = (database_snapshot(), storage_snapshot(skillmeat_home))
    report = import_paths([imported_once], step=fail_at(step, index))
    assert_nothing_changed(report, before, skillmeat_home, f"injected failure at {step}")


@pytest.mark.parametrize("fail_on", [1, 3])
def test_a_failed_blob_write_changes_nothing(imported_once, skillmeat_home, fail_on):
    before = (database_snapshot(), storage_snapshot(skillmeat_home))
    report = import_paths([imported_once], store=FailingBlobStore(fail_on))
    assert_nothing_changed(report, before, skillmeat_home, "disk full")
    assert report.failed[0].rule == Rule.STORAGE_FAILED


def test_a_failure_on_the_very_first_import_leaves_an_empty_store(make_tree, skillmeat_home):
    before = (database_snapshot(), storage_snapshot(skillmeat_home))
    report = import_paths([make_tree(full_plugin())], step=fail_at("commit"))
    assert_nothing_changed(report, before, skillmeat_home, "injected failure at commit")
    assert list(LocalBlobStore().all_digests()) == []


def test_a_failed_rename_after_the_commit_keeps_the_data_and_reports_the_stale_view(
    imported_once, skillmeat_home
):
    agents = skillmeat_home / "collections/default/agents"
    shutil.rmtree(agents)
    agents.write_bytes(b"in the way")
    report = import_paths([imported_once])
    assert report.failed == []
    (result,) = report.results
    assert result.decision == DedupDecision.CREATE_NEW_VERSION
    stale = [w for w in result.warnings if w.startswith("stale view")]
    assert len(stale) == 1 and "agents/reviewer.md" in stale[0]
    reviewer = Artifact.objects.get(name="reviewer")
    assert reviewer.versions.count() == 2
    assert agents.read_bytes() == b"in the way"
    # The other views did move to the new versions, and nothing is left half-written.
    assert (
        skillmeat_home / "collections/default/commands/greet.md"
    ).read_text() == "Hello again!\n"
    assert (
        skillmeat_home / "collections/default/plugins/toolbox/README.md"
    ).read_text() == "# toolbox v2\n"
    assert [p.name for p in (skillmeat_home / "tmp").iterdir()] == []


def test_a_failed_flush_of_the_blobs_rolls_the_import_back(
    imported_once, skillmeat_home, monkeypatch
):
    """The batch's syncfs runs beside the row writes; when it fails, the rows are never
    committed and the blobs it was flushing go again."""
    import errno

    from blobstore import local

    def failing_syncfs(path):
        raise OSError(errno.EIO, "Input/output error", str(path))

    monkeypatch.setattr(local, "syncfs", failing_syncfs)
    before = (database_snapshot(), storage_snapshot(skillmeat_home))
    report = import_paths([imported_once])
    assert_nothing_changed(report, before, skillmeat_home, "Input/output error")
    assert report.failed[0].rule == Rule.STORAGE_FAILED
