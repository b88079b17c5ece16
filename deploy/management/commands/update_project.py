"""``manage.py update_project --project DIR [--plugin NAME ...] [--dry-run] [--force] [--json]``:
move every outdated plugin of a project to its latest version, in the same mode."""

from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from deploy.management.commands._output import fail, print_json
from deploy.update import UpdateReport, project_update
from importer.errors import ImportError_
from skillmeat_site.cli import SkillmeatCommand


class Command(SkillmeatCommand):
    help = (
        "Move every outdated plugin of a project (or the named ones) to its collection's latest "
        "version, in the same mode; plugins with files the user changed need --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, type=Path)
        parser.add_argument("--plugin", action="append", default=[], metavar="NAME")
        parser.add_argument("--dry-run", action="store_true", help="Print the plan only.")
        parser.add_argument("--force", action="store_true", help="Overwrite changed files.")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = project_update(
                project=options["project"],
                plugins=options["plugin"],
                dry_run=options["dry_run"],
                force=options["force"],
            )
        except ImportError_ as error:
            fail(self, error, as_json=options["json"])
        if options["json"]:
            print_json(self, asdict(report))
        else:
            self._print(report)
        for refused in report.refused:
            self.stderr.write(
                f"error: {refused['name']}: changed in the project (use --force): "
                + ", ".join(refused["modified"])
            )
        if not report.ok:
            raise SystemExit(1)

    def _print(self, report: UpdateReport) -> None:
        verb = "would update" if report.dry_run else "updated"
        for update in report.updated:
            self.stdout.write(
                f"{verb} {update.name} ({update.mode}): {update.from_hash[:12]} -> "
                f"{update.to_hash[:12]}"
            )
            for title, keys in (
                ("added", update.added),
                ("removed", update.removed),
                ("changed", update.changed),
            ):
                if keys:
                    self.stdout.write(f"  {title}: {', '.join(keys)}")
        for name in report.unchanged:
            self.stdout.write(f"{name}: nothing to update")
        self.stdout.write(
            f"{len(report.updated)} {verb}, {len(report.unchanged)} unchanged, "
            f"{len(report.refused)} refused"
        )
