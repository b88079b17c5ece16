"""Import throughput on an S3-compatible bucket next to the local objects/ folder, in the same
process: the same synthetic marketplace imported into a fresh collection on each store (moto's
server mode on loopback stands in for the bucket), first import and re-import, with the ratio.

    .venv/bin/python benchmarks/bucket_bench.py [--plugins 20] [--children 30]

Absolute times depend on the machine; the ratio bucket/local is what to compare. The bucket
pays one HEAD per new blob and one PUT per new blob over HTTP; a re-import writes nothing.
"""

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _setup import django_setup


def start_moto() -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            return server, endpoint
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("moto_server did not start")


def marketplace(root: Path, plugins: int, children: int) -> Path:
    import json

    from tests.conftest import write_tree
    from tests.plugins import synthetic_plugin

    entries = []
    for index in range(plugins):
        name = f"bench-{index}"
        write_tree(root / "plugins" / name, synthetic_plugin(name, children))
        entries.append({"name": name, "source": f"./plugins/{name}"})
    document = {"name": "bench", "owner": {"name": "bench"}, "plugins": entries}
    (root / ".claude-plugin").mkdir(parents=True)
    (root / ".claude-plugin/marketplace.json").write_text(json.dumps(document))
    return root


def timed_imports(tree: Path, collection: str) -> tuple[float, float, int]:
    from importer.services import import_paths

    started = time.perf_counter()
    first = import_paths([tree], collection=collection)
    middle = time.perf_counter()
    again = import_paths([tree], collection=collection)
    ended = time.perf_counter()
    assert not first.failed and not again.failed, (first.failed, again.failed)
    return middle - started, ended - middle, len(first.results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", type=int, default=20)
    parser.add_argument("--children", type=int, default=30)
    options = parser.parse_args()
    home = django_setup()
    tree = Path(tempfile.mkdtemp(prefix="bucket-bench-"))
    try:
        compare(tree, options.plugins, options.children)
    finally:
        shutil.rmtree(tree, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


def compare(root: Path, plugins: int, children: int) -> None:
    """The same marketplace imported into the local folder, a bucket, and a bucket without
    views; prints the three runs and their ratios to the local one."""
    import boto3
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    tree = marketplace(root, plugins, children)
    server, endpoint = start_moto()
    try:
        local = timed_imports(tree, "local-run")
        call_command("flush", interactive=False, verbosity=0)  # the bucket starts empty too
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        ).create_bucket(Bucket="bench")
        settings.SKILLMEAT_BLOB_STORAGE = "s3://bench/blobs"
        settings.AWS_S3_ENDPOINT_URL = endpoint
        settings.AWS_ACCESS_KEY_ID = settings.AWS_SECRET_ACCESS_KEY = "bench"
        settings.AWS_S3_REGION_NAME = "us-east-1"
        bucket = timed_imports(tree, "bucket-run")
        call_command("flush", interactive=False, verbosity=0)
        settings.SKILLMEAT_BLOB_STORAGE = "s3://bench/team"
        settings.SKILLMEAT_VIEWS = False  # a team server's setting: no per-host views
        team = timed_imports(tree, "team-run")
    finally:
        server.terminate()
    files = plugins * children
    print(f"{local[2]} plugins x {children} children ({files} children) per run")
    print(f"{'store':<18}{'first import':>10}{'plugins/s':>11}{'re-import':>12}")
    runs = (("local folder", local), ("bucket", bucket), ("bucket, no views", team))
    for name, (first, again, count) in runs:
        print(f"{name:<18}{first:>9.2f}s{count / first:>11.1f}{again:>11.2f}s")
    for name, (first, again, _) in runs[1:]:
        print(
            f"ratio {name}/local: first import x{first / local[0]:.2f}, "
            f"re-import x{again / local[1]:.2f}"
        )


if __name__ == "__main__":
    main()
