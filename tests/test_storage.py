"""The blob store: content addressed, idempotent, read-only, and never half-written."""

import hashlib
import io
import os
import signal
import stat

import pytest

from blobstore import LocalBlobStore
from importer.errors import ImportError_, StorageFailed, UnsafePath
from importer.hashing import Limits
from importer.storage import StagingArea


def test_blob_path_layout(skillmeat_home):
    store = LocalBlobStore()
    digest, created = store.put_bytes(b"hello\n")
    assert created
    assert digest == hashlib.sha256(b"hello\n").hexdigest()
    path = skillmeat_home / "objects" / digest[:2] / digest[2:]
    assert path.read_bytes() == b"hello\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_writing_twice_is_idempotent(skillmeat_home):
    store = LocalBlobStore()
    digest, _ = store.put_bytes(b"same bytes")
    before = store.path_for(digest).stat()
    again, created = store.put_bytes(b"same bytes")
    assert (again, created) == (digest, False)
    assert store.path_for(digest).stat().st_ino == before.st_ino
    assert list(store.all_digests()) == [digest]
    assert list(store.tmp.iterdir()) == []


def test_staging_keeps_the_bytes_it_hashed(tmp_path):
    source = tmp_path / "f.bin"
    source.write_bytes(b"x" * 3_000_000)
    store = LocalBlobStore()
    staging = StagingArea(store, "t")
    digest, size = staging.receive(source, Limits(), "f.bin")
    assert size == 3_000_000
    assert staging.blobs[digest] is None  # staged as a read-only file
    assert staging.file(digest).read_bytes() == source.read_bytes()
    assert staging.commit_blobs([digest]) == [digest]
    assert staging.commit_blobs([digest]) == []
    assert store.read(digest) == source.read_bytes()
    folder = staging.path
    staging.cleanup()
    assert not folder.exists()
    assert staging.blobs == {}


class BrokenSource(io.RawIOBase):
    """A source that fails after handing out some bytes, like a disk read error mid-file."""

    def __init__(self) -> None:
        self.calls = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self.calls += 1
        if self.calls > 2:
            raise OSError("read error")
        buffer[:4] = b"part"
        return 4


def test_a_failed_write_leaves_no_partial_file(skillmeat_home):
    store = LocalBlobStore()
    staging = StagingArea(store, "t")
    with pytest.raises(UnsafePath, match="read error") as caught:
        staging.receive_stream(BrokenSource(), Limits(), "broken")
    assert caught.value.rule == "unreadable" and caught.value.path == "broken"
    assert list(staging.path.iterdir()) == []
    assert staging.blobs == {}
    assert list(store.all_digests()) == []


def test_a_failed_batch_removes_what_it_added(skillmeat_home):
    store = LocalBlobStore()
    staging = StagingArea(store, "t")
    first = staging.receive_bytes(b"first")
    second = staging.receive_bytes(b"second")
    # A plain file where the second blob's folder must go makes its write fail.
    store.objects.mkdir(parents=True)
    blocker = store.objects / second[:2]
    if first[:2] == second[:2]:
        pytest.skip("both digests share a folder")
    blocker.write_bytes(b"")
    with pytest.raises(StorageFailed) as caught:
        staging.commit_blobs([first, second])
    assert second[:2] in caught.value.path
    assert not store.has(first)


def test_a_batch_of_blobs_is_made_durable_with_one_syncfs(tmp_path, monkeypatch):
    """Durability per plugin, not per file: one syncfs of the storage root's filesystem."""
    from blobstore import local

    calls = []
    real = local.syncfs
    monkeypatch.setattr(local, "syncfs", lambda path: calls.append(path) or real(path))
    store = LocalBlobStore(tmp_path / "root")
    staging = tmp_path / "staged"
    staging.mkdir()
    staged = {}
    for index in range(20):
        data = f"blob {index}".encode()
        path = staging / str(index)
        path.write_bytes(data)
        staged[hashlib.sha256(data).hexdigest()] = path
    assert sorted(store.put_many(staged)) == sorted(staged)
    assert calls == [store.objects]
    assert all(store.read(d) == f"blob {i}".encode() for i, d in enumerate(staged))


def test_without_syncfs_every_blob_and_folder_is_fsynced(tmp_path, monkeypatch):
    from blobstore import local

    monkeypatch.setattr(local, "syncfs", lambda path: False)
    synced = []
    real_fsync = local.os.fsync
    monkeypatch.setattr(local.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    store = LocalBlobStore(tmp_path / "root")
    path = tmp_path / "one"
    path.write_bytes(b"one")
    store.put_many({hashlib.sha256(b"one").hexdigest(): path})
    assert len(synced) == 3  # the blob, its folder, objects/


def test_small_files_are_staged_in_memory_until_the_budget_is_spent(tmp_path, skillmeat_home):
    store = LocalBlobStore()
    staging = StagingArea(store, "t", memory=2500)
    digests = []
    for index in range(3):
        source = tmp_path / f"f{index}"
        source.write_bytes(bytes([index]) * 1000)
        digests.append(staging.receive(source, Limits(), source.name)[0])
    # the first two fit in 2,500 bytes; the third is staged as a file under tmp/
    assert [staging.held(d) is not None for d in digests] == [True, True, False]
    assert [p.name for p in staging.path.iterdir()] == [digests[2]]
    assert all(staging.read(d) == bytes([i]) * 1000 for i, d in enumerate(digests))
    assert sorted(staging.commit_blobs(digests)) == sorted(digests)
    assert all(store.read(d) == bytes([i]) * 1000 for i, d in enumerate(digests))
    assert all(stat.S_IMODE(store.path_for(d).stat().st_mode) == 0o444 for d in digests)
    staging.cleanup()
    assert list(store.tmp.iterdir()) == []


def test_a_file_over_the_limit_is_refused_whether_staged_in_memory_or_not(tmp_path):
    source = tmp_path / "big"
    source.write_bytes(b"x" * 2000)
    for memory in (10_000, 0):
        staging = StagingArea(LocalBlobStore(tmp_path / "root"), "t", memory=memory)
        with pytest.raises(ImportError_) as refused:
            staging.receive(source, Limits(max_file_bytes=1999), "plugin/big")
        assert refused.value.rule == "file_too_large"
        assert staging.blobs == {}
        staging.cleanup()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o000])
def test_views_get_exact_modes_whatever_the_umask(make_tree, skillmeat_home, umask):
    from importer.services import import_paths
    from tests.plugins import full_plugin

    previous = os.umask(umask)
    try:
        assert import_paths([make_tree(full_plugin())]).failed == []
    finally:
        os.umask(previous)
    views = skillmeat_home / "collections/default"
    modes = {
        "skills/pdf/SKILL.md": 0o644,
        "skills/pdf/scripts/extract.py": 0o755,
        "commands/greet.md": 0o644,
        "hooks/toolbox/check.sh": 0o755,
        "plugins/toolbox/scripts/setup.sh": 0o755,
    }
    assert {path: stat.S_IMODE((views / path).stat().st_mode) for path in modes} == modes


def test_a_forked_worker_flushes_its_blobs_with_a_thread_of_its_own(tmp_path):
    """gunicorn and task workers fork: the parent's flushing thread does not exist in the
    child, which must not wait for it forever."""
    parent = LocalBlobStore(tmp_path / "parent")
    parent.put_many_deferred({hashlib.sha256(b"a").hexdigest(): b"a"})
    parent.wait_durable()
    pid = os.fork()
    if pid == 0:  # the child: flush one blob, within 10 seconds
        signal.alarm(10)
        try:
            child = LocalBlobStore(tmp_path / "child")
            child.put_many_deferred({hashlib.sha256(b"b").hexdigest(): b"b"})
            child.wait_durable()
            os._exit(0 if child.read(hashlib.sha256(b"b").hexdigest()) == b"b" else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_blob_folder_a_rollback_emptied_is_made_again(skillmeat_home):
    """Taking back a failed import's blobs removes the folders it left empty: the same store
    placing a blob there again makes the folder again (it does not trust a stale memory)."""
    store = LocalBlobStore()
    digest = hashlib.sha256(b"again").hexdigest()
    assert store.put_many({digest: b"again"}) == [digest]
    store.remove_many([digest])
    assert not (store.objects / digest[:2]).exists()
    assert store.put_many({digest: b"again"}) == [digest]
    assert store.path_for(digest).read_bytes() == b"again"


@pytest.mark.django_db(transaction=True)
def test_blobs_are_written_before_the_transaction_and_flushed_after_its_reads(
    make_tree, skillmeat_home, monkeypatch
):
    """DESIGN 7 step 4: the new blobs are written before the transaction opens. The flush that
    makes them durable runs beside the transaction, from after its dedup reads (a flush of
    the filesystem keeps its journal busy, and SQLite's reads write to its shared-memory
    index) to before its commit."""
    from blobstore import local
    from importer import services
    from importer.services import import_paths
    from tests.plugins import full_plugin

    events: list[str] = []
    real_syncfs, real_resolve = local.syncfs, services.resolve
    monkeypatch.setattr(local, "syncfs", lambda path: events.append("flush") or real_syncfs(path))
    monkeypatch.setattr(
        services, "resolve", lambda *args: events.append("decisions") or real_resolve(*args)
    )

    def step(name: str, /, **context: object) -> None:
        if name in ("blobs", "commit"):
            events.append(name)

    assert import_paths([make_tree(full_plugin())], step=step).failed == []
    assert events == ["blobs", "decisions", "flush", "commit"]
    unflushed = LocalBlobStore()
    unflushed.put_many_deferred({hashlib.sha256(b"late").hexdigest(): b"late"})
    unflushed.wait_durable()  # one never started is started, and waited for, here
    assert events[-1] == "flush"
