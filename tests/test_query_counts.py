"""The number of queries of an import does not grow with the number of children (exact
counts, no timing)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from artifacts.models import Collection
from importer.services import import_paths
from tests.plugins import synthetic_plugin

pytestmark = pytest.mark.django_db(transaction=True)


def queries_of(path):
    with CaptureQueriesContext(connection) as captured:
        report = import_paths([path])
    assert report.failed == []
    return len(captured.captured_queries)


@pytest.mark.parametrize("phase", ["first import", "re-import", "new versions"])
def test_query_count_is_the_same_for_5_and_50_children(make_tree, phase):
    Collection.objects.get_or_create(name="default")  # made once, by whichever import is first
    counts = []
    for size in (5, 50):
        name = f"plugin-{size}"
        root = make_tree(synthetic_plugin(name, size))
        if phase == "first import":
            counts.append(queries_of(root))
            continue
        import_paths([root])
        if phase == "new versions":
            root = make_tree(synthetic_plugin(name, size, variant=" v2"))
        counts.append(queries_of(root))
    assert counts[0] == counts[1], counts


def test_an_unchanged_plugin_is_reimported_with_three_statements(make_tree):
    """The re-import's fast path: the plugin version, the children it pins, the record."""
    root = make_tree(synthetic_plugin("steady", 40))
    first = import_paths([root]).results[0]
    with CaptureQueriesContext(connection) as captured:
        again = import_paths([root]).results[0]
    # an executemany is logged as "<n> times: <statement>"
    statements = [q["sql"].split(" times: ")[-1].split()[0] for q in captured.captured_queries]
    # SQLite's BEGIN and COMMIT are statements of their own; PostgreSQL's are not captured
    assert [s for s in statements if s not in ("BEGIN", "COMMIT")] == ["SELECT", "SELECT", "INSERT"]
    assert again.decision.value == "LINK_EXISTING"
    assert [(c.artifact_id, c.version_id) for c in again.children] == [
        (c.artifact_id, c.version_id) for c in first.children
    ]
    assert again.plugin_id == first.plugin_id
    assert again.plugin_version_id == first.plugin_version_id
