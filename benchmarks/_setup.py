"""Shared set-up of the benchmark scripts: a throw-away SKILLMEAT_HOME and Django settings."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_setup(database_url: str | None = None, home: Path | None = None) -> Path:
    """Configure Django on a fresh storage root (``home``, or a new temporary folder) and the
    given database; returns the root."""
    home = home or Path(tempfile.mkdtemp(prefix="skillmeat-bench-"))
    os.environ["SKILLMEAT_HOME"] = str(home)
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 40)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DEBUG", "false")  # a production run: no query log
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "skillmeat_site.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return home
