"""The limit on dense arrays that tensordiff will allocate.

The default is half of the memory available when tensordiff is imported, so a
request for a dense Jacobian that cannot fit fails at once with
:class:`~tensordiff.JacobianTooLarge` instead of swapping or being killed.

:func:`set_memory_limit` sets the process-wide limit; ``with memory_limit(n):``
sets a limit for the current thread or asyncio task only (it is kept in the
context state, :mod:`tensordiff.core.context`), so one caller's temporary limit
never changes another's plans.
"""

import contextlib
import os

from tensordiff.core import context
from tensordiff.core.options import positive_integer
from tensordiff.errors import JacobianTooLarge

__all__ = [
    "get_memory_limit",
    "set_memory_limit",
    "memory_limit",
    "check_dense",
]

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


# The process-wide limit; a context's own limit (``memory_limit``) takes precedence.
_process_limit = _available_bytes() // 2


def get_memory_limit() -> int:
    """The largest dense array, in bytes, that tensordiff will allocate here."""
    limit = context.current().memory_limit
    return _process_limit if limit is None else limit


def set_memory_limit(nbytes: int) -> None:
    """Set the largest dense array, in bytes, that tensordiff will allocate in any thread.

    It takes effect at once here, also inside a ``with memory_limit(...)`` block
    (whose limit it replaces until the block ends).
    """
    global _process_limit
    _process_limit = _checked(nbytes)
    if context.current().memory_limit is not None:
        context.replace(memory_limit=None)


@contextlib.contextmanager
def memory_limit(nbytes: int):
    """Use ``nbytes`` as the dense-array limit inside a ``with`` block, in this thread or
    asyncio task only."""
    with context.changed(memory_limit=_checked(nbytes)):
        yield


def _checked(nbytes) -> int:
    return positive_integer(nbytes, "the memory limit (a number of bytes)")


def check_dense(shape: tuple[int, ...], dtype) -> None:
    """Raise JacobianTooLarge if an array of ``shape`` and ``dtype`` is over the limit."""
    itemsize = dtype.itemsize
    nbytes = itemsize
    for size in shape:
        nbytes *= size
    limit = get_memory_limit()
    if nbytes > limit:
        raise JacobianTooLarge.for_shape(shape, itemsize, limit)
