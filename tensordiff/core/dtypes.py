"""Which numbers tensordiff differentiates: real floats, with integers promoted."""

import numpy as np

from tensordiff.errors import UnsupportedDTypeError

__all__ = ["as_real_array"]


def as_real_array(value, what: str) -> np.ndarray:
    """``value`` as a float ndarray: float32/float64 kept, bools and integers made float64.

    >>> as_real_array([1, 2], "x").dtype
    dtype('float64')
    """
    array = np.asarray(value)
    kind = array.dtype.kind
    if kind == "f":
        return array if array.dtype.itemsize >= 4 else array.astype(np.float32)
    if kind in "biu":
        return array.astype(np.float64)
    if kind == "c":
        raise UnsupportedDTypeError(
            f"{what} is complex ({array.dtype}); tensordiff differentiates real arrays only."
            " Split it into real and imaginary parts and pass them as two real arguments."
        )
    raise UnsupportedDTypeError(
        f"{what} has dtype {array.dtype}, which is not a number tensordiff can differentiate;"
        " pass a float or integer array"
    )
