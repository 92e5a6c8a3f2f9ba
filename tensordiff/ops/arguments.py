"""Reading the arguments of NumPy calls: axes, einsum letters, options we refuse.

>>> normalize_axes(-1, 3, "sum"), letters(3, skip="j")
((2,), 'abc')
"""

import string

import numpy as np

from tensordiff.errors import ShapeError, UnsupportedOperationError

__all__ = ["refuse", "refuse_out", "letters", "normalize_axes"]


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
            " write `a = a + t` instead",
        )


def letters(count: int, skip: str = "") -> str:
    return "".join(ch for ch in string.ascii_letters if ch not in skip)[:count]


def normalize_axes(axis, ndim: int, name: str, repeats: bool = False) -> tuple[int, ...]:
    """``axis`` (an int or a sequence) as non-negative axes; a repeated axis is an error
    unless ``repeats`` (``np.roll`` allows them: the shifts add up)."""
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    normalized = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ShapeError(f"numpy.{name}: axis {a} is out of bounds for {ndim} dimensions")
        normalized.append(int(a) % ndim)
    if not repeats and len(set(normalized)) != len(normalized):
        raise ShapeError(f"numpy.{name}: repeated axis in {axis!r}")
    return tuple(normalized)
