"""``manage.py import_plugin PATH [PATH ...]``: import plugins from folders, marketplaces and
archives through the import service. ``--json`` prints one document on stdout; logs and
progress go to stderr. Exit status: 0 all imported, 1 any failed, 2 usage error."""

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from artifacts.models import DEFAULT_COLLECTION
from importer.errors import ImportError_
from importer.results import DedupDecision, FailedImport, ImportReport, ImportResult
from importer.services import import_paths

GROUPS = (
    (DedupDecision.CREATE_NEW_ARTIFACT, "new"),
    (DedupDecision.CREATE_NEW_VERSION, "new version"),
    (DedupDecision.LINK_EXISTING, "reused"),
)


class Command(BaseCommand):
    help = (
        "Import Claude Code plugins from plugin folders, marketplace folders, or .zip/.tar.gz "
        "archives of either, deduplicating every child against the collection."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
        parser.add_argument("--collection", default=DEFAULT_COLLECTION)
        parser.add_argument(
            "--dry-run", action="store_true", help="Report the decisions; write nothing."
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON document.")
        parser.add_argument("--source", default="", help="Where the content came from.")

    def handle(self, *args: Any, **options: Any) -> None:
        progress = self._progress(options["paths"])
        try:
            report = import_paths(
                options["paths"],
                collection=options["collection"],
                dry_run=options["dry_run"],
                source_text=options["source"],
                on_plugin=lambda item: progress.update(1) if progress else None,
            )
        except ImportError_ as error:  # options the service refuses (a bad collection name)
            self.stderr.write(f"error: {error}")
            sys.exit(2)
        finally:
            if progress:
                progress.close()
        self._render(report, as_json=options["json"])
        for failure in report.failed:
            self.stderr.write(
                f"error: {failure.name}: {failure.path}: {failure.message} [{failure.rule}]"
            )
        if not report.ok:
            sys.exit(1)

    def _progress(self, paths: list[Path]) -> tqdm | None:
        """A progress bar on an interactive stderr only; never on stdout."""
        if not sys.stderr.isatty():
            return None
        return tqdm(desc="importing", unit="plugin", file=sys.stderr, leave=False)

    def _render(self, report: ImportReport, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, default=str))
            return
        for result in report.results:
            self._render_result(result)
        for skipped in report.skipped:
            self.stdout.write(f"skipped {skipped.name}: {skipped.reason}")
        for failure in report.failed:
            self._render_failure(failure)
        self.stdout.write(
            f"{len(report.results)} imported, {len(report.skipped)} skipped, "
            f"{len(report.failed)} failed"
        )

    def _render_result(self, result: ImportResult) -> None:
        prefix = "[dry run] " if result.dry_run else ""
        self.stdout.write(
            f"{prefix}{result.plugin_name}: {result.decision.value} "
            f"{result.plugin_hash[:12]} ({result.children_imported} imported, "
            f"{result.children_reused} reused, {result.duration_ms:.0f} ms)"
        )
        for decision, title in GROUPS:
            children = [c for c in result.children if c.decision == decision]
            if children:
                names = ", ".join(f"{c.type}:{c.name}" for c in children)
                self.stdout.write(f"  {title} ({len(children)}): {names}")
        for warning in result.warnings:
            self.stdout.write(f"  warning: {warning}")

    def _render_failure(self, failure: FailedImport) -> None:
        self.stdout.write(f"FAILED {failure.name}: {failure.path}: {failure.message}")
