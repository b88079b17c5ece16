"""``manage.py verify_collection [--collection C] [--repair] [--json]``: check (and repair) the
storage root against the database. Exit 0 when everything holds, 1 when a problem remains."""

import json
import sys
from typing import Any

from django.core.management.base import CommandParser

from importer.verify import collection_verify
from skillmeat_site.cli import SkillmeatCommand


class Command(SkillmeatCommand):
    help = (
        "Check blobs (present, re-hashing to their names), versions (files rebuild to their "
        "hash) and views (equal to the latest versions); list leftovers, and garbage "
        "(blobs no version refers to) for information."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--collection", help="Check the views of this collection only.")
        parser.add_argument(
            "--repair",
            action="store_true",
            help="Rebuild views, set corrupted blobs aside, remove garbage and leftovers older "
            "than the grace period.",
        )
        parser.add_argument(
            "--grace-seconds",
            type=int,
            help="Age before repair removes garbage and leftovers (default: "
            "SKILLMEAT_REPAIR_GRACE_SECONDS, 3600).",
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        report = collection_verify(
            collection=options["collection"],
            repair=options["repair"],
            grace_seconds=options["grace_seconds"],
        )
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            for line in report.repaired:
                self.stdout.write(f"repaired {line}")
            for problem in report.problems:
                versions = f" (versions: {', '.join(problem.versions)})" if problem.versions else ""
                self.stdout.write(f"{problem.kind}: {problem.path}: {problem.message}{versions}")
            if report.garbage:
                self.stdout.write(
                    f"garbage: {len(report.garbage)} blob(s), {report.garbage_bytes} bytes that "
                    "no version refers to (--repair removes those older than the grace period)"
                )
            checked = report.checked
            counts = (
                f"checked {checked['blobs']} blobs, {checked['versions']} versions, "
                f"{checked['views']} views"
            )
            outcome = "ok" if report.ok else f"{len(report.problems)} problem(s)"
            self.stdout.write(f"{counts}: {outcome}")
        if not report.ok:
            sys.exit(1)
