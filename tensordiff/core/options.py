"""Counts, sizes, positions and axes given as options: integers of any integral type.

Python counts ``True`` as the integer 1, so ``argnums=True`` or
``set_memory_limit(True)`` would silently mean 1; every option that is a
count, a size, an argument position or an axis goes through these checks,
which refuse bools and take any :class:`numbers.Integral` (``np.int64``
included) as a plain ``int``.
"""

import numbers

import numpy as np

from tensordiff.errors import OptionError

__all__ = ["is_integer", "integer", "positive_integer"]


def is_integer(value) -> bool:
    """Whether ``value`` is an integer and not a bool.

    >>> is_integer(np.int64(3)), is_integer(True), is_integer(3.0)
    (True, False, False)
    """
    if type(value) is int:  # (most calls; the ABC check below costs microseconds)
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def integer(value, what: str) -> int:
    """``value`` as an int if it is an integer of any integral type; else OptionError.

    >>> integer(np.int64(-1), "argnums")
    -1
    >>> integer(True, "argnums")
    Traceback (most recent call last):
    ...
    tensordiff.errors.OptionError: argnums must be an integer (not a bool), got True
    """
    if not is_integer(value):
        raise OptionError(f"{what} must be an integer (not a bool), got {value!r}")
    return int(value)


def positive_integer(value, what: str) -> int:
    """``value`` as an int if it is a positive integer of any integral type; a bool (which
    Python counts as an int) or anything else is refused with OptionError.

    >>> positive_integer(np.int64(2**30), "the memory limit")
    1073741824
    >>> positive_integer(True, "the memory limit")
    Traceback (most recent call last):
    ...
    tensordiff.errors.OptionError: the memory limit must be a positive integer, got True
    """
    if not is_integer(value) or value <= 0:
        raise OptionError(f"{what} must be a positive integer, got {value!r}")
    return int(value)
