"""Which numbers tensordiff differentiates: real floats, with integers promoted."""

import numpy as np

from tensordiff.errors import UnsupportedDTypeError

__all__ = ["as_real_array"]


# Array types of other libraries. np.asarray would convert them silently (copying off a
# GPU, dropping their autograd graph); tensordiff computes with NumPy only, so it says so.
_FOREIGN = {
    "torch": "x.detach().cpu().numpy()",
    "jax": "np.asarray(x)",
    "jaxlib": "np.asarray(x)",
    "cupy": "x.get()",
    "tensorflow": "x.numpy()",
    "mlx": "np.asarray(x)",
}


def as_real_array(value, what: str) -> np.ndarray:
    """``value`` as a float ndarray: float32/float64 kept, bools and integers made float64.

    >>> as_real_array([1, 2], "x").dtype
    dtype('float64')
    """
    library = type(value).__module__.partition(".")[0]
    if library in _FOREIGN:
        kind = f"{type(value).__module__}.{type(value).__qualname__}"
        raise UnsupportedDTypeError(
            f"{what} is a {kind}; tensordiff differentiates NumPy code on NumPy arrays and"
            f" does not convert {library} arrays silently. Convert it first"
            f" ({_FOREIGN[library]}), or differentiate {library} code with {library}'s own"
            " autodiff"
        )
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
