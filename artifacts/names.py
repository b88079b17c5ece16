"""The name rule (DESIGN section 2). Plugin, collection, child and MCP server names become
paths (``plugins/<name>/``, ``mcp/<name>.json``, ``.claude/commands/<name>.md``), so a name
must not be able to leave its folder, collide with another's path, hide what it is from a
reader (bidi overrides, zero-width characters) or exceed what filesystems take."""

import unicodedata

from django.core.exceptions import ValidationError

MAX_SEGMENT_BYTES = 255
MAX_NAME_CHARACTERS = 512
# Only command and agent names may hold "/", their namespace separator.
NAMESPACED_TYPES = frozenset({"command", "agent"})


def unprintable_character(text: str) -> str | None:
    """The first control (Cc) or format (Cf) character of ``text``, as ``U+XXXX``."""
    for character in text:
        if unicodedata.category(character) in ("Cc", "Cf"):
            return f"U+{ord(character):04X}"
    return None


def name_problem(name: object, *, allow_slash: bool = False) -> str | None:
    """Why ``name`` cannot be used, or None when it can."""
    if not isinstance(name, str) or not name.strip():
        return "must be a non-empty string"
    if "\\" in name:
        return "contains a backslash"
    hidden = unprintable_character(name)
    if hidden:
        return f"contains a control or format character ({hidden})"
    if len(name) > MAX_NAME_CHARACTERS:
        return f"is longer than {MAX_NAME_CHARACTERS} characters"
    if "/" in name and not allow_slash:
        return "contains '/'"
    return _segment_problem(name.split("/"))


def _segment_problem(segments: list[str]) -> str | None:
    if any(segment in ("", ".", "..") for segment in segments):
        return "has an empty, '.' or '..' path segment"
    if any(len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES for segment in segments):
        return f"has a segment longer than {MAX_SEGMENT_BYTES} bytes in UTF-8"
    if any(segment.lower().endswith(".md") for segment in segments[:-1]):
        return "has a namespace segment ending in '.md' (its file and its folder would collide)"
    return None


def validate_name(name: str, *, allow_slash: bool = False) -> None:
    """A Django validator of the rule (the admin and ``full_clean`` run it)."""
    problem = name_problem(name, allow_slash=allow_slash)
    if problem:
        raise ValidationError(f"{name[:80]!r} {problem}", code="bad_name")


def validate_collection_name(name: str) -> None:
    validate_name(name)
