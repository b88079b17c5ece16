"""What the API and the admin may fetch (DESIGN section 11): https only, from the hosts in
``SKILLMEAT_REMOTE_HOSTS``, never from loopback, link-local or private addresses (checked after
name resolution, and again on every redirect of a download). The check runs before anything is
fetched or queued; a refused source is a 400 at once.

A git URL that the operator's own git configuration rewrites (``url.<base>.insteadOf``) goes
where the operator sent it: its host must still be allowed, but the address check applies to
URLs that git would really connect to as given."""

import ipaddress
import os
import socket
import subprocess
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from importer.errors import RemoteRefused, Rule
from importer.remote.spec import GitSource, RemoteSource


@dataclass(frozen=True)
class Destination:
    host: str
    port: int
    addresses: tuple[str, ...]  # empty: the operator's git configuration decides

    def curl_resolve(self) -> tuple[str, ...]:
        """``http.curloptResolve`` entries that pin git to the addresses checked."""
        if not self.addresses:
            return ()
        return (f"{self.host}:{self.port}:{','.join(self.addresses)}",)


@dataclass(frozen=True)
class RemoteGuard:
    hosts: frozenset[str]

    @classmethod
    def from_settings(cls) -> "RemoteGuard":
        return cls(frozenset(h.strip().lower() for h in settings.SKILLMEAT_REMOTE_HOSTS if h))

    def check(self, source: RemoteSource, where: str = "url") -> Destination:
        """The destination of ``source``, or :class:`RemoteRefused` naming the rule."""
        parts = urlsplit(source.url)
        if parts.scheme.lower() != "https" or not parts.hostname:
            raise _refused(where, "only https:// sources are fetched here")
        host = parts.hostname.lower()
        if host not in self.hosts:
            allowed = ", ".join(sorted(self.hosts)) or "none"
            raise _refused(where, f"host {host!r} is not allowed (allowed: {allowed})")
        port = parts.port or 443
        if isinstance(source, GitSource) and rewritten_by_git(source.url):
            return Destination(host=host, port=port, addresses=())
        return Destination(host=host, port=port, addresses=self.addresses(host, port, where))

    def addresses(self, host: str, port: int, where: str) -> tuple[str, ...]:
        """Every address ``host`` resolves to; refused unless all are public."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            raise _refused(where, f"cannot resolve {host!r}: {error}") from None
        found = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in found:
            if not is_public(address):
                raise _refused(where, f"{host!r} resolves to a non-public address ({address})")
        if not found:
            raise _refused(where, f"cannot resolve {host!r}")
        return found


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def rewritten_by_git(url: str) -> bool:
    """Whether the operator's git configuration rewrites ``url`` (``insteadOf``)."""
    result = subprocess.run(
        ["git", "ls-remote", "--get-url", "--", url],
        capture_output=True,
        text=True,
        timeout=30,
        env={k: v for k, v in os.environ.items() if k != "GIT_DIR"},
        check=False,
    )
    return result.returncode == 0 and result.stdout.strip() != url


def _refused(where: str, message: str) -> RemoteRefused:
    return RemoteRefused(message, path=where, rule=Rule.REMOTE_NOT_ALLOWED)
