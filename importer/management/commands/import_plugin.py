"""``manage.py import_plugin PATH [PATH ...]``: import plugins from folders, marketplaces,
archives and remote sources (git repositories, archive URLs) through the import service.
``--json`` prints one document on stdout; logs and progress go to stderr. Exit status: 0 all
imported, 1 any failed, 2 usage error."""

import argparse
import json
import sys
from typing import Any

from django.core.management.base import CommandParser
from tqdm import tqdm

from artifacts.models import DEFAULT_COLLECTION
from importer.errors import ImportError_
from importer.results import DedupDecision, FailedImport, ImportReport, ImportResult
from importer.services import import_paths
from skillmeat_site.cli import SkillmeatCommand

GROUPS = (
    (DedupDecision.CREATE_NEW_ARTIFACT, "new"),
    (DedupDecision.CREATE_NEW_VERSION, "new version"),
    (DedupDecision.LINK_EXISTING, "reused"),
)


class Command(SkillmeatCommand):
    help = (
        "Import Claude Code plugins from plugin folders, marketplace folders, or .zip/.tar.gz "
        "archives of either, deduplicating every child against the collection."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "paths",
            nargs="+",
            metavar="PATH",
            help="A plugin or marketplace folder, a .zip/.tar.gz/.tgz archive, a git URL "
            "(https://, ssh://, git@host:path, github:owner/repo, file://) with optional "
            "@ref and #subfolder, or an https archive URL with an optional #sha256=<hex>.",
        )
        parser.add_argument("--collection", default=DEFAULT_COLLECTION)
        parser.add_argument(
            "--dry-run", action="store_true", help="Report the decisions; write nothing."
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON document.")
        parser.add_argument("--source", default="", help="Where the content came from.")
        parser.add_argument(
            "--remote",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="Fetch (or not) the remote entries of a marketplace. Default: the setting "
            "SKILLMEAT_FETCH_REMOTE, and yes when the marketplace itself was fetched.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with self._progress() as progress:
            try:
                report = import_paths(
                    options["paths"],
                    collection=options["collection"],
                    dry_run=options["dry_run"],
                    source_text=options["source"],
                    remote=options["remote"],
                    on_found=progress.found,
                    on_plugin=lambda item: progress.done(),
                )
            except ImportError_ as error:  # options the service refuses (a bad collection name)
                self.stderr.write(f"error: {error}")
                sys.exit(2)
        self._render(report, as_json=options["json"], dry_run=options["dry_run"])
        for failure in report.failed:
            self.stderr.write(failure_line(failure))
        if not report.ok:
            sys.exit(1)

    def _progress(self) -> "Progress":
        """A progress bar on an interactive stderr only; never on stdout."""
        return Progress(enabled=sys.stderr.isatty())

    def _render(self, report: ImportReport, *, as_json: bool, dry_run: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, default=str))
            return
        for result in report.results:
            self._render_result(result)
        for skipped in report.skipped:
            self.stdout.write(f"skipped {skipped.name}: {skipped.reason}")
        self.stdout.write(summary_line(report, dry_run=dry_run))

    def _render_result(self, result: ImportResult) -> None:
        self.stdout.write(result_headline(result))
        for decision, title in GROUPS:
            children = [c for c in result.children if c.decision == decision]
            if children:
                names = ", ".join(f"{c.type}:{c.name}" for c in children)
                self.stdout.write(f"  {title} ({len(children)}): {names}")
        for warning in result.warnings:
            self.stdout.write(f"  warning: {warning}")


def result_headline(result: ImportResult) -> str:
    """One plugin's outcome in words that never claim a write that did not happen."""
    unchanged = result.decision == DedupDecision.LINK_EXISTING
    if result.dry_run:
        outcome = "unchanged, nothing to import" if unchanged else "would be imported"
    else:
        outcome = "unchanged, nothing written" if unchanged else "imported"
    prefix = "[dry run] " if result.dry_run else ""
    return (
        f"{prefix}{result.plugin_name} {result.plugin_hash[:12]}: {outcome} "
        f"({result.decision.value}; children: {result.children_imported} new, "
        f"{result.children_reused} reused; {result.duration_ms:.0f} ms)"
    )


def failure_line(failure: FailedImport) -> str:
    """``error: NAME: PATH: MESSAGE [RULE]``, the name left out when it is the path."""
    where = failure.path if failure.name == failure.path else f"{failure.name}: {failure.path}"
    return f"error: {where}: {failure.message} [{failure.rule}]"


def summary_line(report: ImportReport, *, dry_run: bool) -> str:
    unchanged = sum(1 for r in report.results if r.decision == DedupDecision.LINK_EXISTING)
    changed = len(report.results) - unchanged
    verb = "to import" if dry_run else "imported"
    line = (
        f"{changed} {verb}, {unchanged} unchanged, {len(report.skipped)} skipped, "
        f"{len(report.failed)} failed"
    )
    return f"dry run: {line}; nothing written" if dry_run else line


class Progress:
    """Plugins done of plugins found, on stderr; a no-op when stderr is not a terminal."""

    def __init__(self, *, enabled: bool) -> None:
        self.bar = (
            tqdm(total=0, desc="importing", unit="plugin", file=sys.stderr, leave=False)
            if enabled
            else None
        )

    def found(self, count: int) -> None:
        if self.bar is not None:
            self.bar.total += count
            self.bar.refresh()

    def done(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.close()
