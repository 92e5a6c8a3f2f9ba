"""NumPy functions that write into their first argument: ``np.fill_diagonal``, ``np.put``,
``np.copyto``, ``np.place``, ``np.putmask``, ``np.put_along_axis``, and ``np.add.at`` /
``np.subtract.at``.

A traced target is written as NumPy writes it (:meth:`~tensordiff.trace.traced.Traced.write`:
every name for it sees the new value). Which entry goes where is decided by NumPy's own
function, run on the entries' positions (:func:`~tensordiff.ops.indexing.overwritten`), so
repeats, wrapping and masks are NumPy's. A plain NumPy array cannot hold a traced value,
so writing one into it is refused, naming what to write instead.

>>> import tensordiff as td
>>> def f(x):
...     y = x.copy()
...     np.add.at(y, [0, 0], x[1])
...     return y
>>> np.asarray(td.jacobian(f)(np.array([1.0, 2.0])))
array([[1., 2.],
       [0., 1.]])
"""

import numpy as np

from tensordiff.errors import UnsupportedOperationError
from tensordiff.ops.indexing import overwritten
from tensordiff.trace.registry import implements
from tensordiff.trace.traced import Traced, raw

__all__: list[str] = []


def _target(name: str, a, instead: str) -> Traced:
    """``a``, the array written into, if it is traced; else the refusal."""
    if type(a) is not Traced:
        raise UnsupportedOperationError.for_function(
            name,
            "it writes a traced value into a NumPy array, which cannot hold its derivative;"
            f" {instead}",
        )
    return a


def _constant_positions(name: str, **positions) -> None:
    """Refuse traced positions, masks or indices: they must be constants."""
    for option, value in positions.items():
        if type(value) is Traced:
            raise UnsupportedOperationError.for_function(
                name, f"{option} is a traced value; it must be a constant"
            )


def _written_by(function, a, value, instead: str, *before, **options) -> None:
    """Write ``value`` into the traced ``a`` as NumPy's ``function(a, *before, value,
    **options)`` does (run by NumPy itself on the entries' positions)."""
    name = function.__name__
    target = _target(name, a, instead)

    def write(positions, ids):
        function(positions, *before, ids, **options)
        return positions

    target.write(overwritten(target, value, write))


_FROM_A_COPY = (
    "write into an array made from the traced values (y = x.copy(), or y = np.zeros_like(x))"
)


@implements(np.fill_diagonal)
def fill_diagonal(a, val, wrap=False):
    _written_by(np.fill_diagonal, a, val, "use np.where(np.eye(n, dtype=bool), val, a)", wrap=wrap)


@implements(np.put)
def put(a, ind, v, mode="raise"):
    _constant_positions("put", ind=ind)
    _written_by(np.put, a, v, _FROM_A_COPY, ind, mode=mode)


@implements(np.copyto)
def copyto(dst, src, casting="same_kind", where=True):
    _constant_positions("copyto", where=where)
    if type(src) is Traced and raw(src).dtype.kind != "f":
        raise UnsupportedOperationError.for_function("copyto", "src must be real floats")
    _written_by(np.copyto, dst, src, "use dst = np.where(where, src, dst)", where=where)


@implements(np.place)
def place(arr, mask, vals):
    _constant_positions("place", mask=mask)
    _written_by(np.place, arr, vals, _FROM_A_COPY, mask)


@implements(np.putmask)
def putmask(a, mask, values):
    _constant_positions("putmask", mask=mask)
    _written_by(np.putmask, a, values, "use np.where(mask, values, a)", mask)


@implements(np.put_along_axis)
def put_along_axis(arr, indices, values, axis):
    _constant_positions("put_along_axis", indices=indices)
    _written_by(np.put_along_axis, arr, values, _FROM_A_COPY, indices, axis=axis)


def _scatter_add(name: str, a, indices, b, sign: float) -> None:
    """``ufunc.at(a, indices, b)`` for add (``sign`` 1) and subtract (−1): every entry of
    ``b`` is added at its position, repeated positions adding up (a bincount)."""
    target = _target(
        name,
        a,
        "add the counts instead: out = out + np.bincount(indices, weights=b,"
        " minlength=len(out)) for a 1-d out",
    )
    _constant_positions(name, indices=indices)
    if b is None:
        raise ValueError("second operand needed for ufunc")
    shape = np.shape(raw(target))
    size = int(np.prod(shape))
    positions = np.arange(size).reshape(shape)[indices]  # NumPy's own indexing, unbuffered
    weights = np.ravel(np.broadcast_to(b, np.shape(positions)))
    added = np.bincount(np.ravel(positions), weights=weights, minlength=size)
    target.write(target + sign * np.reshape(added, shape))


@implements(np.add.at)
def add_at(a, indices, b=None):
    _scatter_add("add.at", a, indices, b, 1.0)


@implements(np.subtract.at)
def subtract_at(a, indices, b=None):
    _scatter_add("subtract.at", a, indices, b, -1.0)
