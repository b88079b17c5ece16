"""Downloading an archive URL over HTTPS (DESIGN section 11): the system trust store (which
honours ``SSL_CERT_FILE``), redirects followed by hand so that each stays on https (and, for the
API and the admin, passes the guard again), the import's size limit on the bytes received, a
time limit on the whole download, and the ``sha256`` pin checked on the bytes."""

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import urllib3
from urllib3.exceptions import HTTPError

from importer.errors import FetchFailed, LimitExceeded, Rule
from importer.remote.guard import RemoteGuard
from importer.remote.spec import ArchiveSource

MAX_REDIRECTS = 5
CHUNK = 1024 * 1024
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Downloaded:
    path: Path
    sha256: str


@dataclass
class Download:
    source: ArchiveSource
    timeout: float
    max_bytes: int | None
    guard: RemoteGuard | None = None

    def save(self, dest: Path) -> Downloaded:
        """Write the archive to ``dest``; its digest. Nothing is kept when it fails."""
        deadline = time.monotonic() + self.timeout
        try:
            response = self._follow(deadline)
            digest = self._stream(response, dest, deadline)
        except HTTPError as error:
            dest.unlink(missing_ok=True)
            raise self._failed(_reason(error)) from None
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        if self.source.sha256 is not None and digest != self.source.sha256:
            dest.unlink(missing_ok=True)
            raise FetchFailed(
                f"archive's sha256 is {digest}, the pin says {self.source.sha256}",
                path=self.source.location,
                rule=Rule.PIN_MISMATCH,
            )
        return Downloaded(path=dest, sha256=digest)

    def _follow(self, deadline: float) -> urllib3.BaseHTTPResponse:
        url = self.source.url
        first_host = urlsplit(url).hostname
        for _ in range(MAX_REDIRECTS + 1):
            if urlsplit(url).scheme.lower() != "https":
                raise self._failed(f"a redirect left https ({_shown(url)})")
            response = self._open(url, deadline, send_auth=urlsplit(url).hostname == first_host)
            if response.status not in REDIRECTS:
                if response.status != 200:
                    response.release_conn()
                    raise self._failed(f"HTTP {response.status}")
                return response
            location = response.headers.get("Location", "")
            response.release_conn()
            url = urljoin(url, location)
        raise self._failed(f"more than {MAX_REDIRECTS} redirects")

    def _open(self, url: str, deadline: float, *, send_auth: bool) -> urllib3.BaseHTTPResponse:
        parts = urlsplit(url)
        headers = {"User-Agent": "skillmeat"}
        if send_auth and parts.username is not None:
            auth = f"{parts.username}:{parts.password or ''}"
            headers.update(urllib3.make_headers(basic_auth=auth))
        host = parts.hostname or ""
        port = parts.port or 443
        target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        timeout = urllib3.Timeout(total=max(deadline - time.monotonic(), 0.1))
        if self.guard is None:
            pool = urllib3.HTTPSConnectionPool(host, port, timeout=timeout, retries=False)
        else:
            address = self.guard.addresses(host, port, where=_shown(url))[0]
            pool = urllib3.HTTPSConnectionPool(
                address,
                port,
                timeout=timeout,
                retries=False,
                server_hostname=host,
                assert_hostname=host,
            )
            headers["Host"] = host if port == 443 else f"{host}:{port}"
        return pool.urlopen(
            "GET",
            target,
            headers=headers,
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )

    def _stream(self, response: urllib3.BaseHTTPResponse, dest: Path, deadline: float) -> str:
        digest = hashlib.sha256()
        received = 0
        try:
            with dest.open("wb") as out:
                for chunk in response.stream(CHUNK):
                    received += len(chunk)
                    if self.max_bytes is not None and received > self.max_bytes:
                        raise LimitExceeded(
                            f"download is larger than {self.max_bytes} bytes",
                            path=self.source.location,
                            rule=Rule.TOO_LARGE,
                        )
                    if time.monotonic() > deadline:
                        raise self._failed(f"timed out after {self.timeout:g} s")
                    digest.update(chunk)
                    out.write(chunk)
        finally:
            response.release_conn()
        return digest.hexdigest()

    def _failed(self, message: str) -> FetchFailed:
        return FetchFailed(
            f"cannot download: {message}",
            path=self.source.location,
            rule=Rule.FETCH_FAILED,
        )


def _shown(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _reason(error: Exception) -> str:
    reason = getattr(error, "reason", None) or error
    text = str(reason)
    if "timed out" in text.lower() or "timeout" in type(reason).__name__.lower():
        return "timed out"
    return text.split(": ", 1)[-1][:300]
