"""What an import reports: the dedup decision of every child and of the plugin, as frozen
dataclasses that cross from the service to the command, the API and the admin."""

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class DedupDecision(enum.StrEnum):
    LINK_EXISTING = "LINK_EXISTING"
    CREATE_NEW_VERSION = "CREATE_NEW_VERSION"
    CREATE_NEW_ARTIFACT = "CREATE_NEW_ARTIFACT"


@dataclass(frozen=True)
class ChildResult:
    name: str
    type: str
    content_hash: str
    decision: DedupDecision
    artifact_id: str | None
    version_id: str | None


@dataclass(frozen=True)
class ImportResult:
    plugin_id: str | None
    plugin_name: str
    plugin_hash: str
    decision: DedupDecision
    transaction_id: str
    dry_run: bool
    children: tuple[ChildResult, ...]
    children_imported: int
    children_reused: int
    warnings: tuple[str, ...]
    duration_ms: float
    plugin_version_id: str | None = None
    collection: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str


@dataclass(frozen=True)
class FailedImport:
    name: str
    path: str
    rule: str
    message: str


@dataclass
class ImportReport:
    """The outcome of importing one or more paths: ``{"results", "skipped", "failed"}``."""

    results: list[ImportResult] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    failed: list[FailedImport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "results": [result.as_dict() for result in self.results],
            "skipped": [asdict(item) for item in self.skipped],
            "failed": [asdict(item) for item in self.failed],
        }

    def extend(self, other: "ImportReport") -> None:
        self.results.extend(other.results)
        self.skipped.extend(other.skipped)
        self.failed.extend(other.failed)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> "ImportReport":
        """The report a queued import kept as JSON, as objects again."""
        return cls(
            results=[_result(item) for item in document.get("results", [])],
            skipped=[Skipped(**item) for item in document.get("skipped", [])],
            failed=[FailedImport(**item) for item in document.get("failed", [])],
        )


def _result(item: dict[str, Any]) -> ImportResult:
    children = tuple(
        ChildResult(**{**child, "decision": DedupDecision(child["decision"])})
        for child in item.get("children", [])
    )
    return ImportResult(
        **{
            **item,
            "decision": DedupDecision(item["decision"]),
            "children": children,
            "warnings": tuple(item.get("warnings", ())),
        }
    )
