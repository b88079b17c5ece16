"""Import throughput against git on the same tree, in the same run: a synthetic marketplace of
N plugins x K children (some children shared between plugins; Markdown files of realistic size,
about 6.5 KiB on average like the real marketplaces), or any folder given; git's
``add -A && commit`` then ``add -A`` again on a copy of that tree; then the first import and the
re-import of it. Prints the four times and the two ratios (targets: first import <= git's
commit, re-import <= 3 s). ``--scale`` instead imports N plugins one by one and prints the
per-plugin time by decile of the run (target: last decile at most x1.10 of the first).

    .venv/bin/python benchmarks/corpus_bench.py [--plugins 200] [--children 30] [FOLDER]
        [--text-bytes 6500]   # the mean size of a synthetic Markdown file (0: a few lines)
    .venv/bin/python benchmarks/corpus_bench.py --scale [--plugins 1000] [--children 30]
"""

import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _setup import django_setup

SHARED_EVERY = 5  # every fifth plugin carries the shared children too


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


def import_times(tree: Path) -> tuple[float, float, int]:
    from importer.services import import_paths

    os.sync()
    started = time.perf_counter()
    first = import_paths([tree])
    middle = time.perf_counter()
    os.sync()
    restarted = time.perf_counter()
    again = import_paths([tree])
    ended = time.perf_counter()
    assert not first.failed and not again.failed, (first.failed[:3], again.failed[:3])
    return middle - started, ended - restarted, len(first.results)


def compare(tree: Path) -> None:
    sizes = [p.stat().st_size for p in tree.rglob("*") if p.is_file()]
    scratch = Path(tempfile.mkdtemp(prefix="git-bench-"))
    git_first, git_again = git_times(tree, scratch)
    first, again, plugins = import_times(tree)
    # Removed only now: on ext4 the freeing of thousands of files just deleted slows the
    # file creations that follow (by about 25% here), which would be charged to the import.
    shutil.rmtree(scratch, ignore_errors=True)
    mib = sum(sizes) / 2**20
    print(f"tree: {plugins} plugins, {len(sizes)} files, {mib:.1f} MiB")
    print(f"git add -A && git commit  {git_first:8.2f} s")
    print(f"git add -A (again)        {git_again:8.2f} s")
    print(f"first import              {first:8.2f} s   x{first / git_first:.2f} of git's commit")
    print(f"re-import                 {again:8.2f} s   x{again / git_again:.2f} of git's add")
    print("targets: first import <= git's commit (x1.00); re-import <= 3 s")


def scale(plugins: int, children: int) -> None:
    """Per-plugin import time by decile of a run of ``plugins`` imports."""
    from importer.services import import_paths
    from tests.conftest import write_tree
    from tests.plugins import synthetic_plugin

    root = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    times = []
    for index in range(plugins):
        folder = write_tree(root / f"p{index}", synthetic_plugin(f"p{index}", children))
        started = time.perf_counter()
        report = import_paths([folder])
        times.append((time.perf_counter() - started) * 1000)
        assert not report.failed, report.failed
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
        default=6500,
        help="mean size of a synthetic Markdown file (0: the bare few-line files)",
    )
    parser.add_argument("--scale", action="store_true", help="per-plugin time by decile")
    options = parser.parse_args()
    django_setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if options.scale:
        scale(options.plugins, options.children)
        return
    tree = options.folder or synthetic_marketplace(
        Path(tempfile.mkdtemp(prefix="corpus-bench-")),
        options.plugins,
        options.children,
        options.text_bytes,
    )
    compare(tree.resolve())


if __name__ == "__main__":
    main()
