"""Import throughput against git on the same tree, in the same run: a synthetic marketplace of
N plugins x K children (some children shared between plugins), shaped like the 40 real
marketplaces the targets were set on (193 MB in 25,382 files: 7.6 KB a file; the synthetic
tree's Markdown is padded to 10.5 KB on average, its scripts and manifests stay a few lines, so
its files average about the same: 7.4 KiB), or any folder given; git's
``add -A && commit`` then ``add -A`` again on a copy of that tree; then the first import and the
re-import of it, in a process of their own; ``--rounds`` times over, everything removed only at
the end. Prints each round's four times and the median ratio (targets: first import <= git's
commit, re-import <= 3 s). ``--scale`` instead imports N plugins one by one and prints the
per-plugin time by decile of the run (target: last decile at most x1.10 of the first).

    .venv/bin/python benchmarks/corpus_bench.py [--plugins 200] [--children 30] [FOLDER]
        [--text-bytes 10500]  # the mean size of a synthetic Markdown file (0: a few lines)
        [--no-views]          # the import without the type-folder views (SKILLMEAT_VIEWS=false)
    .venv/bin/python benchmarks/corpus_bench.py --scale [--plugins 1000] [--children 30]
"""

import argparse
import json
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _setup import django_setup

SHARED_EVERY = 5  # every fifth plugin carries the shared children too
# The mean Markdown file: with the synthetic tree's small scripts and manifests, a file of the
# tree then averages what the real marketplaces' do (7.6 KB; see the docstring).
MARKDOWN_BYTES = 10500


def synthetic_marketplace(root: Path, plugins: int, children: int, text_bytes: int) -> Path:
    """N plugins x K children (every fifth with 8 shared children too), each Markdown file
    padded with prose to about ``text_bytes`` on average (0: no padding)."""
    from tests.conftest import write_tree
    from tests.plugins import synthetic_plugin

    prose = Prose(text_bytes)
    shared = prose.padded(synthetic_plugin("shared", 8))
    shared.pop(".claude-plugin/plugin.json")
    entries = []
    for index in range(plugins):
        name = f"plugin-{index}"
        tree = prose.padded(synthetic_plugin(name, children))
        if index % SHARED_EVERY == 0:
            tree.update({k: v for k, v in shared.items() if k != ".mcp.json"})
        write_tree(root / "plugins" / name, tree)
        entries.append({"name": name, "source": f"./plugins/{name}"})
    document = {"name": "bench", "owner": {"name": "bench"}, "plugins": entries}
    (root / ".claude-plugin").mkdir(parents=True, exist_ok=True)
    (root / ".claude-plugin/marketplace.json").write_text(json.dumps(document))
    return root


class Prose:
    """Markdown bodies of realistic size and compressibility, the same on every run: sizes
    drawn around the mean (the real marketplaces measured: 6-8 KiB a file), words from a
    vocabulary of a few thousand."""

    def __init__(self, mean_bytes: int) -> None:
        self.mean = mean_bytes
        self.random = random.Random(13)
        letters = "etaoinshrdlucmfwypvbgkqjxz"
        self.words = [
            "".join(self.random.choices(letters, k=self.random.randint(2, 10))) for _ in range(4000)
        ]

    def padded(self, tree: dict) -> dict:
        if self.mean <= 0:
            return tree
        return {path: self._pad(path, content) for path, content in tree.items()}

    def _pad(self, path: str, content: object) -> object:
        if not (path.endswith(".md") and isinstance(content, str)):
            return content
        size = int(self.random.lognormvariate(math.log(self.mean) - 0.32, 0.8))
        words: list[str] = []
        length = 0
        while length < size:
            line = " ".join(self.random.choices(self.words, k=12))
            words.append(line)
            length += len(line) + 1
        return content + "\n".join(words) + "\n"


def git_times(tree: Path, scratch: Path) -> tuple[float, float]:
    """``git add -A && git commit`` on a fresh repository of a copy of ``tree`` (made in
    ``scratch``), then ``git add -A`` again with nothing changed."""
    copy = scratch / "tree"
    shutil.copytree(tree, copy, symlinks=True)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.org",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.org",
    }

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(copy), *args], check=True, env=env, capture_output=True)

    git("init", "-q")
    # No automatic gc: after this many loose objects ``git commit`` starts a repack in the
    # background, which is not part of its time and would take a core from the import.
    git("config", "gc.auto", "0")
    git("config", "maintenance.auto", "false")
    os.sync()  # each timed step starts with nothing of the one before waiting to be written
    started = time.perf_counter()
    git("add", "-A")
    git("commit", "-q", "-m", "bench")
    first = time.perf_counter() - started
    os.sync()
    started = time.perf_counter()
    git("add", "-A")
    again = time.perf_counter() - started
    return first, again


def import_times(tree: Path) -> dict[str, float]:
    """The first import of ``tree`` and its re-import, in this process's store and database;
    also the CPU time of the first import's writing thread (this one), which does not depend
    on how busy the disk is."""
    from importer.services import import_paths

    os.sync()
    started = time.perf_counter()
    cpu = resource.getrusage(resource.RUSAGE_THREAD)
    first = import_paths([tree])
    middle = time.perf_counter()
    spent = resource.getrusage(resource.RUSAGE_THREAD)
    os.sync()
    restarted = time.perf_counter()
    again = import_paths([tree])
    ended = time.perf_counter()
    assert not first.failed and not again.failed, (first.failed[:3], again.failed[:3])
    return {
        "first": middle - started,
        "again": ended - restarted,
        "plugins": len(first.results),
        "writer_user": spent.ru_utime - cpu.ru_utime,
        "writer_system": spent.ru_stime - cpu.ru_stime,
    }


def import_round(tree: Path, home: Path, views: bool) -> dict[str, float]:
    """:func:`import_times` in a process of its own, on a new store and database in ``home``
    (``views``: with the type-folder views, the default, or without them)."""
    command = [sys.executable, __file__, "--import-only", "--home", str(home), str(tree)]
    env = {**os.environ, "SKILLMEAT_VIEWS": "true" if views else "false"}
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout.splitlines()[-1])


def compare(tree: Path, rounds: int, views: bool) -> None:
    """``rounds`` rounds of git then the import, each on fresh copies; everything made is
    removed only at the end (on ext4 the freeing of thousands of files just deleted slows the
    file creations that follow, by about 25% here, which would be charged to the next step)."""
    sizes = [p.stat().st_size for p in tree.rglob("*") if p.is_file()]
    scratch = Path(tempfile.mkdtemp(prefix="corpus-bench-rounds-"))
    mib = sum(sizes) / 2**20
    ratios, again = [], []
    try:
        for number in range(1, rounds + 1):
            git_first, git_again = git_times(tree, scratch / f"git-{number}")
            measured = import_round(tree, scratch / f"home-{number}", views)
            ratios.append(measured["first"] / git_first)
            again.append(measured["again"])
            if number == 1:
                mean = sum(sizes) / len(sizes) / 1024
                print(
                    f"tree: {measured['plugins']:.0f} plugins, {len(sizes)} files, "
                    f"{mib:.1f} MiB ({mean:.1f} KiB a file)"
                )
                print("type-folder views: " + ("written (the default)" if views else "off"))
            print(
                f"round {number}: git add -A && git commit {git_first:5.2f} s, "
                f"first import {measured['first']:5.2f} s (x{ratios[-1]:.2f}); "
                f"git add -A again {git_again:5.2f} s, re-import {measured['again']:5.2f} s "
                f"(x{measured['again'] / git_again:.0f}); "
                f"writer CPU {measured['writer_user']:.2f} s user "
                f"+ {measured['writer_system']:.2f} s system"
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"first import / git's commit, median of {rounds}: x{statistics.median(ratios):.2f}")
    print(f"re-import, median of {rounds}: {statistics.median(again):.2f} s")
    print("targets: first import <= git's commit (x1.00); re-import <= 3 s")


def scale(plugins: int, children: int) -> None:
    """Per-plugin import time by decile of a run of ``plugins`` imports."""
    from importer.services import import_paths
    from tests.conftest import write_tree
    from tests.plugins import synthetic_plugin

    root = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    times = []
    try:
        for index in range(plugins):
            folder = write_tree(root / f"p{index}", synthetic_plugin(f"p{index}", children))
            started = time.perf_counter()
            report = import_paths([folder])
            times.append((time.perf_counter() - started) * 1000)
            assert not report.failed, report.failed
    finally:
        shutil.rmtree(root, ignore_errors=True)
    size = max(plugins // 10, 1)
    deciles = [statistics.mean(times[i : i + size]) for i in range(0, plugins, size)][:10]
    print(f"{plugins} plugins x {children} children, ms per plugin by decile of the run:")
    print("  ".join(f"{value:.1f}" for value in deciles))
    print(f"last/first decile: x{deciles[-1] / deciles[0]:.2f} (target x1.10 at most)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, help="a tree to use instead")
    parser.add_argument("--plugins", type=int, default=200)
    parser.add_argument("--children", type=int, default=30)
    parser.add_argument(
        "--text-bytes",
        type=int,
        default=MARKDOWN_BYTES,
        help="mean size of a synthetic Markdown file (0: the bare few-line files)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of git then the import")
    parser.add_argument("--scale", action="store_true", help="per-plugin time by decile")
    parser.add_argument(
        "--no-views",
        action="store_true",
        help="import with SKILLMEAT_VIEWS=false: what the type-folder views cost",
    )
    parser.add_argument("--import-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.import_only:
        django_setup(home=options.home)
        _migrate()
        print(json.dumps(import_times(options.folder)))
        return
    if options.scale:
        home = django_setup()
        try:
            _migrate()
            scale(options.plugins, options.children)
        finally:
            shutil.rmtree(home, ignore_errors=True)
        return
    home = django_setup()  # the synthetic tree is written with the tests' helpers
    made = None if options.folder else Path(tempfile.mkdtemp(prefix="corpus-bench-"))
    try:
        tree = options.folder or synthetic_marketplace(
            made, options.plugins, options.children, options.text_bytes
        )
        compare(tree.resolve(), options.rounds, views=not options.no_views)
    finally:
        for folder in (made, home):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


if __name__ == "__main__":
    main()
