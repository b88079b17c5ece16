"""Run an import in this process and SIGKILL the process at a chosen step of it.

    python tests/kill_import.py STEP PATH

Used by the tests to leave the state a crash leaves (a real process, really killed)."""

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillmeat_site.settings")

import django

django.setup()

from importer.services import import_paths  # noqa: E402


def main() -> None:
    chosen, path = sys.argv[1], sys.argv[2]

    def kill_at(step: str, /, **context: object) -> None:
        if step == chosen:
            os.kill(os.getpid(), signal.SIGKILL)

    import_paths([path], step=kill_at)
    raise SystemExit(f"step {chosen!r} was never reached")


if __name__ == "__main__":
    main()
