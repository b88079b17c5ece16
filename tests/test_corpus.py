"""The real marketplace of the shared corpus (when present): everything imports, and a second
import changes nothing. ``SKILLMEAT_CORPUS`` points at it; by default it is looked for at
``../shared/corpus/anthropics+claude-code`` beside the checkout."""

import os
from pathlib import Path

import pytest

from artifacts.models import Artifact, ArtifactAssociation
from importer.results import DedupDecision
from importer.services import import_paths
from tests.plugins import row_counts, storage_snapshot
from tests.test_dry_run_matches import decisions

CHECKOUT = Path(__file__).resolve().parent.parent
CORPUS = Path(
    os.environ.get("SKILLMEAT_CORPUS")
    or CHECKOUT.parent / "shared" / "corpus" / "anthropics+claude-code"
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CORPUS.is_dir(),
        reason=(
            f"the corpus is not at {CORPUS}: set SKILLMEAT_CORPUS to the folder "
            "shared/corpus/anthropics+claude-code to run this test"
        ),
    ),
]


def test_the_corpus_imports_and_reimports_with_nothing_changed(skillmeat_home):
    predicted = import_paths([CORPUS], dry_run=True)
    first = import_paths([CORPUS])
    assert decisions(predicted) == decisions(first)
    assert first.failed == [] and first.skipped == []
    assert len(first.results) == 13
    children = [c for r in first.results for c in r.children]
    by_type = {
        t: sum(1 for c in children if c.type == t) for t in ("command", "agent", "skill", "hook")
    }
    assert by_type == {"command": 15, "agent": 15, "skill": 10, "hook": 5}
    assert ArtifactAssociation.objects.count() == 45
    assert Artifact.objects.filter(type="plugin").count() == 13

    counts, files = row_counts(), storage_snapshot(skillmeat_home)
    second = import_paths([CORPUS])
    assert second.failed == []
    assert {r.decision for r in second.results} == {DedupDecision.LINK_EXISTING}
    assert {c.decision for r in second.results for c in r.children} == {DedupDecision.LINK_EXISTING}
    assert row_counts() == {**counts, "ImportRecord": counts["ImportRecord"] + 13}
    assert storage_snapshot(skillmeat_home) == files


def test_every_corpus_plugin_deploys_in_plugin_mode_and_checks_clean(tmp_path):
    from io import StringIO

    from django.core.management import call_command

    report = import_paths([CORPUS])
    project = tmp_path / "project"
    project.mkdir()
    for result in report.results:
        call_command(
            "deploy_plugin", result.plugin_name, "--project", str(project), stdout=StringIO()
        )
    out = StringIO()
    call_command("sync_status", "--project", str(project), "--check", stdout=out)
    assert f"{len(report.results)} plugin(s)" in out.getvalue()
