"""Queries compiled once per shape (importer.statements) give what the ORM gives, on SQLite
and PostgreSQL, and compile again only for a new shape or when the ORM changed the values."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from artifacts.models import Artifact, Collection
from importer.statements import Reusable

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def artifacts():
    collection = Collection.objects.get_or_create(name="default")[0]
    return [
        Artifact.objects.create(collection=collection, type=kind, name=name, name_key=name)
        for kind, name in [("skill", "a"), ("skill", "b"), ("command", "a"), ("agent", "c")]
    ]


class Counting:
    """A query builder that counts how often it is asked to build."""

    def __init__(self) -> None:
        self.built = 0

    def __call__(self, collection_id, types, keys):
        self.built += 1
        return (
            Artifact.objects.filter(collection_id=collection_id)
            .filter(type__in=types)
            .filter(name_key__in=keys)
            .order_by("type", "name_key")
            .values_list("type", "name_key")
        )


def test_one_compilation_per_shape_and_the_orms_rows(artifacts):
    builder = Counting()
    query = Reusable(builder)
    collection_id = artifacts[0].collection_id
    first = query.rows(collection_id, ["skill"], ["a", "b"])
    again = query.rows(collection_id, ["command"], ["a", "c"])
    assert builder.built == 1  # the same shape: the same SQL, new values
    assert first == list(builder(collection_id, ["skill"], ["a", "b"]))
    assert first == [("skill", "a"), ("skill", "b")]
    assert again == [("command", "a")]
    builder.built = 0
    assert query.rows(collection_id, ["skill", "agent"], ["a", "b", "c"]) == [
        ("agent", "c"),
        ("skill", "a"),
        ("skill", "b"),
    ]
    assert builder.built == 1  # a new shape is compiled
    with CaptureQueriesContext(connection) as captured:
        query.rows(collection_id, ["skill"], ["a", "b"])
    assert len(captured.captured_queries) == 1


def test_arguments_out_of_the_compiled_order_are_never_reused_only_run(artifacts):
    """One filter() call sorts its keywords: the parameters come in another order than the
    arguments, so the SQL is compiled for every call (and the rows are still right)."""
    built = []

    def one_filter(types, collection_id):
        built.append(types)
        return Artifact.objects.filter(type__in=types, collection_id=collection_id).values_list(
            "name_key"
        )

    query = Reusable(one_filter)
    collection_id = artifacts[0].collection_id
    assert sorted(query.rows(["agent"], collection_id)) == [("c",)]
    assert sorted(query.rows(["command"], collection_id)) == [("a",)]
    assert len(built) == 2


def test_values_the_orm_converts_are_never_reused_only_run(artifacts):
    """UUIDs become 32 hex digits on SQLite: the compiled parameters differ from the
    arguments there, so the query is compiled for every call (and still right)."""
    built = []

    def by_ids(ids):
        built.append(ids)
        return Artifact.objects.filter(pk__in=ids).order_by("name_key").values_list("name_key")

    query = Reusable(by_ids)
    ids = [artifacts[0].pk, artifacts[3].pk]
    assert query.rows(ids) == [("a",), ("c",)]
    assert query.rows([artifacts[1].pk, artifacts[2].pk]) == [("a",), ("b",)]
    assert len(built) == (2 if connection.vendor == "sqlite" else 1)


def test_an_empty_in_list_gives_no_rows(artifacts):
    query = Reusable(Counting())
    assert query.rows(artifacts[0].collection_id, [], ["a"]) == []


def test_the_imports_dedup_queries_are_reused(make_tree):
    """New versions of a plugin, each of the same shape: their dedup queries are compiled
    for reuse (the parameters are the arguments, in order, on either database)."""
    from importer import dedup
    from importer.services import import_paths
    from tests.plugins import synthetic_plugin

    for variant in ("", " v2", " v3"):
        tree = make_tree(synthetic_plugin("steady", 3, variant=variant))
        assert import_paths([tree]).failed == []
    assert dedup._ARTIFACTS.shapes >= 1 and dedup._VERSIONS.shapes >= 1
