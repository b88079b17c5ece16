"""The name rule at the importer's doors: a refused name is a ``bad_name`` error that names
where the name came from."""

from artifacts.names import NAMESPACED_TYPES, name_problem
from importer.errors import Rule, UnsafePath, display_path


def check_name(name: object, *, kind: str, where: str, allow_slash: bool = False) -> str:
    """Return ``name`` when it is a usable name; raise :class:`UnsafePath` naming ``where``."""
    problem = name_problem(name, allow_slash=allow_slash)
    if problem:
        shown = display_path(name[:80]) if isinstance(name, str) else repr(name)
        raise UnsafePath(f"{kind} name {shown!r} {problem}", path=where, rule=Rule.BAD_NAME)
    assert isinstance(name, str)
    return name


def check_child_name(name: object, *, artifact_type: str, where: str) -> str:
    return check_name(
        name,
        kind=f"{artifact_type}",
        where=where,
        allow_slash=artifact_type in NAMESPACED_TYPES,
    )
