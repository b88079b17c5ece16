"""Hash references (DESIGN section 8): wherever a content hash is accepted, a unique prefix
of at least 8 hex characters is accepted too; an ambiguous prefix names its candidates."""

import re

from django.db.models import QuerySet

from artifacts.models import HASH_LENGTH, Version

MIN_PREFIX = 8
HEX = re.compile(r"[0-9a-f]+")
SHOWN_CANDIDATES = 10


class HashReferenceError(ValueError):
    """A reference that is not a hash or a prefix of one, or that names several."""

    def __init__(self, reference: str, message: str, candidates: tuple[str, ...] = ()) -> None:
        self.reference = reference
        self.candidates = candidates
        super().__init__(message)


def normalized_reference(reference: str) -> str:
    text = reference.strip().lower()
    if not (MIN_PREFIX <= len(text) <= HASH_LENGTH and HEX.fullmatch(text)):
        raise HashReferenceError(
            reference,
            f"{reference[:80]!r} is not a content hash or a prefix of at least {MIN_PREFIX} "
            "hex characters",
        )
    return text


def matching_hashes(versions: QuerySet[Version], reference: str) -> list[str]:
    """The one content hash among ``versions`` that ``reference`` names ([] if none);
    raises :class:`HashReferenceError` for a malformed or ambiguous reference."""
    text = normalized_reference(reference)
    if len(text) == HASH_LENGTH:
        found = versions.filter(content_hash=text)
    else:
        # A range rather than LIKE 'prefix%': an index on the hash serves it on every
        # database (hashes are lowercase hex, and "g" sorts after every hex digit).
        found = versions.filter(content_hash__gte=text, content_hash__lt=text + "g")
    hashes = list(
        found.order_by("content_hash")
        .values_list("content_hash", flat=True)
        .distinct()[: SHOWN_CANDIDATES + 1]
    )
    if len(hashes) > 1:
        listed = ", ".join(hashes[:SHOWN_CANDIDATES])
        more = " and more" if len(hashes) > SHOWN_CANDIDATES else ""
        raise HashReferenceError(
            reference,
            f"the prefix {text!r} is ambiguous: it starts {listed}{more}",
            tuple(hashes[:SHOWN_CANDIDATES]),
        )
    return hashes


def version_by_reference(versions: QuerySet[Version], reference: str) -> Version | None:
    """The version among ``versions`` whose content hash ``reference`` names, or None."""
    hashes = matching_hashes(versions, reference)
    return versions.filter(content_hash=hashes[0]).first() if hashes else None
