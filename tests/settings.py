"""Settings for the test suite: the site's own settings with a throw-away key and home.

The database comes from ``DATABASE_URL`` as usual (SQLite when unset), so the same suite runs
on SQLite and on PostgreSQL.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-not-secret-" + "x" * 40)
# Always a throw-away home: the suite never touches the user's SKILLMEAT_HOME, whatever the
# environment says (subprocesses of the tests inherit this one).
os.environ["SKILLMEAT_HOME"] = tempfile.mkdtemp(prefix="skillmeat-tests-")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from skillmeat_site.settings import *  # noqa: F403
from skillmeat_site.settings import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: tests that run the importer in a real subprocess (killed mid-import,
    # concurrent writers) must share the test database with it.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(os.environ["SKILLMEAT_HOME"], "test.sqlite3")
    }
