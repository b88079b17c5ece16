"""The one domain exception family of the importer: each error names the offending path and
the rule it broke, so a command, the API and the admin can all say exactly what was wrong."""

from dataclasses import dataclass


class Rule:
    """The rules an input can break; the value is what the API's ``errors[].rule`` shows."""

    UNSAFE_FILE_TYPE = "unsafe_file_type"  # symlink, device, FIFO, socket
    UNREADABLE = "unreadable"  # a file or folder that cannot be read
    BAD_FILE_NAME = "bad_file_name"  # newline, backslash, NUL, control character, not UTF-8
    BAD_NAME = "bad_name"  # a plugin, child, server or collection name unusable as a path
    PATH_ESCAPES = "path_escapes"  # absolute, '..', or resolving outside the plugin
    BAD_MANIFEST = "bad_manifest"  # plugin.json not an object, or no string name
    BAD_MARKETPLACE = "bad_marketplace"  # marketplace.json missing name/owner.name/plugins
    BAD_JSON = "bad_json"
    DUPLICATE_CHILD = "duplicate_child"  # same type and name, different content
    UNSAFE_ARCHIVE_MEMBER = "unsafe_archive_member"
    BAD_ARCHIVE = "bad_archive"
    TOO_LARGE = "too_large"  # total bytes of a plugin or archive
    FILE_TOO_LARGE = "file_too_large"
    TOO_MANY_FILES = "too_many_files"
    TOO_DEEP = "too_deep"
    NOT_FOUND = "not_found"
    NOT_A_PLUGIN = "not_a_plugin"
    UNKNOWN_COLLECTION = "unknown_collection"
    STORAGE_FAILED = "storage_failed"
    MISSING_BLOB = "missing_blob"  # a version's bytes are gone from objects/
    DATABASE_FAILED = "database_failed"
    BAD_SOURCE = "bad_source"  # a remote source that is not a git or https archive URL
    FETCH_FAILED = "fetch_failed"  # a remote source that could not be fetched
    PIN_MISMATCH = "pin_mismatch"  # a pinned commit or archive digest that does not match
    REMOTE_NOT_ALLOWED = "remote_not_allowed"  # a URL the API and the admin refuse to fetch
    INTERNAL = "internal"


@dataclass(frozen=True)
class ErrorDetail:
    path: str
    rule: str
    message: str


class ImportError_(Exception):  # noqa: N801, N818 - the trailing underscore avoids the builtin
    """Base of every importer error: carries the offending path and the rule."""

    code = "import_failed"

    def __init__(self, message: str, *, path: str = "", rule: str = Rule.INTERNAL) -> None:
        self.path = path
        self.rule = rule
        self.message = message
        super().__init__(f"{path}: {message} [{rule}]" if path else f"{message} [{rule}]")

    @property
    def detail(self) -> ErrorDetail:
        return ErrorDetail(path=self.path, rule=self.rule, message=self.message)

    def __reduce__(self) -> tuple:
        """Pickled by its parts (a planning process hands its errors over)."""
        return (_rebuilt, (type(self), self.message, self.path, self.rule))


def _rebuilt(kind: type[ImportError_], message: str, path: str, rule: str) -> ImportError_:
    return kind(message, path=path, rule=rule)


class ValidationFailed(ImportError_):
    """The input breaks a rule of the plugin or marketplace format."""

    code = "validation_failed"


class UnsafePath(ValidationFailed):
    """A path that is unsafe to read or to become a path in the collection."""

    code = "unsafe_path"


class LimitExceeded(ValidationFailed):
    """The input is over one of the configured import limits."""

    code = "limit_exceeded"


class StorageFailed(ImportError_):
    """Writing to the storage root failed; nothing of the import was kept."""

    code = "storage_failed"


def display_path(path: str | bytes) -> str:
    """A path as text that can always be printed: undecodable bytes and control characters
    are shown escaped, so the error names the path without breaking the terminal or JSON."""
    if isinstance(path, str) and path.isprintable():  # the usual case, checked in C
        return path
    raw = path if isinstance(path, bytes) else path.encode("utf-8", "surrogateescape")
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)


class FetchFailed(ImportError_):
    """A remote source could not be fetched (or its pin did not match); nothing was written."""

    code = "fetch_failed"


class RemoteRefused(ImportError_):
    """A remote source the API and the admin do not fetch (scheme, host or address)."""

    code = "remote_not_allowed"
