"""One entry point for fetching a remote source into a temporary place: a git checkout (the
folder) or a downloaded archive (the file), with the origin to record for what it holds."""

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from artifacts.models import OriginKind
from importer.hashing import Limits
from importer.origin import Origin
from importer.remote.download import Download
from importer.remote.gitfetch import FetchSettings, fetched_repository
from importer.remote.guard import RemoteGuard
from importer.remote.spec import ArchiveSource, GitSource, RemoteSource


@dataclass(frozen=True)
class Fetcher:
    """How remote sources are fetched for one import run."""

    limits: Limits
    tmp: Path
    guard: RemoteGuard | None = None  # the API's and the admin's rules; None on the CLI
    timeout: float | None = None

    @property
    def cache(self) -> Path:
        return Path(settings.SKILLMEAT_HOME) / "cache" / "git"

    def fetch_settings(self, source: GitSource) -> FetchSettings:
        timeout = self.timeout or settings.SKILLMEAT_FETCH_TIMEOUT
        if self.guard is None:
            return FetchSettings(cache=self.cache, timeout=timeout, limits=self.limits)
        destination = self.guard.check(source, where=source.describe())
        return FetchSettings(
            cache=self.cache,
            timeout=timeout,
            limits=self.limits,
            guarded=True,
            resolve=destination.curl_resolve(),
        )

    @contextlib.contextmanager
    def fetched(self, source: RemoteSource) -> Iterator[tuple[Path, Origin]]:
        """The fetched folder (git) or archive file (url), and its origin; removed after."""
        if isinstance(source, GitSource):
            with fetched_repository(source, self.fetch_settings(source), tmp=self.tmp) as tree:
                origin = Origin(
                    kind=OriginKind.GIT,
                    location=source.location,
                    ref=source.ref or source.sha,  # the ref asked for; a pin is one too
                    commit=tree.commit,
                    path=source.path or None,
                )
                yield tree.root, origin
            return
        with self._downloaded(source) as (path, digest):
            yield path, Origin(kind=OriginKind.URL, location=source.location, sha256=digest)

    @contextlib.contextmanager
    def _downloaded(self, source: ArchiveSource) -> Iterator[tuple[Path, str]]:
        if self.guard is not None:
            self.guard.check(source, where=source.location)
        download = Download(
            source,
            timeout=self.timeout or settings.SKILLMEAT_FETCH_TIMEOUT,
            max_bytes=self.limits.max_total_bytes,
            guard=self.guard,
        )
        self.tmp.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="download-", dir=self.tmp) as folder:
            saved = download.save(Path(folder) / source.filename)
            yield saved.path, saved.sha256
