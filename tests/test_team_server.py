"""A team server on one machine (DESIGN sections 7 and 12): imports queued by the API and run by
a real ``db_worker`` process, a worker killed mid-import, and two gunicorn processes with
separate homes sharing one database and one bucket (moto's server mode) importing overlapping
plugins at once."""

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import urllib3
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from artifacts.models import Artifact, ImportRecord, Version, VersionFile
from importer.verify import collection_verify
from tests.conftest import bucket_keys, s3_env, subprocess_env
from tests.plugins import make_tar, make_zip, synthetic_plugin
from tests.test_concurrency import overlapping_plugin

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parent.parent
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def queued(settings):
    """The API queues imports (the database backend) instead of running them at once."""
    settings.TASKS = DATABASE_TASKS
    settings.SKILLMEAT_TASKS_BACKEND = "database"
    settings.SKILLMEAT_IMPORT_LEASE_SECONDS = 3


@pytest.fixture
def staff_client():
    user = User.objects.create_user("boss", password="x", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def start_worker(home: Path, **extra: str) -> subprocess.Popen:
    env = subprocess_env(
        home, SKILLMEAT_TASKS_BACKEND="database", SKILLMEAT_IMPORT_LEASE_SECONDS="3", **extra
    )
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--interval",
            "0.2",
            "--no-startup-delay",
            "--no-reload",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return (err or b"").decode(errors="replace")


def wait_for(condition, timeout: float = 60.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError("timed out waiting")


def upload(client, archive: Path):
    with archive.open("rb") as handle:
        return client.post("/api/v1/imports/", {"file": handle}, format="multipart")


def test_a_queued_import_is_run_by_a_real_worker(queued, staff_client, tmp_path, skillmeat_home):
    archive = make_zip(tmp_path / "queued.zip", synthetic_plugin("queued", 12))
    response = upload(staff_client, archive)
    assert response.status_code == 202, response.content
    record_url = response["Location"]
    assert response.json()["status"] == "queued"
    assert staff_client.get(record_url).json()["status"] == "queued"
    assert list((skillmeat_home / "uploads").rglob("queued.zip")), "kept for a worker"

    worker = start_worker(skillmeat_home)
    try:
        done = wait_for(
            lambda: (
                (d := staff_client.get(record_url).json())["status"] in ("succeeded", "failed")
                and d
            )
        )
    finally:
        err = stop(worker)
    assert done["status"] == "succeeded", err
    assert [r["plugin_name"] for r in done["result"]["results"]] == ["queued"]
    assert done["finished_at"] and done["kind"] == "request"
    assert not list((skillmeat_home / "uploads").rglob("queued.zip")), "removed when final"
    plugin_record = ImportRecord.objects.get(kind="plugin")
    assert str(plugin_record.parent_id) == done["id"]
    history = staff_client.get("/api/v1/imports/").json()
    assert {item["kind"] for item in history["results"]} == {"request", "plugin"}


def test_a_worker_killed_mid_import_leaves_no_half_state_and_its_record_fails(
    queued, staff_client, tmp_path, skillmeat_home
):
    archive = make_tar(tmp_path / "big.tgz", synthetic_plugin("big", 1500))
    response = upload(staff_client, archive)
    record_url = response["Location"]
    worker = start_worker(skillmeat_home)
    wait_for(lambda: staff_client.get(record_url).json()["status"] == "running", every=0.05)
    # killed once the transaction stages its views: its rows are written, not yet committed
    wait_for(lambda: any((skillmeat_home / "tmp").glob("views-*")), every=0.002)
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=30)
    assert staff_client.get(record_url).json()["status"] == "running"

    survivor = start_worker(skillmeat_home)
    try:
        done = wait_for(
            lambda: (d := staff_client.get(record_url).json())["status"] != "running" and d,
            timeout=30,
        )
    finally:
        stop(survivor)
    assert done["status"] == "failed"
    assert done["error"]["rule"] == "worker_lost"
    assert not list((skillmeat_home / "uploads").rglob("big.tgz"))
    plugin = Artifact.objects.filter(type="plugin", name="big").first()
    if plugin is not None:  # it committed just before the kill: then all of it is there
        assert plugin.latest_version.child_associations.count() == 1500
    else:
        assert not Version.objects.exists() and not VersionFile.objects.exists()
    assert collection_verify(repair=True, grace_seconds=0).ok


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_app_server(home: Path, port: int, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "skillmeat_site.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=subprocess_env(home, ALLOWED_HOSTS="127.0.0.1", **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_two_app_servers_with_separate_homes_share_one_database_and_one_bucket(
    s3_bucket, moto_endpoint, tmp_path, settings
):
    client, bucket = s3_bucket
    settings.SKILLMEAT_VIEWS = False  # as on a team server: views are per host
    token = Token.objects.create(user=User.objects.create_user("t", is_staff=True)).key
    archives = [make_zip(tmp_path / f"p{i}.zip", overlapping_plugin(i)) for i in range(4)]
    homes = [tmp_path / "host-a", tmp_path / "host-b"]
    ports = [free_port(), free_port()]
    env = {**s3_env(moto_endpoint, bucket), "SKILLMEAT_VIEWS": "false"}
    servers = [start_app_server(h, p, env) for h, p in zip(homes, ports, strict=True)]
    http = urllib3.PoolManager()
    try:
        for port in ports:
            wait_for(lambda p=port: _answers(http, p), timeout=60)
        answers: list = []

        def post(index: int) -> None:
            body = archives[index].read_bytes()
            response = http.request(
                "POST",
                f"http://127.0.0.1:{ports[index % 2]}/api/v1/imports/",
                fields={"file": (archives[index].name, body)},
                headers={"Authorization": f"Token {token}"},
                timeout=120,
            )
            answers.append((response.status, json.loads(response.data)))

        threads = [threading.Thread(target=post, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        errors = [stop(s) for s in servers]
    assert [status for status, _ in answers] == [201] * 4, (answers, errors)
    assert Artifact.objects.filter(type="plugin").count() == 4
    assert Artifact.objects.filter(name="shared").count() == 1
    assert Version.objects.filter(artifact__name="contested").count() == 4
    needed = set(VersionFile.objects.values_list("blob_hash", flat=True))
    keys = {k for k in bucket_keys(client, bucket) if k.startswith("blobs/")}
    assert keys == {f"blobs/{d[:2]}/{d[2:]}" for d in needed}, "no blob lost, none extra"
    for home in homes:
        assert not (home / "objects").exists() and not (home / "collections").exists()
    assert collection_verify().ok


def _answers(http: urllib3.PoolManager, port: int) -> bool:
    try:
        return http.request("GET", f"http://127.0.0.1:{port}/", timeout=1).status == 200
    except urllib3.exceptions.HTTPError:
        return False
