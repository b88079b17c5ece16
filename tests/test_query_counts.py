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
