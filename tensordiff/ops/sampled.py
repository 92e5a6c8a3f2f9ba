"""Functions of sampled data: ``np.interp`` (piecewise-linear interpolation) and
``np.gradient`` (finite differences).

``interp`` is differentiable in all three of ``x``, ``xp`` and ``fp``, as in JAX: at a
sample point ``x == xp[k]`` the slope of the segment to its right is taken, and outside
``[xp[0], xp[-1]]`` the value is the constant ``left``/``right`` (``fp[0]``/``fp[-1]``
by default). ``gradient`` is linear in ``f``: along each axis it is a constant matrix of
finite-difference weights, worked out by NumPy's own ``gradient`` on the identity, so
every spacing and ``edge_order`` NumPy accepts has the same numbers.

>>> import tensordiff as td
>>> np.asarray(td.jacobian(lambda f: np.gradient(f))(np.array([1.0, 2.0, 4.0])))
array([[-1. ,  1. ,  0. ],
       [-0.5,  0. ,  0.5],
       [ 0. , -1. ,  1. ]])
"""

import numpy as np

from tensordiff.errors import ShapeError, UnsupportedOperationError
from tensordiff.ops.arguments import normalize_axes
from tensordiff.trace.registry import implements
from tensordiff.trace.traced import raw, valued

__all__: list[str] = []


@implements(np.interp)
def interp(x, xp, fp, left=None, right=None, period=None):
    """``fp[k] + (x − xp[k]) (fp[k+1] − fp[k]) / (xp[k+1] − xp[k])`` on the segment ``k``
    holding ``x`` (found on the values: a constant)."""
    if period is not None:
        raise UnsupportedOperationError.for_function(
            "interp", "period= is not supported on traced values; reduce x modulo the period"
        )
    points, shapes = raw(xp), (np.shape(raw(xp)), np.shape(raw(fp)))
    if len(shapes[0]) != 1 or shapes[1] != shapes[0] or shapes[0][0] == 0:
        raise ShapeError(
            "numpy.interp: xp and fp must be 1-d of the same length, got shapes "
            f"{shapes[0]} and {shapes[1]}"
        )
    size = shapes[0][0]
    if size == 1:
        return np.where(raw(x) < points[0], fp[0] if left is None else left, fp[0])
    # the segment to the right of x (the last one at and beyond xp[-1]), as JAX takes it
    right_end = np.clip(np.searchsorted(points, raw(x), side="right"), 1, size - 1)
    start, end = right_end - 1, right_end
    width = xp[end] - xp[start]
    slope = (fp[end] - fp[start]) / np.where(raw(width) == 0, 1.0, width)
    inside = np.where(raw(width) == 0, fp[end], fp[start] + (x - xp[start]) * slope)
    below = fp[0] if left is None else left
    above = fp[-1] if right is None else right
    values = raw(x)
    return np.where(values < points[0], below, np.where(values > points[-1], above, inside))


@implements(np.gradient)
def gradient(f, *varargs, axis=None, edge_order=1):
    """Central differences inside, one-sided ones at the edges: along each axis, a
    contraction with NumPy's own weights (the gradient of each unit vector)."""
    ndim = np.ndim(raw(f))
    axes = tuple(range(ndim)) if axis is None else normalize_axes(axis, ndim, "gradient")
    if any(raw(v) is not v for v in varargs):
        raise UnsupportedOperationError.for_function(
            "gradient", "the spacing is a traced value; it must be a constant"
        )
    spacings = varargs * len(axes) if len(varargs) == 1 else varargs
    if spacings and len(spacings) != len(axes):
        raise TypeError(f"numpy.gradient: {len(varargs)} spacings given for {len(axes)} axes")
    shape = np.shape(raw(f))
    results = []
    for n, along in enumerate(axes):
        size = shape[along]
        spacing = (spacings[n],) if spacings else ()
        weights = np.gradient(np.eye(size), *spacing, axis=0, edge_order=edge_order)
        moved = np.tensordot(weights, f, axes=([1], [along]))  # (size, other axes...)
        results.append(np.moveaxis(moved, 0, along))
    return results[0] if len(results) == 1 else tuple(results)


@implements(np.unwrap)
def unwrap(p, discont=None, axis=-1, *, period=2 * np.pi):
    """``p`` plus the multiples of ``period`` NumPy adds at its jumps: constants (they
    follow the values piecewise), so the derivative is 1; the numbers are NumPy's."""
    return valued(p, np.unwrap(raw(p), discont=discont, axis=axis, period=period))
