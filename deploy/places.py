"""Where a deploy writes (DESIGN section 10): a project, whose plugins go to
``.claude/skills/<name>/`` beside ``.claude/skillmeat.lock``; or the user's skills folder
(``~/.claude/skills/``, ``$CLAUDE_CONFIG_DIR/skills/`` when that is set), for all of the
user's projects, with ``skillmeat.lock`` inside it. Lock-file paths are relative to the
place's root."""

import os
from dataclasses import dataclass
from pathlib import Path

from deploy.safety import DeployRefused

PROJECT = "project"
USER = "user"


@dataclass(frozen=True)
class Place:
    root: Path  # what every recorded path is relative to
    skills_dir: str  # where plugin folders go, relative to root ("" for the user's folder)
    lock_path: str
    flock_path: str
    scope: str = PROJECT

    def plugin_folder(self, name: str) -> str:
        return f"{self.skills_dir}/{name}" if self.skills_dir else name


def project_place(project: Path) -> Place:
    return Place(
        root=Path(project).expanduser().resolve(),
        skills_dir=".claude/skills",
        lock_path=".claude/skillmeat.lock",
        flock_path=".claude/.skillmeat.flock",
    )


def user_place() -> Place:
    config = os.environ.get("CLAUDE_CONFIG_DIR") or str(Path.home() / ".claude")
    root = Path(config).expanduser().resolve() / "skills"
    return Place(
        root=root,
        skills_dir="",
        lock_path="skillmeat.lock",
        flock_path=".skillmeat.flock",
        scope=USER,
    )


def recorded_place(path: str, scope: str) -> Place:
    """The place a deployment was recorded at (its path and scope), whatever this process's
    environment says the user's folder is now."""
    if scope != USER:
        return project_place(Path(path))
    return Place(
        root=Path(path),
        skills_dir="",
        lock_path="skillmeat.lock",
        flock_path=".skillmeat.flock",
        scope=USER,
    )


def place_for(scope: str, project: Path | None) -> Place:
    if scope == USER:
        return user_place()
    if project is None:
        raise DeployRefused(
            "a --project folder is needed (or --scope user)", path="--project", rule="usage"
        )
    return project_place(project)
