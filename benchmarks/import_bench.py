"""Import speed and queries for synthetic plugins of 10, 50 and 500 children, on SQLite and
(when reachable) PostgreSQL: queries per plugin, and milliseconds per plugin for a first
import and a re-import, in total and excluding hashing.

    .venv/bin/python benchmarks/import_bench.py [--plugins 5] [--postgres URL | --no-postgres]

Targets (SQLite, excluding hashing): a 50-child plugin imports in under 150 ms and
re-imports in under 50 ms; the query count is flat in the number of children.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _setup import ROOT, django_setup

SIZES = (10, 50, 500)
POSTGRES_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


def measure(plugins: int) -> list[dict]:
    """Runs inside one process configured for one database."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    trees = Path(tempfile.mkdtemp(prefix="import-bench-"))
    try:
        return _measure_sizes(trees, plugins)
    finally:
        shutil.rmtree(trees, ignore_errors=True)


def _measure_sizes(trees: Path, plugins: int) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from blobstore import blob_store
    from importer.hashing import Limits
    from importer.layout import detect_layout, plan_plugin
    from importer.services import import_paths
    from importer.sources import PluginSource
    from importer.storage import StagingArea
    from tests.conftest import write_tree
    from tests.plugins import synthetic_plugin

    rows = []
    for size in SIZES:
        first, again, hashing, queries = [], [], [], []
        for index in range(plugins):
            root = write_tree(
                trees / f"p{size}-{index}", synthetic_plugin(f"p{size}-{index}", size)
            )
            started = time.perf_counter()
            staging = StagingArea(blob_store(), "bench")
            plan_plugin(detect_layout(PluginSource(root, str(root)), Limits()), Limits(), staging)
            staging.cleanup()
            hashing.append((time.perf_counter() - started) * 1000)
            for bucket in (first, again):
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    report = import_paths([root])
                    bucket.append((time.perf_counter() - started) * 1000)
                assert not report.failed, report.failed
                queries.append(len(captured.captured_queries))
        hash_ms = statistics.median(hashing)
        rows.append(
            {
                "children": size,
                "queries_first": queries[0],
                "queries_again": queries[1],
                "first_ms": statistics.median(first),
                "again_ms": statistics.median(again),
                "hash_ms": hash_ms,
            }
        )
    return rows


def print_table(vendor: str, rows: list[dict]) -> None:
    print(f"\n{vendor}: median of the plugins per size")
    print("children  queries(first/re)  first ms  re-import ms  hashing ms  first-hash  re-hash")
    for row in rows:
        print(
            f"{row['children']:8d}  {row['queries_first']:7d}/{row['queries_again']:<9d}"
            f"  {row['first_ms']:8.1f}  {row['again_ms']:12.1f}  {row['hash_ms']:10.1f}"
            f"  {row['first_ms'] - row['hash_ms']:10.1f}  {row['again_ms'] - row['hash_ms']:7.1f}"
        )


def run_child(database_url: str, plugins: int) -> list[dict]:
    env = {**os.environ, "BENCH_DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, __file__, "--child", "--plugins", str(plugins)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout.splitlines()[-1])


def postgres_database(admin_url: str) -> str | None:
    import psycopg

    name = f"skillmeat_bench_{os.getpid()}"
    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
    except psycopg.Error as error:
        print(f"PostgreSQL not measured: {error}".strip())
        return None
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin_url: str, url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", type=int, default=5, help="plugins measured per size")
    parser.add_argument("--postgres", default=POSTGRES_ADMIN, help="an admin URL of the server")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        home = django_setup(os.environ["BENCH_DATABASE_URL"])
        try:
            print(json.dumps(measure(arguments.plugins)))
        finally:
            shutil.rmtree(home, ignore_errors=True)
        return
    sqlite_home = Path(tempfile.mkdtemp(prefix="bench-sqlite-"))
    try:
        print_table("SQLite", run_child(f"sqlite:///{sqlite_home}/db.sqlite3", arguments.plugins))
    finally:
        shutil.rmtree(sqlite_home, ignore_errors=True)
    if arguments.no_postgres:
        return
    url = postgres_database(arguments.postgres)
    if url:
        try:
            print_table("PostgreSQL", run_child(url, arguments.plugins))
        finally:
            drop_database(arguments.postgres, url)


if __name__ == "__main__":
    main()
