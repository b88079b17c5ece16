"""Database constraints of the data model, on whichever database the suite runs against."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from artifacts.models import (
    Artifact,
    ArtifactAssociation,
    ArtifactType,
    Collection,
    normalize_name,
)
from tests.conftest import ROOT
from tests.factories import default_collection, make_artifact, make_version

pytestmark = pytest.mark.django_db

HASH_A = "a" * 64
HASH_B = "b" * 64


def test_the_default_collection_exists_out_of_the_box():
    assert Collection.objects.filter(name="default").exists()


@pytest.mark.parametrize(
    ("first", "second"),
    [("pdf", "PDF"), ("Git/Commit", "git/commit"), ("straße", "STRASSE"), ("Å", "\u0061\u030a")],
)
def test_names_differing_only_in_case_are_refused_by_the_database(first, second):
    make_artifact(first)
    # bulk_create bypasses Model.save(): the constraint, not Python, must refuse it.
    twin = Artifact(
        collection=default_collection(),
        type=ArtifactType.SKILL,
        name=second,
        name_key=normalize_name(second),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Artifact.objects.bulk_create([twin])
    assert Artifact.objects.count() == 1


def test_same_name_in_another_type_or_collection_is_another_artifact():
    other = Collection.objects.create(name="work")
    make_artifact("pdf", ArtifactType.SKILL)
    make_artifact("pdf", ArtifactType.COMMAND)
    make_artifact("pdf", ArtifactType.SKILL, collection=other)
    assert Artifact.objects.filter(name_key="pdf").count() == 3


def test_unknown_type_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        Artifact.objects.bulk_create(
            [Artifact(collection=default_collection(), type="widget", name="x", name_key="x")]
        )


def test_duplicate_content_hash_per_artifact_is_refused():
    artifact = make_artifact("pdf")
    make_version(artifact, HASH_A)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_version(artifact, HASH_A)
    # The same hash on another artifact (identical bytes under another name) is fine.
    make_version(make_artifact("pdf-copy"), HASH_A)


def test_a_directory_and_a_file_with_equal_hashes_stay_apart_by_type():
    skill = make_artifact("forms", ArtifactType.SKILL)
    command = make_artifact("forms", ArtifactType.COMMAND)
    make_version(skill, HASH_A)
    make_version(command, HASH_A)
    assert skill.pk != command.pk
    assert Artifact.objects.filter(versions__content_hash=HASH_A).count() == 2


def test_associations_are_unique_per_plugin_version_child_and_relationship():
    plugin = make_artifact("tools", ArtifactType.PLUGIN)
    plugin_version = make_version(plugin, HASH_A)
    child = make_artifact("pdf")
    child_version = make_version(child, HASH_B)
    fields = {
        "parent_version": plugin_version,
        "child": child,
        "child_version": child_version,
        "pinned_version_hash": HASH_B,
    }
    ArtifactAssociation.objects.create(position=0, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        ArtifactAssociation.objects.create(position=1, **fields)


def test_a_version_is_the_latest_of_one_artifact_at_most():
    """The parents of a child are found through their latest version (current_parent):
    the database keeps that join to one plugin per version."""
    plugin = make_artifact("tools", ArtifactType.PLUGIN)
    version = make_version(plugin, HASH_A)
    other = make_artifact("other-tools", ArtifactType.PLUGIN)
    make_version(other, HASH_B)
    Artifact.objects.filter(pk=plugin.pk).update(latest_version=version)
    with pytest.raises(IntegrityError), transaction.atomic():
        Artifact.objects.filter(pk=other.pk).update(latest_version=version)
    # Artifacts with no version yet have no latest version: any number of them.
    make_artifact("empty-one")
    make_artifact("empty-two")
    assert Artifact.objects.filter(latest_version=None).count() >= 2


def test_associations_are_immutable():
    plugin_version = make_version(make_artifact("tools", ArtifactType.PLUGIN), HASH_A)
    child = make_artifact("pdf")
    association = ArtifactAssociation.objects.create(
        parent_version=plugin_version,
        child=child,
        child_version=make_version(child, HASH_B),
        pinned_version_hash=HASH_B,
        position=0,
    )
    association.position = 5
    with pytest.raises(ValidationError):
        association.save()
    association.refresh_from_db()
    assert association.position == 0


def test_the_suite_never_uses_the_users_storage_root(tmp_path):
    """tests.settings picks a throw-away SKILLMEAT_HOME even when the environment names one."""
    users_home = tmp_path / "users-home"
    script = (
        "import django; from django.conf import settings; django.setup(); "
        "print(settings.SKILLMEAT_HOME)"
    )
    env = {
        **os.environ,
        "SKILLMEAT_HOME": str(users_home),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    chosen = Path(done.stdout.strip())
    assert chosen != users_home and chosen.name.startswith("skillmeat-tests-")
    assert not users_home.exists()


def test_ordered_uuids_are_version_7_and_sort_by_creation_time():
    import time

    from artifacts.models import ordered_uuid

    earlier = [ordered_uuid() for _ in range(100)]
    time.sleep(0.002)
    later = ordered_uuid()
    assert {(u.version, u.variant) for u in earlier} == {(7, uuid.RFC_4122)}
    assert len(set(earlier)) == 100
    assert all(u < later for u in earlier)
    assert abs((later.int >> 80) - time.time_ns() // 1_000_000) < 5_000
