"""Shared fixtures: a private storage root per test and a factory for real file trees."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TreeSpec = dict[str, "bytes | str | tuple[bytes | str, int]"]


def file_spec(content: "bytes | str | tuple[bytes | str, int]") -> tuple[bytes, int]:
    """Content as (bytes, mode): text or bytes, optionally with a mode (default 0o644)."""
    mode = 0o644
    if isinstance(content, tuple):
        content, mode = content
    return (content.encode() if isinstance(content, str) else content), mode


def write_tree(root: Path, spec: TreeSpec) -> Path:
    """Write files under ``root``: ``{"a/b.md": "text", "run.sh": ("#!/bin/sh", 0o755)}``."""
    for relative, content in spec.items():
        data, mode = file_spec(content)
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, mode)
    root.mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def make_tree(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1_000_000))

    def make(spec: TreeSpec, name: str | None = None) -> Path:
        return write_tree(tmp_path / "trees" / (name or f"tree{next(counter)}"), spec)

    return make


@pytest.fixture(autouse=True)
def skillmeat_home(tmp_path: Path, settings) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    settings.SKILLMEAT_HOME = home
    return home


@pytest.fixture(scope="session")
def telemetry_capture():
    """In-memory span exporter and metric reader attached to this process's providers (a
    provider can be set only once per process, so the whole session shares them)."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return exporter, reader


@pytest.fixture
def toolbox(make_tree: Callable[..., Path]) -> Path:
    """The full example plugin of tests/plugins.py, imported; returns its folder."""
    from importer.services import import_paths
    from tests.plugins import full_plugin

    root = make_tree(full_plugin())
    assert import_paths([root]).failed == []
    return root


def count_queries(client, url: str) -> int:
    """The exact number of queries a GET makes (it must answer 200)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.fixture
def cli_env(tmp_path):
    """The environment of a real ``manage.py`` process with its own migrated SQLite home."""
    home = tmp_path / "cli-home"
    env = {
        **os.environ,
        "SKILLMEAT_HOME": str(home),
        "DATABASE_URL": f"sqlite:///{home}/db.sqlite3",
        "DJANGO_SETTINGS_MODULE": "skillmeat_site.settings",
        "SECRET_KEY": "cli-test-key-" + "x" * 40,
        "LOG_FORMAT": "json",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return env


def run_command(command, *args):
    """Run a management command as the command line does: (exit status, stdout, stderr)."""
    from io import StringIO

    from django.core.management import call_command

    out, err = StringIO(), StringIO()
    try:
        call_command(command, *map(str, args), stdout=out, stderr=err)
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def project(tmp_path):
    """An empty project folder."""
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


@pytest.fixture
def git_host(tmp_path, monkeypatch):
    """Bare repositories reached as https://github.com/... through git's own URL rewriting."""
    from tests.remotes import GitHost

    return GitHost(tmp_path / "git-host", monkeypatch, credentials="user:s3cret-token")


@pytest.fixture
def https_server(tmp_path, monkeypatch):
    """An HTTPS server on loopback with a test CA that the process trusts (SSL_CERT_FILE)."""
    import trustme

    from tests.remotes import ArchiveServer

    ca = trustme.CA()
    bundle = tmp_path / "test-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    server = ArchiveServer(ca)
    yield server
    server.close()


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory):
    """A real S3-compatible server on loopback: moto in server mode, one per test session."""
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.2)
    yield endpoint
    server.terminate()
    server.wait(10)
    log.close()


@pytest.fixture
def s3_bucket(moto_endpoint, settings, monkeypatch):
    """A fresh bucket on the moto server, configured as the blob store; returns (client, name)."""
    import uuid

    import boto3

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    name = f"skillmeat-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    settings.SKILLMEAT_BLOB_STORAGE = f"s3://{name}/blobs"
    settings.AWS_S3_ENDPOINT_URL = moto_endpoint
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "testing"
    settings.AWS_S3_REGION_NAME = "us-east-1"
    return client, name


def bucket_keys(client, name):
    """Every key of a bucket with its bytes' ETag, for before/after comparisons."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=name)
    return {item["Key"]: item["ETag"] for page in pages for item in page.get("Contents", [])}


def shared_database_url() -> str:
    """The URL of the test database, for real subprocesses that must share it."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{database['NAME']}"
    return f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


def subprocess_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a real ``manage.py`` (or gunicorn) process sharing the test database."""
    return {
        **os.environ,
        "DATABASE_URL": shared_database_url(),
        "SKILLMEAT_HOME": str(home),
        "DJANGO_SETTINGS_MODULE": "skillmeat_site.settings",
        "SECRET_KEY": "subprocess-test-" + "x" * 40,
        "DEBUG": "1",
        **extra,
    }


def s3_env(moto_endpoint: str, bucket: str) -> dict[str, str]:
    """The variables that point a process at a bucket on the moto server."""
    return {
        "SKILLMEAT_BLOB_STORAGE": f"s3://{bucket}/blobs",
        "AWS_S3_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
