"""Hashing throughput: one 1 GiB file and 10,000 files of 2 KiB, hashed by the importer's
code and, for reference, by hashlib reading the same bytes in one plain loop.

    .venv/bin/python benchmarks/hash_bench.py [--size-mib 1024] [--files 10000]

Target: the importer reaches at least 0.8 of the plain loop on the large file.
"""

import argparse
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _setup import django_setup

CHUNK = 1024 * 1024


def best_of(runs: int, action: Callable[[], object]) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return min(timings)


def plain_file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb", buffering=0) as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def plain_tree_hash(root: Path) -> int:
    count = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            plain_file_hash(Path(dirpath) / name)
            count += 1
    return count


def make_big_file(path: Path, size_mib: int) -> None:
    block = os.urandom(CHUNK)
    with path.open("wb") as handle:
        for _ in range(size_mib):
            handle.write(block)


def make_small_files(root: Path, count: int) -> None:
    for index in range(count):
        folder = root / f"d{index // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{index:05d}.md").write_bytes(os.urandom(2048))


def line(label: str, mb_per_second: float, note: str = "") -> None:
    print(f"  {label:<24} {mb_per_second:8.1f} MB/s   {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    home = django_setup()
    from blobstore import blob_store
    from importer.hashing import Limits, hash_file, scan_tree
    from importer.storage import StagingArea

    work = Path(tempfile.mkdtemp(prefix="hash-bench-"))
    try:
        big = work / "big.bin"
        make_big_file(big, arguments.size_mib)
        small = work / "small"
        make_small_files(small, arguments.files)
        plain_file_hash(big)  # warm the page cache for both contenders
        megabytes = arguments.size_mib * CHUNK / 1e6
        plain = best_of(arguments.runs, lambda: plain_file_hash(big))
        ours = best_of(arguments.runs, lambda: hash_file(big))

        def staged() -> None:
            staging = StagingArea(blob_store(), "bench")
            staging.receive(big, Limits(), "big.bin")
            staging.cleanup()

        with_copy = best_of(arguments.runs, staged)
        print(f"large file ({arguments.size_mib} MiB):")
        line("hashlib plain loop", megabytes / plain)
        line("importer hash_file", megabytes / ours, f"ratio {plain / ours:.2f} (target >= 0.80)")
        line("importer hash + staging", megabytes / with_copy, "bytes copied to tmp/ in the pass")

        small_mb = arguments.files * 2048 / 1e6
        plain_small = best_of(arguments.runs, lambda: plain_tree_hash(small))
        ours_small = best_of(arguments.runs, lambda: scan_tree(small))
        print(f"{arguments.files} files of 2 KiB:")
        line(
            "hashlib plain loop",
            small_mb / plain_small,
            f"{arguments.files / plain_small:.0f} files/s",
        )
        line(
            "importer scan_tree",
            small_mb / ours_small,
            f"{arguments.files / ours_small:.0f} files/s, ratio {plain_small / ours_small:.2f}",
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
