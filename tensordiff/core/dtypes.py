"""Which numbers tensordiff differentiates: real floats in memory, integers promoted.

Arrays that live elsewhere (Dask, xarray, Zarr) are refused rather than loaded:
``np.asarray`` would compute or read all of them without a word.
"""

import numpy as np

from tensordiff.errors import UnsupportedDTypeError, UnsupportedOperationError

__all__ = ["as_real_array", "refuse_out_of_core"]

# Top-level packages of array types that np.asarray would load or compute in full.
_OUT_OF_CORE = ("dask", "xarray", "zarr")
# Types that are never lazy, checked first: every NumPy call of a traced function passes
# its operands here, and the general test (a failed attribute lookup) costs ~1 µs each.
_IN_MEMORY = frozenset({np.ndarray, float, int, bool, np.float64, np.float32, type(None)})


def refuse_out_of_core(value, what: str) -> None:
    """Raise UnsupportedOperationError if ``value`` is a Dask collection, an xarray object
    or a Zarr array (checked without importing them).

    >>> class Lazy:
    ...     def __dask_graph__(self): ...
    >>> refuse_out_of_core(Lazy(), "argument 0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tensordiff.errors.UnsupportedOperationError: argument 0 is a tensordiff Lazy (a lazy ...
    """
    kind = type(value)
    if kind in _IN_MEMORY:
        return
    if kind.__module__.partition(".")[0] in _OUT_OF_CORE or hasattr(value, "__dask_graph__"):
        raise UnsupportedOperationError(
            f"{what} is a {kind.__module__.partition('.')[0]} {kind.__name__} (a lazy or"
            " stored array); tensordiff differentiates NumPy arrays in memory and does"
            " not load or compute one silently. Pass np.asarray(x) (or x.compute(), x.values,"
            " x[...]) if it fits in memory; for a Jacobian larger than memory keep the inputs"
            " in NumPy and stream the result with J.to_dask(), J.to_zarr() or J[block]"
        )


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
    if type(value) is np.ndarray and value.dtype.kind == "f" and value.dtype.itemsize >= 4:
        return value  # the common argument, kept as it is (no checks apply to it)
    refuse_out_of_core(value, what)
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
