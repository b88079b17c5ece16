"""Settings for the test suite: the site's own settings with a throw-away key and home.

The database comes from ``DATABASE_URL`` as usual (SQLite when unset), so the same suite runs
on SQLite and on PostgreSQL.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-not-secret-" + "x" * 40)
os.environ.setdefault("SKILLMEAT_HOME", tempfile.mkdtemp(prefix="skillmeat-tests-"))
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from skillmeat_site.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
