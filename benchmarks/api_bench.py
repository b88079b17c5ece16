"""Latency of the REST API through a real HTTP server (gunicorn on 127.0.0.1) on a collection
of about 30,000 artifacts (1,000 plugins of 29 children, one skill shared by all of them): the
artifact list (first page, page 500, every filter, a hash that matches and one that does not),
a plugin's associations and those of the shared skill (1,000 parents, paginated).

    .venv/bin/python benchmarks/api_bench.py [--plugins 1000] [--requests 200] [--database-url URL]

Target: p95 under 20 ms for every one of them.
"""

import argparse
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _setup import ROOT, django_setup

TARGET_MS = 20


def seed(home: Path, plugins: int) -> dict[str, str]:
    """``plugins`` plugins of 29 children plus one shared skill; returns ids, a hash, a token."""
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from artifacts.models import Artifact
    from importer.services import import_paths
    from tests.conftest import write_tree
    from tests.plugins import synthetic_plugin

    call_command("migrate", verbosity=0)
    trees = home / "trees"
    shared = {"skills/shared-skill/SKILL.md": "---\nname: shared-skill\n---\nShared.\n"}
    for index in range(plugins):
        name = f"bench-{index:04d}"
        write_tree(trees / name, {**synthetic_plugin(name, 29), **shared})
    started = time.perf_counter()
    report = import_paths(sorted(trees.iterdir()))
    assert not report.failed, report.failed
    user = User.objects.create_user("bench", is_staff=True)
    token = Token.objects.create(user=user)
    plugin = Artifact.objects.get(type="plugin", name="bench-0000")
    skill = Artifact.objects.get(type="skill", name="shared-skill")
    count = Artifact.objects.count()
    print(f"seeded {count} artifacts in {time.perf_counter() - started:.0f} s")
    return {
        "plugin": str(plugin.pk),
        "skill": str(skill.pk),
        "hash": plugin.latest_version.content_hash,
        "token": token.key,
        "last_page": str((count + 49) // 50),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "skillmeat_site.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def timed_get(port: int, path: str, token: str) -> float:
    """Milliseconds of one GET on a fresh connection (its response read in full)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    started = time.perf_counter()
    connection.request("GET", path, headers={"Authorization": f"Token {token}"})
    response = connection.getresponse()
    response.read()
    elapsed = (time.perf_counter() - started) * 1000
    connection.close()
    if response.status != 200:
        raise SystemExit(f"GET {path}: {response.status}")
    return elapsed


def report(label: str, timings: list[float], target: float) -> None:
    timings = sorted(timings)
    p95 = timings[int(len(timings) * 0.95) - 1]
    median = statistics.median(timings)
    print(f"{label:<44} median {median:6.1f} ms   p95 {p95:6.1f} ms   (target < {target:.0f} ms)")


def targets(seeded: dict[str, str]) -> list[tuple[str, str]]:
    artifacts = "/api/v1/artifacts/"
    return [
        ("artifact list, first page of 50", artifacts),
        ("artifact list, page 500", f"{artifacts}?page=500"),
        ("artifact list, last page", f"{artifacts}?page={seeded['last_page']}"),
        ("artifact list, page of 1,000", f"{artifacts}?page_size=1000"),
        ("filter type=skill", f"{artifacts}?type=skill"),
        ("filter collection=default", f"{artifacts}?collection=default"),
        ("filter name", f"{artifacts}?name=bench-0500-7"),
        ("filter search", f"{artifacts}?search=0500-"),
        ("filter content_hash, a match", f"{artifacts}?content_hash={seeded['hash']}"),
        ("filter content_hash prefix, a match", f"{artifacts}?content_hash={seeded['hash'][:10]}"),
        ("filter content_hash, no match", f"{artifacts}?content_hash={'0' * 64}"),
        ("associations, plugin of 30 children", f"{artifacts}{seeded['plugin']}/associations/"),
        ("associations, skill of 1,000 parents", f"{artifacts}{seeded['skill']}/associations/"),
        ("collections", "/api/v1/collections/"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    arguments = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="api-bench-"))
    try:
        run(home, arguments)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run(home: Path, arguments: argparse.Namespace) -> None:
    database_url = arguments.database_url or f"sqlite:///{home}/db.sqlite3"
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    django_setup(database_url, home=home)
    seeded = seed(home, arguments.plugins)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SKILLMEAT_HOME": str(home),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
    }
    port = free_port()
    server = start_server(env, port, arguments.workers)
    try:
        for label, path in targets(seeded):
            for _ in range(20):
                timed_get(port, path, seeded["token"])
            timings = [timed_get(port, path, seeded["token"]) for _ in range(arguments.requests)]
            report(label, timings, TARGET_MS)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
