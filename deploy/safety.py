"""What keeps a deploy, an update or an undeploy inside the project (DESIGN section 10):
no write, rename or delete through a symbolic link or where a file stands in for a folder;
project settings files validated before anything is written; one deploy at a time per
project, serialised by an OS file lock."""

import contextlib
import fcntl
import json
import os
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from importer.errors import ImportError_

CLAUDE_DIR = ".claude"
LOCK_FILE = ".claude/.skillmeat.flock"
UNSAFE_PROJECT_PATH = "unsafe_project_path"
BAD_PROJECT_SETTINGS = "bad_project_settings"


class DeployRefused(ImportError_):
    """The project is not in a state the sync engine may touch; nothing was written."""

    code = "deploy_refused"


def check_project_paths(root: Path, paths: Iterable[str]) -> None:
    """Refuse (before anything is written) a target whose path inside the project passes
    through a symbolic link, or meets a file where a folder must be."""
    checked: set[str] = set()
    for relative in paths:
        parts = PurePosixPath(relative).parts
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if prefix in checked:
                continue
            _check_component(root, prefix, is_last=depth == len(parts))
            checked.add(prefix)


def _check_component(root: Path, prefix: str, *, is_last: bool) -> None:
    try:
        st = (root / prefix).lstat()
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise _unsafe(prefix, "a file stands where a folder must go") from None
    if stat.S_ISLNK(st.st_mode):
        raise _unsafe(prefix, "a symbolic link: nothing is written, renamed or deleted through it")
    if not is_last and not stat.S_ISDIR(st.st_mode):
        raise _unsafe(prefix, "a file stands where a folder must go")


def _unsafe(prefix: str, problem: str) -> DeployRefused:
    return DeployRefused(f"{prefix}: {problem}", path=prefix, rule=UNSAFE_PROJECT_PATH)


def read_project_settings(root: Path, relative: str) -> dict[str, Any]:
    """``.claude/settings.json`` or ``.mcp.json`` as an object ({} when absent or empty);
    refuse JSON that is invalid, not an object, or whose ``hooks`` / ``mcpServers`` have the
    wrong shape, before anything is written (``--force`` does not override this)."""
    check_project_paths(root, [relative])
    path = root / relative
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise _bad_settings(relative, f"cannot be read ({error})") from error
    if not text.strip():
        return {}
    try:
        document = json.loads(text)
    except ValueError as error:
        raise _bad_settings(relative, f"is not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise _bad_settings(relative, "must be a JSON object")
    _check_shape(document, relative)
    return document


def _check_shape(document: Mapping[str, Any], relative: str) -> None:
    hooks = document.get("hooks")
    if hooks is not None and not (
        isinstance(hooks, dict) and all(isinstance(groups, list) for groups in hooks.values())
    ):
        raise _bad_settings(relative, "'hooks' must map each event to a list of hook groups")
    servers = document.get("mcpServers")
    if servers is not None and not (
        isinstance(servers, dict) and all(isinstance(v, dict) for v in servers.values())
    ):
        raise _bad_settings(relative, "'mcpServers' must map each server name to an object")


def _bad_settings(relative: str, problem: str) -> DeployRefused:
    return DeployRefused(
        f"{relative} {problem}; fix or move it, nothing was written",
        path=relative,
        rule=BAD_PROJECT_SETTINGS,
    )


@contextlib.contextmanager
def project_lock(root: Path, flock_path: str = LOCK_FILE) -> Iterator[None]:
    """Serialise deploys into one project (any process): an OS lock on an empty file that
    stays, holding no PID, host or time."""
    check_project_paths(root, [flock_path])
    (root / flock_path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / flock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class ModifiedInProject(DeployRefused):
    """Paths a deploy would overwrite that the user changed, or that this tool never wrote."""

    code = "modified_in_project"

    def __init__(self, changed: Sequence[str], foreign: Sequence[str] = ()) -> None:
        self.paths = [*changed, *foreign]
        parts = []
        if changed:
            parts.append("changed in the project since the last deploy: " + ", ".join(changed))
        if foreign:
            parts.append("in the project but not written by this tool: " + ", ".join(foreign))
        super().__init__(
            "; ".join(parts) + " (use --force to overwrite)",
            path=self.paths[0],
            rule="modified_in_project",
        )
