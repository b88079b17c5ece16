"""The project's lock file, ``.claude/skillmeat.lock`` (DESIGN section 10): the project's own
record of what each plugin wrote there, at which version. JSON with sorted keys, two-space
indent and a final newline, holding no clock time: redeploying the same version leaves it
byte-identical, and it diffs well in git. Written through a temporary file and a rename."""

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from deploy.places import Place
from deploy.safety import BAD_PROJECT_SETTINGS, DeployRefused, check_project_paths

LOCK_VERSION = 1


def read_lock(place: Place) -> dict[str, dict[str, Any]]:
    """The locked plugins by name ({} when the place has no lock file)."""
    check_project_paths(place.root, [place.lock_path])
    path = place.root / place.lock_path
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise _corrupt(place, f"cannot be read as JSON ({error})") from None
    plugins = document.get("plugins") if isinstance(document, dict) else None
    if document.get("lock_version") != LOCK_VERSION or not isinstance(plugins, dict):
        raise _corrupt(place, f"is not a lock file of version {LOCK_VERSION}")
    return plugins


def lock_bytes(plugins: dict[str, dict[str, Any]]) -> bytes:
    document = {"lock_version": LOCK_VERSION, "plugins": plugins}
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return text.encode("utf-8")


def write_lock(place: Place, plugins: dict[str, dict[str, Any]]) -> None:
    check_project_paths(place.root, [place.lock_path])
    path = place.root / place.lock_path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".skillmeat-lock-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(lock_bytes(plugins))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _corrupt(place: Place, problem: str) -> DeployRefused:
    return DeployRefused(
        f"{place.lock_path} {problem}; restore it from version control",
        path=place.lock_path,
        rule=BAD_PROJECT_SETTINGS,
    )
