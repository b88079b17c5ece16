"""Make chmod 000 mean "unreadable" even for root: the tests run as root on CI machines,
where CAP_DAC_OVERRIDE reads any file. Dropping it (and CAP_DAC_READ_SEARCH) from this
thread's effective set for a block is exactly what an unprivileged importer meets."""

import contextlib
import ctypes
import os
from collections.abc import Iterator

CAP_DAC_OVERRIDE = 1
CAP_DAC_READ_SEARCH = 2
_VERSION_3 = 0x20080522


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


_libc = ctypes.CDLL(None, use_errno=True)


def _call(name: str, header: _Header, data: ctypes.Array) -> None:
    if getattr(_libc, name)(ctypes.byref(header), data) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


@contextlib.contextmanager
def file_permissions_enforced() -> Iterator[None]:
    """Within the block, this thread is subject to file permissions like any other user."""
    if os.geteuid() != 0:
        yield
        return
    header = _Header(_VERSION_3, 0)
    saved = (_Data * 2)()
    _call("capget", header, saved)
    reduced = (_Data * 2)()
    ctypes.memmove(reduced, saved, ctypes.sizeof(saved))
    reduced[0].effective &= ~((1 << CAP_DAC_OVERRIDE) | (1 << CAP_DAC_READ_SEARCH))
    _call("capset", header, reduced)
    try:
        yield
    finally:
        _call("capset", _Header(_VERSION_3, 0), saved)
