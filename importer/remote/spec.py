"""Remote sources (DESIGN section 11): what a text names when it is not a local path, and what a
marketplace entry's source object asks to fetch. A git repository (``https://``, ``ssh://``,
``git@host:path``, ``github:owner/repo``, ``file://``) with an optional ``@ref`` and ``#path``,
or an archive URL with an optional ``#sha256=`` pin."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from artifacts.masking import strip_url_secrets
from importer.errors import Rule, ValidationFailed

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")
GIT_SCHEMES = ("https", "http", "ssh", "git", "file")
SCP_LIKE = re.compile(r"^(?P<user>[A-Za-z0-9._-]+)@(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/].*)$")
GITHUB_SHORT = re.compile(r"^github:(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)$")
COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# A ref git accepts and no command line can mistake for an option.
REF = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/+-]{1,250}(?<![./])$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class GitSource:
    """A git repository, a ref to resolve (None: the remote's HEAD), an exact commit (a pin),
    and a subfolder."""

    url: str  # as git is given it, credentials included when the user wrote them
    ref: str | None = None
    sha: str | None = None
    path: str = ""

    kind = "git"

    @property
    def location(self) -> str:
        """The URL as recorded and shown: no user info, no token-like query values."""
        return strip_url_secrets(self.url, replacement="")

    def describe(self) -> str:
        text = self.location
        if self.ref:
            text += f"@{self.ref}"
        if self.path:
            text += f"#{self.path}"
        return text


@dataclass(frozen=True)
class ArchiveSource:
    """An archive over HTTPS, with the SHA-256 its bytes must have (a pin)."""

    url: str
    sha256: str | None = None

    kind = "url"

    @property
    def location(self) -> str:
        return strip_url_secrets(self.url, replacement="")

    @property
    def filename(self) -> str:
        return urlsplit(self.url).path.rsplit("/", 1)[-1] or "archive.zip"

    def describe(self) -> str:
        return self.location


RemoteSource = GitSource | ArchiveSource


def looks_remote(text: str) -> bool:
    """Whether a command-line argument names a remote source rather than a local path."""
    return bool(SCHEME.match(text) or text.startswith("github:") or SCP_LIKE.match(text))


def parse_remote(text: str, *, where: str = "source") -> RemoteSource:
    """The remote source a text names; ``bad_source`` when it names none we can fetch."""
    text = text.strip()
    if text.startswith("-"):
        raise _bad(where, "a source must not start with '-'")
    body, _, fragment = text.partition("#")
    if (short := GITHUB_SHORT.match(body.rsplit("@", 1)[0])) is not None:
        ref = body.rsplit("@", 1)[1] if body.count("@") else None
        url = f"https://github.com/{short['repo']}.git"
        return _git(url, ref=ref, path=fragment, where=where)
    if (scp := SCP_LIKE.match(body)) is not None:
        repo, ref = _split_ref(scp["path"])
        return _git(f"{scp['user']}@{scp['host']}:{repo}", ref=ref, path=fragment, where=where)
    parts = urlsplit(body)
    scheme = parts.scheme.lower()
    if scheme == "https" and parts.path.lower().endswith(ARCHIVE_SUFFIXES):
        return _archive(body, fragment, where)
    if scheme not in GIT_SCHEMES or (scheme != "file" and not parts.hostname):
        raise _bad(where, f"not a git URL or an https archive URL: {strip_url_secrets(text)}")
    repo_path, ref = _split_ref(parts.path)
    url = body[: len(body) - len(parts.path)] + repo_path if ref else body
    return _git(url, ref=ref, path=fragment, where=where)


def _split_ref(path: str) -> tuple[str, str | None]:
    """``/owner/repo@main`` -> (``/owner/repo``, ``main``): the last ``@`` of the path."""
    if "@" not in path:
        return path, None
    repo, ref = path.rsplit("@", 1)
    return repo, ref


def _git(url: str, *, ref: str | None, path: str, where: str) -> GitSource:
    commit = None
    if ref is not None:
        check_ref(ref, where)
        if COMMIT.match(ref):
            ref, commit = None, ref
    return GitSource(url=url, ref=ref, sha=commit, path=check_subpath(path, where))


def _archive(url: str, fragment: str, where: str) -> ArchiveSource:
    if not fragment:
        return ArchiveSource(url=url)
    key, _, value = fragment.partition("=")
    if key != "sha256" or not SHA256.match(value.lower()):
        raise _bad(where, "an archive URL's fragment must be '#sha256=<64 hex characters>'")
    return ArchiveSource(url=url, sha256=value.lower())


def check_ref(ref: str, where: str) -> str:
    if not REF.match(ref):
        raise _bad(where, f"not a usable git ref: {ref!r}")
    return ref


def check_subpath(path: str, where: str) -> str:
    """A subfolder of a repository: relative, no ``..``, no empty segment."""
    path = path.strip().removeprefix("./").strip("/")
    if not path:
        return ""
    segments = path.split("/")
    if any(s in ("", ".", "..") for s in segments) or "\\" in path or "\x00" in path:
        raise ValidationFailed(
            f"a repository subfolder must be a relative path without '..': {path!r}",
            path=where,
            rule=Rule.PATH_ESCAPES,
        )
    return path


def _bad(where: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, path=where, rule=Rule.BAD_SOURCE)


# Marketplace entries --------------------------------------------------------------------


@dataclass(frozen=True)
class NotFetched:
    """An entry whose source is never fetched (npm, a command), with the reason."""

    reason: str


def entry_remote(source: Any, where: str) -> "RemoteSource | NotFetched":
    """The remote source of a marketplace entry's ``source`` (an object, or a URL string)."""
    if isinstance(source, str):
        remote = parse_remote(source, where=where)
        return remote
    if not isinstance(source, Mapping):
        raise ValidationFailed(
            "source must be a relative path or a source object",
            path=where,
            rule=Rule.BAD_MARKETPLACE,
        )
    kind = source.get("source")
    if kind == "npm":
        return NotFetched("npm source: npm packages are not fetched")
    if kind not in ENTRY_KINDS:
        return NotFetched(f"source kind {kind!r} is not fetched")
    return ENTRY_KINDS[kind](source, f"{where}.source")


def _text(source: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = source.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(
            f"source field {key!r} must be a non-empty string",
            path=f"{where}.{key}",
            rule=Rule.BAD_MARKETPLACE,
        )
    return value.strip()


def _pins(git: GitSource, source: Mapping[str, Any], where: str) -> GitSource:
    ref = _text(source, "ref", where) or None
    sha = _text(source, "sha", where).lower() or None
    if ref is not None:
        check_ref(ref, f"{where}.ref")
    if sha is not None and not COMMIT.match(sha):
        raise ValidationFailed(
            "sha must be a full commit hash (40 hex characters)",
            path=f"{where}.sha",
            rule=Rule.BAD_MARKETPLACE,
        )
    return replace(git, ref=ref or git.ref, sha=sha or git.sha)


def _github(source: Mapping[str, Any], where: str) -> GitSource:
    repo = _text(source, "repo", where, required=True)
    if not GITHUB_SHORT.match(f"github:{repo}"):
        raise _bad(f"{where}.repo", f"not an owner/repo name: {repo!r}")
    return _pins(GitSource(url=f"https://github.com/{repo}.git"), source, where)


def _git_url(source: Mapping[str, Any], where: str) -> GitSource:
    remote = parse_remote(_text(source, "url", where, required=True), where=f"{where}.url")
    if not isinstance(remote, GitSource):
        raise _bad(f"{where}.url", "a 'url' source names a git repository, not an archive")
    return _pins(remote, source, where)


def _git_subdir(source: Mapping[str, Any], where: str) -> GitSource:
    git = _git_url(source, where)
    subpath = check_subpath(_text(source, "path", where, required=True), f"{where}.path")
    return replace(git, path=subpath)


def _archive_entry(source: Mapping[str, Any], where: str) -> ArchiveSource:
    remote = parse_remote(_text(source, "url", where, required=True), where=f"{where}.url")
    if not isinstance(remote, ArchiveSource):
        raise _bad(f"{where}.url", "an 'archive' source must be an https .zip/.tar.gz/.tgz URL")
    digest = _text(source, "sha256", where).lower() or remote.sha256
    if digest is not None and not SHA256.match(digest):
        raise ValidationFailed(
            "sha256 must be 64 hex characters", path=f"{where}.sha256", rule=Rule.BAD_MARKETPLACE
        )
    return replace(remote, sha256=digest)


ENTRY_KINDS = {
    "github": _github,
    "url": _git_url,
    "git-subdir": _git_subdir,
    "archive": _archive_entry,
}
