"""Names that become paths in the collection (``plugins/<name>/``, ``mcp/<name>.json``,
``.claude/commands/<name>.md``) must not be able to leave the folder they are meant for."""

from importer.errors import Rule, UnsafePath
from importer.hashing import CONTROL_CHARACTERS

# Only command and agent names may hold "/", their namespace separator.
NAMESPACED_TYPES = frozenset({"command", "agent"})


def check_name(name: object, *, kind: str, where: str, allow_slash: bool = False) -> str:
    """Return ``name`` when it is a usable name; raise :class:`UnsafePath` naming ``where``."""
    if not isinstance(name, str) or not name.strip():
        raise UnsafePath(f"{kind} name must be a non-empty string", path=where, rule=Rule.BAD_NAME)
    problem = _name_problem(name, allow_slash=allow_slash)
    if problem:
        raise UnsafePath(f"{kind} name {name!r} {problem}", path=where, rule=Rule.BAD_NAME)
    return name


def _name_problem(name: str, *, allow_slash: bool) -> str:
    if "\\" in name:
        return "contains a backslash"
    if CONTROL_CHARACTERS.search(name):
        return "contains NUL or a control character"
    if "/" in name and not allow_slash:
        return "contains '/'"
    segments = name.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        return "has an empty, '.' or '..' path segment"
    return ""


def check_child_name(name: object, *, artifact_type: str, where: str) -> str:
    return check_name(
        name,
        kind=f"{artifact_type}",
        where=where,
        allow_slash=artifact_type in NAMESPACED_TYPES,
    )
