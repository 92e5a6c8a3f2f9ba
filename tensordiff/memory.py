"""The limit on dense arrays that tensordiff will allocate.

The default is half of the memory available when tensordiff is imported, so a
request for a dense Jacobian that cannot fit fails at once with
:class:`~tensordiff.JacobianTooLarge` instead of swapping or being killed.
"""

import contextlib
import os

from tensordiff.errors import JacobianTooLarge, OptionError

__all__ = ["get_memory_limit", "set_memory_limit", "memory_limit", "check_dense"]

_FALLBACK_LIMIT = 4 * 2**30


def _available_bytes() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2 * _FALLBACK_LIMIT


_limit = _available_bytes() // 2


def get_memory_limit() -> int:
    """The largest dense array, in bytes, that tensordiff will allocate."""
    return _limit


def set_memory_limit(nbytes: int) -> None:
    """Set the largest dense array, in bytes, that tensordiff will allocate."""
    global _limit
    if not isinstance(nbytes, int) or nbytes <= 0:
        raise OptionError(f"the memory limit must be a positive number of bytes, got {nbytes!r}")
    _limit = nbytes


@contextlib.contextmanager
def memory_limit(nbytes: int):
    """Use ``nbytes`` as the dense-array limit inside a ``with`` block."""
    previous = get_memory_limit()
    set_memory_limit(nbytes)
    try:
        yield
    finally:
        set_memory_limit(previous)


def check_dense(shape: tuple[int, ...], dtype) -> None:
    """Raise JacobianTooLarge if an array of ``shape`` and ``dtype`` is over the limit."""
    itemsize = dtype.itemsize
    nbytes = itemsize
    for size in shape:
        nbytes *= size
    if nbytes > _limit:
        raise JacobianTooLarge.for_shape(shape, itemsize, _limit)
