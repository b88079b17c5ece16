"""What every management command of the site shares: a closed pipe (``| head``) ends the
command quietly instead of with a traceback, whatever it was printing."""

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand


class SkillmeatCommand(BaseCommand):
    """Base of the site's commands."""

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            output = super().execute(*args, **options)
            # Flush inside the guard: a pipe closed early fails here, not at interpreter exit.
            sys.stdout.flush()
            return output
        except BrokenPipeError:
            _silence_stdout()
            sys.exit(1)


class PluginVersionOption:
    """Lets a command define ``--version HASH`` (Django's own --version prints Django's)."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        return super().create_parser(  # type: ignore[misc]
            prog_name, subcommand, conflict_handler="resolve", **kwargs
        )


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (a test's StringIO)
        pass
    finally:
        os.close(devnull)
