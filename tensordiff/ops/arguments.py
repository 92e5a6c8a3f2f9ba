"""Reading the arguments of NumPy calls: axes, einsum letters, options we refuse.

>>> normalize_axes(-1, 3, "sum"), letters(3, skip="j")
((2,), 'abc')
"""

import string
from collections.abc import Sequence

import numpy as np

from tensordiff.core.options import is_integer
from tensordiff.errors import OptionError, ShapeError, UnsupportedOperationError

__all__ = ["refuse", "refuse_out", "letters", "normalize_axes", "axis_option"]


def refuse(name: str, **options) -> None:
    """Refuse options we do not model (given as name=value where value is not the default)."""
    given = sorted(option for option, value in options.items() if value is not None)
    if given:
        raise UnsupportedOperationError.for_function(
            name, f"the arguments {given} are not supported on traced values"
        )


def refuse_out(name: str, kwargs: dict) -> None:
    """Refuse (and remove from ``kwargs``) a ufunc's ``out=``: writing in place is not
    recorded."""
    if kwargs.pop("out", None) is not None:
        raise UnsupportedOperationError.for_function(
            name,
            "writing into out= cannot be recorded (`a += t` with `a` a NumPy array does this);"
            " write `a = a + t` instead, or make `a` from a traced value (np.zeros_like(x),"
            " not np.zeros(n)): it can be written into",
        )


def letters(count: int, skip: str = "") -> str:
    return "".join(ch for ch in string.ascii_letters if ch not in skip)[:count]


def refuse_bools(name: str, **options) -> None:
    """OptionError for a count, offset or axis given as a bool, which NumPy reads as 0 or 1.

    >>> refuse_bools("repeat", repeats=[2, True])
    Traceback (most recent call last):
    ...
    tensordiff.errors.OptionError: numpy.repeat: repeats must be integers, not bools, got [2, True]
    """
    for option, value in options.items():
        items = value if isinstance(value, (list, tuple)) else (value,)
        if any(
            isinstance(item, (bool, np.bool_))
            or (isinstance(item, np.ndarray) and item.dtype == bool)
            for item in items
        ):
            raise OptionError(f"numpy.{name}: {option} must be integers, not bools, got {value!r}")


def axis_option(axes) -> int | tuple[int, ...]:
    """``axis=`` as a user writes it: ``1`` for one axis, ``(0, 2)`` for several."""
    axes = tuple(int(k) for k in axes)
    return axes[0] if len(axes) == 1 else axes


def normalize_axes(axis, ndim: int, name: str, repeats: bool = False) -> tuple[int, ...]:
    """``axis`` (an int or a sequence) as non-negative axes; a repeated axis is an error
    unless ``repeats`` (``np.roll`` allows them: the shifts add up)."""
    if type(axis) is int and -ndim <= axis < ndim:  # (most calls: no ABC check needed)
        return (axis % ndim,)
    axes = (axis,) if not isinstance(axis, (Sequence, np.ndarray)) else tuple(axis)
    normalized = []
    for a in axes:
        if not is_integer(a):  # NumPy would take axis=True as axis 1 in some functions
            raise OptionError(f"numpy.{name}: an axis must be an integer (not a bool), got {a!r}")
        if not -ndim <= a < ndim:
            raise ShapeError(f"numpy.{name}: axis {a} is out of bounds for {ndim} dimensions")
        normalized.append(int(a) % ndim)
    if not repeats and len(set(normalized)) != len(normalized):
        raise ShapeError(f"numpy.{name}: repeated axis in {axis!r}")
    return tuple(normalized)
