"""The blob store on an S3-compatible bucket (moto's server mode on loopback): a full import,
a rolled-back import leaving the bucket's keys as they were, verify and repair on the bucket,
export, deploy and file contents read from it. The same contract as the local folder."""

import hashlib
import zipfile

import pytest
from django.test import Client

from artifacts.models import Artifact, VersionFile
from blobstore import blob_store
from deploy.export import plugin_export
from deploy.services import plugin_deploy
from importer.hashing import hash_directory
from importer.removal import remove_artifact
from importer.services import import_paths
from importer.verify import collection_verify
from tests.conftest import bucket_keys
from tests.plugins import database_snapshot, full_plugin

pytestmark = pytest.mark.django_db(transaction=True)


def blob_keys(client, name):
    return {k for k in bucket_keys(client, name) if k.startswith("blobs/")}


def test_an_import_writes_every_blob_to_the_bucket_and_none_locally(
    s3_bucket, make_tree, skillmeat_home
):
    client, name = s3_bucket
    (result,) = import_paths([make_tree(full_plugin())]).results
    needed = set(VersionFile.objects.values_list("blob_hash", flat=True))
    assert blob_keys(client, name) == {f"blobs/{d[:2]}/{d[2:]}" for d in needed}
    assert not (skillmeat_home / "objects").exists()
    store = blob_store()
    for digest in needed:
        assert hashlib.sha256(store.read(digest)).hexdigest() == digest
    again = import_paths([make_tree(full_plugin())]).results[0]
    assert again.plugin_hash == result.plugin_hash and again.children_imported == 0


def test_a_rolled_back_import_leaves_the_bucket_as_it_was(s3_bucket, make_tree):
    client, name = s3_bucket
    import_paths([make_tree(full_plugin())])
    before_keys = bucket_keys(client, name)
    before_rows = database_snapshot()

    def fail_after_blobs(step, /, **context):
        if step == "associations":
            raise RuntimeError("the database went away")

    changed = full_plugin(**{"commands/greet.md": "changed\n", "commands/new.md": "new\n"})
    report = import_paths([make_tree(changed)], step=fail_after_blobs)
    assert report.failed and report.failed[0].rule == "internal"
    assert bucket_keys(client, name) == before_keys
    assert database_snapshot() == before_rows


def test_verify_and_repair_on_the_bucket(s3_bucket, make_tree):
    client, name = s3_bucket
    import_paths([make_tree(full_plugin())])
    assert collection_verify().ok
    digests = sorted(set(VersionFile.objects.values_list("blob_hash", flat=True)))
    corrupt, missing = digests[0], digests[1]
    client.put_object(Bucket=name, Key=f"blobs/{corrupt[:2]}/{corrupt[2:]}", Body=b"rot")
    client.delete_object(Bucket=name, Key=f"blobs/{missing[:2]}/{missing[2:]}")
    client.put_object(Bucket=name, Key="blobs/zz/not-a-blob", Body=b"?")
    kinds = sorted(p.kind for p in collection_verify().problems)
    assert kinds == ["corrupt_blob", "missing_blob", "stray_object"]
    repaired = collection_verify(repair=True)
    assert {p.kind for p in repaired.problems} == {"missing_blob"}
    keys = bucket_keys(client, name)
    assert f"blobs-quarantine/{corrupt[:2]}/{corrupt[2:]}" in keys
    assert "blobs-quarantine/zz/not-a-blob" in keys and "blobs/zz/not-a-blob" not in keys
    # Importing the same content again heals both blobs.
    import_paths([make_tree(full_plugin())])
    assert collection_verify().ok


def test_garbage_on_the_bucket_is_listed_then_collected(s3_bucket, make_tree):
    client, name = s3_bucket
    import_paths([make_tree(full_plugin())])
    remove_artifact(Artifact.objects.get(type="plugin"), with_children=True)
    report = collection_verify()
    assert report.ok and len(report.garbage) == len(blob_keys(client, name))
    assert collection_verify(repair=True, grace_seconds=3600).garbage, "too young"
    assert collection_verify(repair=True, grace_seconds=0).garbage == []
    assert blob_keys(client, name) == set()


def test_export_deploy_and_file_contents_read_from_the_bucket(
    s3_bucket, make_tree, tmp_path, project, admin_user
):
    tree = full_plugin()
    source = make_tree(tree)
    import_paths([source])
    version = Artifact.objects.get(type="plugin").latest_version
    archive = plugin_export(version=version, output=tmp_path / "toolbox.zip")
    with zipfile.ZipFile(archive) as bundle:
        assert (
            bundle.read("toolbox/commands/greet.md") == (source / "commands/greet.md").read_bytes()
        )
    plugin_deploy(mode="plugin", name="toolbox", project=project)
    assert hash_directory(project / ".claude/skills/toolbox") == version.content_hash
    client = Client()
    client.force_login(admin_user)
    response = client.get(f"/api/v1/versions/{version.pk}/files/commands/greet.md")
    assert b"".join(response.streaming_content) == (source / "commands/greet.md").read_bytes()


def test_views_can_be_switched_off(s3_bucket, make_tree, skillmeat_home, settings):
    settings.SKILLMEAT_VIEWS = False
    import_paths([make_tree(full_plugin())])
    assert not (skillmeat_home / "collections").exists()
    assert collection_verify(repair=True).ok
    assert not (skillmeat_home / "collections").exists(), "not even by repair"
