"""Shared output of the sync engine's commands: one JSON document or readable lines on
stdout, errors on stderr with exit status 1."""

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from importer.errors import ImportError_


def print_json(command: BaseCommand, document: Any) -> None:
    command.stdout.write(json.dumps(document, indent=2, default=str))


def fail(command: BaseCommand, error: ImportError_, *, as_json: bool = False) -> None:
    if as_json:
        print_json(
            command, {"error": {"path": error.path, "rule": error.rule, "message": error.message}}
        )
    command.stderr.write(f"error: {error}")
    sys.exit(1)


def usage_error(command: BaseCommand, message: str) -> None:
    """A usage error (an ambiguous or malformed hash reference): exit status 2."""
    command.stderr.write(f"error: {message}")
    sys.exit(2)


def add_place_arguments(parser: Any, *, project_help: str = "The project folder.") -> None:
    """``--project DIR`` and ``--scope project|user``, the same for every sync command."""
    parser.add_argument("--project", type=Path, help=project_help)
    parser.add_argument(
        "--scope",
        choices=["project", "user"],
        default="project",
        help="user: the user's skills folder ($CLAUDE_CONFIG_DIR/skills or ~/.claude/skills), "
        "for all of the user's projects.",
    )
