"""Spans, metrics and structured logs of an import (DESIGN section 9)."""

import json

import pytest
from django.conf import settings as django_settings
from opentelemetry.trace import StatusCode

from importer.services import import_paths
from skillmeat_site import logconfig
from tests.plugins import full_plugin

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def spans(telemetry_capture):
    exporter, _ = telemetry_capture
    exporter.clear()
    return exporter


def metric_points(reader):
    points = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    key = (metric.name, tuple(sorted(point.attributes.items())))
                    points[key] = (
                        getattr(point, "value", None) if hasattr(point, "value") else point.count
                    )
    return points


def test_span_tree_and_attributes(make_tree, spans):
    import_paths([make_tree(full_plugin())])
    finished = {span.name: span for span in spans.get_finished_spans()}
    root = finished["plugin.import_transactional"]
    for name in (
        "composite.detect",
        "artifact.hash_compute",
        "artifact.dedup_resolve",
        "association.write",
    ):
        assert finished[name].parent.span_id == root.context.span_id, name
        assert finished[name].context.trace_id == root.context.trace_id
    assert root.attributes["plugin_name"] == "toolbox"
    assert root.attributes["child_count"] == 8
    assert root.attributes["decision"] == "CREATE_NEW_ARTIFACT"
    assert len(root.attributes["transaction_id"]) == 36
    assert len(root.attributes["content_hash"]) == 64
    assert finished["artifact.hash_compute"].attributes["artifact_type"] == "plugin"
    events = finished["artifact.dedup_resolve"].events
    assert len(events) == 9
    assert {e.attributes["artifact_type"] for e in events} == {
        "command",
        "agent",
        "skill",
        "hook",
        "mcp",
        "plugin",
    }
    assert all(e.attributes["decision"] == "CREATE_NEW_ARTIFACT" for e in events)
    assert (
        finished["association.write"].attributes["transaction_id"]
        == root.attributes["transaction_id"]
    )


def test_a_failed_import_marks_its_span_as_error(make_tree, spans):
    root = make_tree(full_plugin(**{".claude-plugin/plugin.json": "[]"}))
    import_paths([root])
    (span,) = [s for s in spans.get_finished_spans() if s.name == "plugin.import_transactional"]
    assert span.status.status_code == StatusCode.ERROR
    assert "plugin.json must be a JSON object" in span.status.description


def test_metrics_with_bounded_labels(make_tree, telemetry_capture):
    _, reader = telemetry_capture
    before = metric_points(reader)
    root = make_tree(full_plugin())
    import_paths([root])
    import_paths([root])
    import_paths([make_tree(full_plugin(**{".claude-plugin/plugin.json": "[]"}))])
    after = metric_points(reader)

    def grew(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("plugin_import_total", status="succeeded") == 2
    assert grew("plugin_import_total", status="failed") == 1
    assert grew("dedup_miss_total", artifact_type="command") == 2
    assert grew("dedup_hit_total", artifact_type="command") == 2
    assert grew("dedup_hit_total", artifact_type="plugin") == 1
    assert grew("plugin_import_duration_seconds", status="succeeded") == 2
    assert grew("artifact_hash_compute_duration_seconds") >= 2
    label_keys = {key for (_name, labels) in after for key, _ in labels}
    assert label_keys <= {"status", "artifact_type"}


def test_json_log_lines(make_tree, capsys):
    logconfig.configure({"format": "json", "level": "DEBUG"})
    try:
        import_paths([make_tree(full_plugin())])
        import_paths([make_tree(full_plugin(**{".claude-plugin/plugin.json": "[]"}))])
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    finally:
        logconfig.configure(django_settings.LOGGING)
    by_event = {}
    for line in lines:
        by_event.setdefault(line["event"], []).append(line)
    assert len(by_event["plugin_import_started"]) == 2
    assert len(by_event["dedup_decision"]) == 9
    assert by_event["dedup_decision"][0]["level"] == "debug"
    (done,) = by_event["plugin_imported"]
    assert {
        "plugin_name",
        "child_count",
        "new_count",
        "existing_count",
        "transaction_id",
        "duration_ms",
    } <= set(done)
    assert (done["child_count"], done["new_count"], done["existing_count"]) == (8, 8, 0)
    (failed,) = by_event["plugin_import_failed"]
    assert failed["level"] == "error" and failed["rolled_back"] is True
    assert failed["rule"] == "bad_manifest"
