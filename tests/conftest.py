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
