"""Fetching a git repository with the ``git`` command, safely: no hooks, no submodules, no LFS
downloads, no prompts, only https, ssh and file, a shallow fetch of the one commit needed into
a bare mirror under ``$SKILLMEAT_HOME/cache/git/`` (so the next fetch is incremental), a
checkout of only the subfolder asked for, within a time limit and the import's size limits.

git runs with the operator's environment and configuration (credential helpers, ``insteadOf``
rewrites); the URL it is given is never written to the mirror's configuration."""

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from artifacts.masking import mask_urls
from importer.errors import FetchFailed, LimitExceeded, Rule, ValidationFailed
from importer.hashing import Limits
from importer.remote.spec import GitSource

ALLOWED_PROTOCOLS = "https:ssh:file"
POLL_SECONDS = 0.2
# Configuration every git call runs with, whatever the operator's files say.
SAFE_CONFIG = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "submodule.recurse=false",
    "fetch.recurseSubmodules=false",
    "filter.lfs.smudge=",
    "filter.lfs.process=",
    "filter.lfs.required=false",
    "gc.auto=0",
    "maintenance.auto=false",
    "transfer.fsckObjects=true",
    "advice.detachedHead=false",
)


@dataclass(frozen=True)
class FetchSettings:
    """How a fetch may run: its time limit, the import's size limits, and, for a fetch on
    behalf of the API or the admin, the addresses git must connect to."""

    cache: Path
    timeout: float
    limits: Limits
    guarded: bool = False  # no redirects; addresses pinned (``resolve``)
    resolve: tuple[str, ...] = ()  # ``host:port:address`` entries for libcurl


@dataclass(frozen=True)
class FetchedTree:
    root: Path
    commit: str


@dataclass
class Git:
    """One git invocation at a time, killed with its children when over time or size."""

    settings: FetchSettings
    git_dir: Path | None
    # What git's messages must not show, and what to show instead (a URL without credentials).
    replacements: Sequence[tuple[str, str]] = field(default_factory=tuple)

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            GIT_TERMINAL_PROMPT="0",
            GIT_ALLOW_PROTOCOL=ALLOWED_PROTOCOLS,
            GIT_LFS_SKIP_SMUDGE="1",
        )
        if self.git_dir is not None:
            env["GIT_DIR"] = str(self.git_dir)
        env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        return env

    def command(self, args: Sequence[str]) -> list[str]:
        config = list(SAFE_CONFIG)
        if self.settings.guarded:
            config.append("http.followRedirects=false")
            config.extend(f"http.curloptResolve={entry}" for entry in self.settings.resolve)
        return ["git", *(item for pair in config for item in ("-c", pair)), *args]

    def run(
        self, args: Sequence[str], *, watch: Path | None = None, env: dict[str, str] | None = None
    ) -> str:
        """Run git; its stdout. Raises :class:`GitError` with git's message (credentials
        removed) when it fails, :class:`LimitExceeded` when ``watch`` grows past the limit."""
        budget = _Budget(self.settings, watch)
        process = subprocess.Popen(
            self.command(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**self.environment(), **(env or {})},
            start_new_session=True,
        )
        while True:
            try:
                out, err = process.communicate(timeout=POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                problem = budget.exceeded()
                if problem is not None:
                    _kill(process)
                    raise problem from None
        if process.returncode != 0:
            raise GitError(self.scrub(err.decode("utf-8", "replace")))
        return out.decode("utf-8", "replace")

    def scrub(self, text: str) -> str:
        for secret, shown in self.replacements:
            if secret:
                text = text.replace(secret, shown)
        lines = [line for line in mask_urls(text).splitlines() if line.strip()]
        return "; ".join(lines[-3:]) or "git failed"


class GitError(Exception):
    """A git command failed; the message is git's own, without credentials."""


class _Budget:
    def __init__(self, settings: FetchSettings, watch: Path | None) -> None:
        self.deadline = time.monotonic() + settings.timeout
        self.timeout = settings.timeout
        self.max_bytes = settings.limits.max_total_bytes if watch else None
        self.watch = watch
        self.start_bytes = _size_of(watch) if watch and self.max_bytes else 0

    def exceeded(self) -> Exception | None:
        if time.monotonic() > self.deadline:
            return GitError(f"timed out after {self.timeout:g} s")
        if self.watch is not None and self.max_bytes is not None:
            grown = _size_of(self.watch) - self.start_bytes
            if grown > self.max_bytes:
                return LimitExceeded(
                    f"download is larger than {self.max_bytes} bytes",
                    rule=Rule.TOO_LARGE,
                )
        return None


def _size_of(folder: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


class Mirror:
    """The cached bare repository of one location (credentials never part of its key)."""

    def __init__(self, source: GitSource, settings: FetchSettings) -> None:
        key = hashlib.sha256(source.location.encode()).hexdigest()[:32]
        self.source = source
        self.settings = settings
        self.path = settings.cache / f"{key}.git"
        self.lock = FileLock(settings.cache / f"{key}.lock")
        self.git = Git(settings, self.path, replacements=hidden(source))

    def prepare(self) -> None:
        self.settings.cache.mkdir(parents=True, exist_ok=True)
        if not (self.path / "HEAD").is_file():
            shutil.rmtree(self.path, ignore_errors=True)
            subprocess.run(
                ["git", "init", "--quiet", "--bare", str(self.path)],
                check=True,
                capture_output=True,
                env={**os.environ, "GIT_DIR": str(self.path)},
            )

    def has_commit(self, commit: str) -> bool:
        try:
            self.git.run(["cat-file", "-e", f"{commit}^{{commit}}"])
        except GitError:
            return False
        return True

    def fetch(self, what: str, *, shallow: bool = True) -> str:
        """Fetch one ref or commit; the commit it is now at in the mirror."""
        target = f"refs/skillmeat/{hashlib.sha256(what.encode()).hexdigest()[:24]}"
        depth = ["--depth=1"] if shallow else []
        self.git.run(
            [
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--no-recurse-submodules",
                "--no-auto-gc",
                *depth,
                "--",
                self.source.url,
                f"+{what}:{target}",
            ],
            watch=self.path / "objects",
        )
        return self.git.run(["rev-parse", "--verify", f"{target}^{{commit}}"]).strip()

    def resolve(self) -> str:
        """The commit to import: the pin, or what the ref (or HEAD) is now."""
        source = self.source
        try:
            if source.sha is None:
                return self.fetch(source.ref or "HEAD")
            if self.has_commit(source.sha):
                return source.sha
            return self._fetch_pin(source.sha)
        except GitError as error:
            raise self.failed(str(error)) from None

    def _fetch_pin(self, sha: str) -> str:
        with contextlib.suppress(GitError):
            if self.fetch(sha) == sha:
                return sha
        if self.source.ref:
            with contextlib.suppress(GitError):
                self.fetch(self.source.ref, shallow=False)
                if self.has_commit(sha):
                    return sha
        self.fetch(self.source.ref or "HEAD")  # the repository answers: the pin is what is wrong
        raise FetchFailed(
            f"commit {sha} is not in {self.source.location}",
            path=self.source.describe(),
            rule=Rule.PIN_MISMATCH,
        )

    def failed(self, message: str) -> FetchFailed:
        return FetchFailed(
            f"cannot fetch: {message}",
            path=self.source.describe(),
            rule=Rule.FETCH_FAILED,
        )

    def check_tree(self, commit: str) -> str:
        """The tree to check out (the subfolder's), refused before anything is written when
        it is missing or over the import's limits."""
        tree = f"{commit}:{self.source.path}" if self.source.path else f"{commit}^{{tree}}"
        try:
            kind = self.git.run(["cat-file", "-t", tree]).strip()
        except GitError:
            kind = ""
        if kind != "tree":
            raise ValidationFailed(
                f"no folder {self.source.path!r} in {self.source.location} at {commit[:12]}",
                path=self.source.describe(),
                rule=Rule.NOT_FOUND,
            )
        listing = self.git.run(["ls-tree", "-r", "-l", "-z", tree])
        _check_listing(listing, self.settings.limits, self.source.describe())
        return tree

    def checkout(self, tree: str, dest: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="index-", dir=dest.parent) as scratch:
            env = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}
            self.git.run(["read-tree", tree], env=env)
            self.git.run(
                ["-c", "core.bare=false", "--work-tree", str(dest), "checkout-index", "-a", "-f"],
                env=env,
            )


def hidden(source: GitSource) -> tuple[tuple[str, str], ...]:
    """The URL as typed (credentials and all) is shown as its location; user info alone too."""
    netloc = source.url.split("://", 1)[-1].split("/", 1)[0]
    userinfo = netloc.rpartition("@")[0] if "://" in source.url else ""
    return ((source.url, source.location), (userinfo, "********"))


def _check_listing(listing: str, limits: Limits, where: str) -> None:
    files = 0
    total = 0
    for entry in filter(None, listing.split("\0")):
        meta, _, _ = entry.partition("\t")
        _, kind, _, size = meta.split(None, 3)
        if kind != "blob":
            continue
        files += 1
        total += int(size)
    if limits.max_files is not None and files > limits.max_files:
        raise LimitExceeded(
            f"{files} files, more than {limits.max_files}", path=where, rule=Rule.TOO_MANY_FILES
        )
    if limits.max_total_bytes is not None and total > limits.max_total_bytes:
        raise LimitExceeded(
            f"{total} bytes, more than {limits.max_total_bytes}", path=where, rule=Rule.TOO_LARGE
        )


@contextlib.contextmanager
def fetched_repository(
    source: GitSource, settings: FetchSettings, *, tmp: Path
) -> Iterator[FetchedTree]:
    """The tree of ``source`` (its subfolder only) checked out in a temporary folder named
    after the repository or subfolder, removed when the block ends."""
    mirror = Mirror(source, settings)
    tmp.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="git-", dir=tmp) as scratch:
        dest = Path(scratch) / _folder_name(source)
        dest.mkdir()
        settings.cache.mkdir(parents=True, exist_ok=True)
        with mirror.lock:
            mirror.prepare()
            commit = mirror.resolve()
            try:
                tree = mirror.check_tree(commit)
                mirror.checkout(tree, dest)
            except GitError as error:
                raise mirror.failed(str(error)) from None
        yield FetchedTree(root=dest, commit=commit)


def _folder_name(source: GitSource) -> str:
    """What a manifest-less plugin at the top of the tree is named after."""
    if source.path:
        return source.path.rsplit("/", 1)[-1]
    tail = source.location.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    name = tail.removesuffix(".git") or "repository"
    return name if name not in (".", "..") else "repository"


def upstream_commit(source: GitSource, settings: FetchSettings) -> str:
    """The commit ``source`` names upstream now, fetched into the mirror (no checkout)."""
    mirror = Mirror(source, settings)
    settings.cache.mkdir(parents=True, exist_ok=True)
    with mirror.lock:
        mirror.prepare()
        return mirror.resolve()


def same_folder(source: GitSource, settings: FetchSettings, old: str, new: str) -> bool:
    """Whether ``source``'s folder is the same tree at both commits (False when the mirror no
    longer has the old one)."""
    mirror = Mirror(source, settings)
    suffix = f":{source.path}" if source.path else "^{tree}"
    try:
        trees = {
            mirror.git.run(["rev-parse", "--verify", f"{c}{suffix}"]).strip() for c in (old, new)
        }
    except GitError:
        return False
    return len(trees) == 1
