"""``manage.py db_worker``: django-tasks-db's worker, plus a companion thread that marks failed
the queued imports whose worker died (their lease ran out), every third of a lease."""

import threading
from typing import Any

from django.conf import settings
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from importer.jobs import keep_reaping


class Command(DatabaseWorkerCommand):
    help = DatabaseWorkerCommand.help + " Imports whose worker died are marked failed."

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        every = max(settings.SKILLMEAT_IMPORT_LEASE_SECONDS / 3, 1.0)
        reaper = threading.Thread(
            target=keep_reaping, args=(stop, every), name="import-reaper", daemon=True
        )
        reaper.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
            reaper.join(timeout=every + 5)
