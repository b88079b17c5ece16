"""MCP server configurations hold secrets in ``env`` values and ``headers``: readers who are
not staff see them masked, in the API and in the admin."""

from collections.abc import Mapping
from typing import Any

MASK = "********"
SECRET_KEYS = ("env", "headers")


def mask_configuration(configuration: Any) -> Any:
    """A copy of an MCP server configuration with every env value and header masked."""
    if not isinstance(configuration, Mapping):
        return configuration
    masked = dict(configuration)
    for key in SECRET_KEYS:
        values = masked.get(key)
        if isinstance(values, Mapping):
            masked[key] = dict.fromkeys(values, MASK)
    return masked


def configuration_for(metadata: Mapping[str, Any] | None, *, staff: bool) -> Any:
    """The configuration an MCP version recorded, masked unless the reader is staff."""
    configuration = (metadata or {}).get("configuration")
    if configuration is None or staff:
        return configuration
    return mask_configuration(configuration)
