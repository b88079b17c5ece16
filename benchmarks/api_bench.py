"""Latency of the REST API through a real HTTP server (gunicorn on 127.0.0.1): the
associations of a plugin with 50 children, and the artifact list of a collection of 1,000
artifacts (first page of 50, and all 1,000 in one page).

    .venv/bin/python benchmarks/api_bench.py [--requests 300] [--database-url URL]

Targets: associations p95 under 20 ms, the list under 50 ms.
"""

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _setup import ROOT, django_setup


def seed(home: Path) -> tuple[str, str]:
    """1,000+ artifacts in 21 plugins; returns (a 50-child plugin's id, an API token)."""
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from artifacts.models import Artifact
    from importer.services import import_paths
    from tests.conftest import write_tree
    from tests.plugins import synthetic_plugin

    call_command("migrate", verbosity=0)
    trees = home / "trees"
    for index in range(20):
        name = f"bench-{index:02d}"
        write_tree(trees / name, synthetic_plugin(name, 50))
    report = import_paths(sorted(trees.iterdir()))
    assert not report.failed, report.failed
    user = User.objects.create_user("bench", is_staff=True)
    token = Token.objects.create(user=user)
    plugin = Artifact.objects.get(type="plugin", name="bench-00")
    print(f"seeded {Artifact.objects.count()} artifacts")
    return str(plugin.pk), token.key


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    arguments = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="api-bench-"))
    database_url = arguments.database_url or f"sqlite:///{home}/db.sqlite3"
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    django_setup(database_url)
    os.environ["SKILLMEAT_HOME"] = str(home)
    plugin_id, token = seed(home)
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
        targets = [
            (
                "associations, plugin of 50 children",
                f"/api/v1/artifacts/{plugin_id}/associations/",
                20,
            ),
            ("artifact list of 1,000 (page of 50)", "/api/v1/artifacts/", 50),
            ("artifact list of 1,000 (one page of 1,000)", "/api/v1/artifacts/?page_size=1000", 50),
        ]
        for label, path, target in targets:
            for _ in range(20):
                timed_get(port, path, token)
            report(label, [timed_get(port, path, token) for _ in range(arguments.requests)], target)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
