"""``manage.py ensure_admin``: make sure an admin account exists and say how to log in.

The credentials come from ``ADMIN_USERNAME`` / ``ADMIN_PASSWORD`` when set; otherwise the
account is ``admin`` with a generated password kept (mode 0600) in
``$SKILLMEAT_HOME/admin-password``.
"""

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model

from skillmeat_site.cli import SkillmeatCommand


def _generated_password() -> str:
    keep = Path(settings.SKILLMEAT_HOME) / "admin-password"
    if keep.exists():
        return keep.read_text().strip()
    password = secrets.token_urlsafe(12)
    keep.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(keep, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password


class Command(SkillmeatCommand):
    help = "Create (or update) the admin account and print its credentials."

    def handle(self, *args: Any, **options: Any) -> None:
        username = os.environ.get("ADMIN_USERNAME", "admin")
        chosen = os.environ.get("ADMIN_PASSWORD")
        password = chosen or _generated_password()
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        if created or (chosen and not user.check_password(chosen)):
            user.set_password(password)
            user.save()
        elif not user.check_password(password):
            self.stdout.write(
                f"Admin account: {username} (password changed since; set ADMIN_PASSWORD to reset)"
            )
            return
        self.stdout.write(f"Admin account: {username} / {password}")
