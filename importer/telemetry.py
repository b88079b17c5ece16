"""The importer's spans, metrics and log events (DESIGN section 9). Names are a contract;
metric labels stay bounded (status, artifact type), never an artifact name."""

import logging

import structlog
from opentelemetry import metrics, trace

tracer = trace.get_tracer("skillmeat.importer")
meter = metrics.get_meter("skillmeat.importer")
log = structlog.get_logger("skillmeat.importer")


def debug_enabled() -> bool:
    """Whether debug events are written at all (a per-child event is then worth building)."""
    return logging.getLogger("skillmeat.importer").isEnabledFor(logging.DEBUG)


imports_total = meter.create_counter(
    "plugin_import_total", description="Plugin imports, by status (succeeded, failed, dry_run)."
)
dedup_hits = meter.create_counter(
    "dedup_hit_total", description="Children and plugins linked to an existing version."
)
dedup_misses = meter.create_counter(
    "dedup_miss_total", description="Children and plugins that needed a new version or artifact."
)
import_duration = meter.create_histogram(
    "plugin_import_duration_seconds", unit="s", description="Wall time of one plugin import."
)
hash_duration = meter.create_histogram(
    "artifact_hash_compute_duration_seconds",
    unit="s",
    description="Time to read, hash and stage the files of one plugin and its children.",
)
