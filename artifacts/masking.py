"""What readers who are not staff must not see (DESIGN section 8): MCP secrets in every form
(``env`` and ``headers`` as maps or lists, credentials in URLs, ``args`` values that follow a
flag named like a secret), the content hashes that would let them test guesses of a masked
value, and server paths. Staff see everything."""

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "********"
SECRET_KEYS = ("env", "headers")
SECRET_NAME = re.compile(
    r"(?i)(api[-_]?key|apikey|token|secret|passw(or)?d|pwd|auth|credential|private[-_]?key|"
    r"access[-_]?key|signature|sig|session|cookie|bearer)"
)
URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"']+")
# Files whose bytes declare MCP servers: their blob hashes are not shown to readers either.
MCP_DECLARING_FILES = (".mcp.json", ".claude-plugin/plugin.json")


def mask_configuration(configuration: Any) -> Any:
    """A copy of an MCP server configuration with every secret masked."""
    if not isinstance(configuration, Mapping):
        return mask_urls(configuration)
    masked = {key: mask_urls(value) for key, value in configuration.items()}
    for key in SECRET_KEYS:
        if key in masked:
            masked[key] = _mask_values(configuration[key])
    if isinstance(masked.get("args"), list):
        masked["args"] = mask_args(masked["args"])
    return masked


def _mask_values(values: Any) -> Any:
    """``{"K": "v"}`` -> ``{"K": MASK}``; ``["K=v"]`` -> ``["K=MASK"]``; ``[{"name", "value"}]``
    keeps each name and masks the rest."""
    if isinstance(values, Mapping):
        return dict.fromkeys(values, MASK)
    if isinstance(values, list):
        return [_mask_item(item) for item in values]
    return MASK


def _mask_item(item: Any) -> Any:
    if isinstance(item, str):
        name, separator, _ = item.partition("=") if "=" in item else item.partition(":")
        return f"{name}{separator}{MASK}" if separator else MASK
    if isinstance(item, Mapping):
        return {k: (v if k in ("name", "key") else MASK) for k, v in item.items()}
    return MASK


def mask_args(args: list[Any]) -> list[Any]:
    """Mask the value after (or in) a flag named like a secret: ``--api-key X``,
    ``--token=X``."""
    masked: list[Any] = []
    hide_next = False
    for arg in args:
        if hide_next:
            masked.append(MASK)
            hide_next = False
            continue
        if isinstance(arg, str) and arg.startswith("-") and SECRET_NAME.search(arg):
            flag, separator, _ = arg.partition("=")
            if separator:
                masked.append(f"{flag}={MASK}")
            else:
                masked.append(arg)
                hide_next = True
            continue
        masked.append(arg)
    return masked


def mask_urls(value: Any) -> Any:
    """Every URL in a value (recursively) without user info and token-like query values."""
    if isinstance(value, str):
        return URL_IN_TEXT.sub(lambda match: strip_url_secrets(match.group(0)), value)
    if isinstance(value, Mapping):
        return {k: mask_urls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_urls(v) for v in value]
    return value


def strip_url_secrets(url: str, *, replacement: str = MASK) -> str:
    """``https://user:token@host/p?api_key=x&q=1`` -> ``https://MASK@host/p?api_key=MASK&q=1``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return replacement
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{replacement}@{host}{port}" if replacement else f"{host}{port}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, replacement if SECRET_NAME.search(k) else v) for k, v in pairs], safe="*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def configuration_for(metadata: Mapping[str, Any] | None, *, staff: bool) -> Any:
    """The configuration an MCP version recorded, masked unless the reader is staff."""
    configuration = (metadata or {}).get("configuration")
    if configuration is None or staff:
        return configuration
    return mask_configuration(configuration)


def hash_for(content_hash: str | None, artifact_type: str, *, staff: bool) -> str | None:
    """An MCP server's content hash commits to its secrets: readers see it masked."""
    if content_hash is None or staff or artifact_type != "mcp":
        return content_hash
    return MASK


def blob_hash_for(
    blob_hash: str,
    path: str,
    version_metadata: Mapping[str, Any],
    artifact_type: str,
    *,
    staff: bool,
) -> str:
    """The blob hash of a file that declares MCP servers is masked for readers."""
    if staff:
        return blob_hash
    return MASK if declares_mcp(path, version_metadata, artifact_type) else blob_hash


def declares_mcp(path: str, version_metadata: Mapping[str, Any], artifact_type: str) -> bool:
    """Whether a file's bytes declare MCP servers (an MCP server's own file, ``.mcp.json``,
    ``plugin.json``, a file a manifest names in ``mcpServers``)."""
    if artifact_type == "mcp" or path.endswith(MCP_DECLARING_FILES):
        return True
    return path in version_metadata.get("mcp_files", ())


def source_for(source: str, *, staff: bool) -> str:
    """Where a version came from: a server path only for staff; URLs without credentials."""
    if staff:
        return source
    if "://" in source or source.startswith(("upload:", "admin upload:")):
        return mask_urls(source)
    return MASK


def origin_for(origin: Mapping[str, Any] | None, *, staff: bool) -> Mapping[str, Any] | None:
    """A version's origin: local paths (a folder, an archive, a ``file://`` repository, a local
    marketplace) only for staff."""
    if origin is None or staff:
        return origin
    shown = dict(origin)
    if origin.get("kind") != "upload":
        shown["location"] = _remote_or_masked(origin.get("location") or "")
    market = origin.get("marketplace")
    if market:
        shown["marketplace"] = {**market, "location": _remote_or_masked(market["location"])}
    return shown


def _remote_or_masked(location: str) -> str:
    remote = "://" in location and not location.lower().startswith("file:")
    return mask_urls(location) if remote or location.startswith("git@") else MASK
