"""Planning ahead (importer/ahead.py): a marketplace import hands detection, hashing and the
staging of its next plugins to a forked process. What it stores is the same as without; an
error there is reported like any other; a failure of the writer still takes back everything;
a planning process that dies or a run that is interrupted leaves nothing behind."""

import hashlib
import json
import multiprocessing
import os
import pickle

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from artifacts.models import Artifact, ArtifactAssociation, Collection, ImportRecord, VersionFile
from importer import ahead
from importer.errors import (
    ImportError_,
    LimitExceeded,
    Rule,
    StorageFailed,
    UnsafePath,
    ValidationFailed,
)
from importer.services import import_paths
from tests.plugins import manifest, storage_snapshot, synthetic_plugin

pytestmark = pytest.mark.django_db(transaction=True)


def marketplace_tree(plugins: dict[str, dict]) -> dict:
    """A marketplace folder listing ``plugins`` (name: tree) in order."""
    entries = [{"name": name, "source": f"./plugins/{name}"} for name in plugins]
    tree = {
        ".claude-plugin/marketplace.json": json.dumps(
            {"name": "market", "owner": {"name": "o"}, "plugins": entries}
        )
    }
    for name, files in plugins.items():
        tree.update({f"plugins/{name}/{path}": content for path, content in files.items()})
    return tree


SHARED = "---\ndescription: in several plugins\n---\nThe same bytes.\n"


def overlapping(variant: str = "") -> dict[str, dict]:
    """Four plugins: children of their own, one command shared by three, an executable hook."""
    plugins = {name: synthetic_plugin(name, 6, variant=variant) for name in ("p1", "p2", "p3")}
    for name in ("p1", "p3"):
        plugins[name]["commands/shared.md"] = SHARED
    plugins["p4"] = {
        ".claude-plugin/plugin.json": manifest("p4"),
        "commands/shared.md": SHARED,
        "hooks/hooks.json": json.dumps({"hooks": {}}),
        "hooks/run.sh": ("#!/bin/sh\nexit 0\n", 0o755),
        "README.md": "# p4\n",
    }
    return plugins


@pytest.fixture
def taken(monkeypatch):
    """Counts the plugins whose preparation came from the planning process."""
    seen = []
    original = ahead.PlanAhead.take

    def take(self):
        prepared = original(self)
        seen.append(prepared is not None)
        return prepared

    monkeypatch.setattr(ahead.PlanAhead, "take", take)
    return seen


def collection_state(name: str) -> list[tuple]:
    """Each artifact of a collection: identity, latest hash, its files and what it contains."""
    rows = []
    for artifact in Artifact.objects.filter(collection__name=name).select_related("latest_version"):
        version = artifact.latest_version
        files = sorted(version.files.values_list("path", "mode", "blob_hash", "is_meta"))
        children = sorted(
            ArtifactAssociation.objects.filter(parent_version=version).values_list(
                "child__type", "child__name", "pinned_version_hash", "position"
            )
        )
        rows.append((artifact.type, artifact.name, version.content_hash, files, children))
    return sorted(rows)


def views_of(home, collection: str) -> dict:
    prefix = f"collections/{collection}/"
    snapshot = storage_snapshot(home)
    return {k[len(prefix) :]: v for k, v in snapshot.items() if k.startswith(prefix)}


def decisions(report) -> list[tuple]:
    return [
        (r.plugin_name, r.decision, tuple((c.name, c.decision) for c in r.children))
        for r in report.results
    ]


def leftovers(home) -> list[str]:
    tmp = home / "tmp"
    return sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []


def failing_at(name: str, occurrence: int):
    """A step hook that fails the import at the given occurrence of the step ``name``."""
    calls = []

    def step(step_name, /, **context):
        if step_name == name:
            calls.append(step_name)
            if len(calls) == occurrence:
                raise RuntimeError("injected failure")

    return step


@pytest.mark.parametrize("planners", [1, 3])
def test_planned_ahead_or_not_a_marketplace_is_stored_the_same(
    make_tree, skillmeat_home, settings, taken, monkeypatch, planners
):
    """One planning process, or three taking the plugins in turn (more than the four
    plugins' look-ahead needs): the same decisions, rows and views as planned in-process."""
    monkeypatch.setattr(ahead, "planner_count", lambda: planners)
    first, second = (
        make_tree(marketplace_tree(overlapping())),
        make_tree(marketplace_tree({**overlapping(), "p2": overlapping(" v2")["p2"]})),
    )
    reports = {}
    for collection, plan_ahead in (("ahead", True), ("inline", False)):
        settings.SKILLMEAT_PLAN_AHEAD = plan_ahead
        reports[collection] = [
            import_paths([tree], collection=collection) for tree in (first, second, second)
        ]
    assert taken == [True] * 12, "the first collection's three runs were planned ahead"
    for ahead_run, inline_run in zip(reports["ahead"], reports["inline"], strict=True):
        assert ahead_run.failed == [] and inline_run.failed == []
        assert decisions(ahead_run) == decisions(inline_run)
    unchanged = reports["ahead"][2]
    assert {r.decision.value for r in unchanged.results} == {"LINK_EXISTING"}
    assert collection_state("ahead") == collection_state("inline")
    assert views_of(skillmeat_home, "ahead") == views_of(skillmeat_home, "inline")
    hook = views_of(skillmeat_home, "ahead")["hooks/p4/run.sh"]
    assert hook[1] & 0o777 == 0o755
    assert leftovers(skillmeat_home) == []
    assert multiprocessing.active_children() == []


def test_a_plugin_that_fails_while_planned_ahead_is_reported_with_its_path_and_rule(
    make_tree, skillmeat_home, taken
):
    plugins = overlapping()
    plugins["p2"]["commands/twin.md"] = "one"
    plugins["p2"]["commands/Twin.md"] = "the same name, other bytes"
    root = make_tree(marketplace_tree(plugins))
    report = import_paths([root])
    (failure,) = report.failed
    assert failure.name == "p2" and failure.rule == Rule.DUPLICATE_CHILD
    assert "plugins/p2/commands/" in failure.path
    assert [r.plugin_name for r in report.results] == ["p1", "p3", "p4"]
    assert not Artifact.objects.filter(name__startswith="p2").exists()
    record = ImportRecord.objects.get(status="failed")
    assert (record.plugin_name, record.error_rule) == ("p2", Rule.DUPLICATE_CHILD)
    assert all(taken)
    assert leftovers(skillmeat_home) == []


def test_a_writer_failure_takes_back_what_was_built_ahead(make_tree, skillmeat_home, taken):
    """The second plugin fails once its views are adopted, before its commit: its blobs and
    views built ahead are gone, the plugins before and after it stand."""
    report = import_paths(
        [make_tree(marketplace_tree(overlapping()))], step=failing_at("views", occurrence=2)
    )
    assert [f.name for f in report.failed] == ["p2"]
    assert [r.plugin_name for r in report.results] == ["p1", "p3", "p4"]
    assert not Artifact.objects.filter(name__startswith="p2").exists()
    needed = set(VersionFile.objects.values_list("blob_hash", flat=True))
    stored = {p.parent.name + p.name for p in (skillmeat_home / "objects").glob("*/*")}
    assert stored == needed, "no blob of the failed plugin is left"
    views = views_of(skillmeat_home, "default")
    assert not [path for path in views if "p2" in path]
    assert leftovers(skillmeat_home) == []
    assert all(taken)


@pytest.fixture
def built_ahead(monkeypatch):
    """For each plugin whose views were built ahead: its name and the children whose views
    were not."""
    seen = []
    original = ahead.PlanAhead.take

    def take(self):
        prepared = original(self)
        if prepared is not None and prepared.views is not None:
            children = prepared.plan.children
            skipped = sorted(children[position].name for position in prepared.skipped)
            seen.append((prepared.plan.name, skipped))
        return prepared

    monkeypatch.setattr(ahead.PlanAhead, "take", take)
    return seen


def test_views_of_children_the_collection_holds_are_not_built_ahead(
    make_tree, skillmeat_home, settings, built_ahead
):
    """A child met again with a version the collection holds (or that an earlier plugin of
    the run brings) is linked and its view stays: the planning process builds only the views
    that change. The views end up the same as when everything is planned in-process."""
    first = overlapping()
    changed = {**first, "p2": {**first["p2"], "commands/p2-0.md": "changed\n"}}
    for collection, plan_ahead in (("ahead", True), ("inline", False)):
        settings.SKILLMEAT_PLAN_AHEAD = plan_ahead
        for plugins in (first, changed):
            report = import_paths([make_tree(marketplace_tree(plugins))], collection=collection)
            assert report.failed == []
    # the first run: the shared command is brought by p1, so p3 and p4 link it
    assert built_ahead[:4] == [("p1", []), ("p2", []), ("p3", ["shared"]), ("p4", ["shared"])]
    # the second run: only p2 changed (its other children are in the collection)
    assert built_ahead[4:] == [("p2", ["p2-1", "p2-2", "p2-3", "p2-4", "p2-5"])]
    assert views_of(skillmeat_home, "ahead") == views_of(skillmeat_home, "inline")
    changed_view = views_of(skillmeat_home, "ahead")["commands/p2-0.md"]
    assert changed_view[0] == hashlib.sha256(b"changed\n").hexdigest()
    assert leftovers(skillmeat_home) == []


def test_a_view_not_built_ahead_is_built_by_the_writer_when_the_child_is_new_after_all(
    make_tree, skillmeat_home, built_ahead
):
    """p1 brings the shared command but fails before its commit: p3 was planned expecting to
    link it, so its view was not built ahead; the writer builds it when it creates it."""
    report = import_paths(
        [make_tree(marketplace_tree(overlapping()))], step=failing_at("commit", occurrence=1)
    )
    assert [f.name for f in report.failed] == ["p1"]
    assert ("p3", ["shared"]) in built_ahead
    p3 = next(r for r in report.results if r.plugin_name == "p3")
    assert ("shared", "CREATE_NEW_ARTIFACT") in [(c.name, c.decision.value) for c in p3.children]
    shared_view = views_of(skillmeat_home, "default")["commands/shared.md"]
    assert shared_view[0] == hashlib.sha256(SHARED.encode()).hexdigest()
    assert leftovers(skillmeat_home) == []


def serve_one_then_die(connection_, sources, how):
    """A planning process that prepares one plugin and then dies."""
    index, _ = connection_.recv()
    connection_.send(ahead.prepare(sources[index], how))
    os._exit(1)


def test_if_the_planning_process_dies_the_writer_plans_the_rest_itself(
    make_tree, skillmeat_home, monkeypatch, taken
):
    monkeypatch.setattr(ahead, "_serve", serve_one_then_die)
    report = import_paths([make_tree(marketplace_tree(overlapping()))])
    assert report.failed == []
    assert [r.plugin_name for r in report.results] == ["p1", "p2", "p3", "p4"]
    assert taken[0] is True and taken[-1] is False
    assert Artifact.objects.filter(type="plugin").count() == 4
    assert leftovers(skillmeat_home) == []
    assert multiprocessing.active_children() == []


def test_where_no_process_can_be_forked_the_writer_plans_everything_itself(
    make_tree, skillmeat_home, monkeypatch, taken
):
    def refuse(self):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse)
    report = import_paths([make_tree(marketplace_tree(overlapping()))])
    assert report.failed == []
    assert [r.plugin_name for r in report.results] == ["p1", "p2", "p3", "p4"]
    assert taken == [False] * 4
    assert leftovers(skillmeat_home) == []


def test_an_interrupted_run_ends_its_planning_process_and_leaves_no_staging(
    make_tree, skillmeat_home
):
    def interrupt(outcome):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_paths([make_tree(marketplace_tree(overlapping()))], on_plugin=interrupt)
    assert Artifact.objects.filter(type="plugin").count() == 1  # the first had committed
    assert leftovers(skillmeat_home) == []
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize(
    "error",
    [
        ImportError_("internal", path="a", rule=Rule.INTERNAL),
        ValidationFailed("bad json", path="p/plugin.json", rule=Rule.BAD_JSON),
        UnsafePath("a symlink", path="p/link", rule=Rule.UNSAFE_FILE_TYPE),
        LimitExceeded("too big", path="p/big.bin", rule=Rule.FILE_TOO_LARGE),
        StorageFailed("disk full", path="objects/ab", rule=Rule.STORAGE_FAILED),
    ],
)
def test_an_import_error_crosses_to_the_writer_intact(error):
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert (again.path, again.rule, again.message, str(again)) == (
        error.path,
        error.rule,
        error.message,
        str(error),
    )


def queries_of_marketplace(make_tree, plugins: int) -> int:
    names = [f"q{plugins}-{i}" for i in range(plugins)]
    root = make_tree(marketplace_tree({name: synthetic_plugin(name, 5) for name in names}))
    with CaptureQueriesContext(connection) as captured:
        assert import_paths([root]).failed == []
    return len(captured.captured_queries)


def test_new_plugins_planned_ahead_skip_the_unchanged_lookup(make_tree, taken):
    """One query for the run (which plugin hashes exist), the collection once, then the same
    count per plugin: a single plugin's import less its unchanged lookup and collection."""
    Collection.objects.create(name="default")
    with CaptureQueriesContext(connection) as captured:
        assert import_paths([make_tree(synthetic_plugin("single", 5))]).failed == []
    single = len(captured.captured_queries)
    counts = [queries_of_marketplace(make_tree, n) for n in (2, 3, 4)]
    per_plugin = single - 2
    assert counts == [2 + n * per_plugin for n in (2, 3, 4)], (single, counts)
    assert all(taken)


def test_spans_of_planning_ahead_are_recorded_under_each_import(make_tree, telemetry_capture):
    exporter, _ = telemetry_capture
    exporter.clear()
    assert import_paths([make_tree(marketplace_tree(overlapping()))]).failed == []
    spans = exporter.get_finished_spans()
    imports = {s.context.span_id: s for s in spans if s.name == "plugin.import_transactional"}
    assert len(imports) == 4
    for name in ("composite.detect", "artifact.hash_compute"):
        recorded = [s for s in spans if s.name == name]
        assert len(recorded) == 4
        for span in recorded:
            parent = imports[span.parent.span_id]
            assert parent.start_time <= span.start_time <= span.end_time <= parent.end_time
            assert parent.attributes["plugin_name"] == span.attributes["plugin_name"]
