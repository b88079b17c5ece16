"""Where a version came from (DESIGN section 4), structured so that an update can be checked
later: the kind of source, its location (never with credentials), the ref asked for and the
commit it resolved to, the archive's SHA-256, the subfolder of a repository, and the marketplace
that listed it."""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from artifacts.models import OriginKind


@dataclass(frozen=True)
class Marketplace:
    name: str
    location: str  # the marketplace as it was given: a path, or a remote source without secrets


@dataclass(frozen=True)
class Origin:
    kind: str
    location: str
    ref: str | None = None
    commit: str | None = None
    sha256: str | None = None
    path: str | None = None  # the subfolder of a repository or archive the plugin is in
    marketplace: Marketplace | None = None

    def below(self, relative: str) -> "Origin":
        """The origin of a folder ``relative`` below this one (a marketplace's plugin)."""
        if not relative:
            return self
        path = f"{self.path}/{relative}" if self.path else relative
        return replace(self, path=path)

    def listed_in(self, name: str, location: str) -> "Origin":
        return replace(self, marketplace=Marketplace(name=name, location=location))

    @property
    def is_remote(self) -> bool:
        return self.kind in (OriginKind.GIT, OriginKind.URL)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: Mapping[str, Any] | None) -> "Origin | None":
        if not document or not document.get("kind"):
            return None
        market = document.get("marketplace")
        fields = {k: document.get(k) for k in ("ref", "commit", "sha256", "path")}
        return cls(
            kind=document["kind"],
            location=document.get("location") or "",
            marketplace=Marketplace(**market) if isinstance(market, Mapping) else None,
            **fields,
        )

    def version_fields(self) -> dict[str, Any]:
        """The origin as the columns of a Version row."""
        market = self.marketplace
        return {
            "origin_kind": self.kind,
            "origin_location": self.location,
            "origin_ref": self.ref or "",
            "origin_commit": self.commit or "",
            "origin_sha256": self.sha256 or "",
            "origin_path": self.path or "",
            "origin_marketplace_name": market.name if market else "",
            "origin_marketplace_location": market.location if market else "",
        }
