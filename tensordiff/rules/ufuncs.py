"""Elementwise derivatives of the supported ufuncs: ``∂y[i]/∂x[j] = δ[i,j] g[i]``.

Each entry gives, per argument, ``g`` as a function of the arguments and the
output ``y``; ``None`` means ``g = 1`` (a pure delta: nothing stored).
Broadcasting needs no code here: :func:`tensordiff.rules.local.elementwise`
leaves the delta off axes an argument lacks, so the chain rule sums over them.

Ties of ``maximum``/``minimum`` follow JAX: each argument gets half the
derivative where ``x == y`` (the average of the two one-sided subgradients).
``abs`` has derivative +1 at 0, also as in JAX.
"""

import numpy as np

__all__ = ["DERIVATIVES", "NONDIFFERENTIABLE"]


def _pow_base(x, y, out):
    # y·x^(y-1), taken as 0 where y == 0 (so 0**0 has derivative 0, as in JAX)
    return np.where(y == 0, 0.0, y * np.power(x, y - 1))


def _pow_exponent(x, y, out):
    # log(x)·x^y, taken as 0 where x == 0 (as in JAX)
    safe = np.where(x == 0, 1.0, x)
    return np.where(x == 0, 0.0, np.log(safe) * out)


def _max_first(x, y, out):
    return np.where(x == y, 0.5, (x > y).astype(out.dtype))


def _max_second(x, y, out):
    return np.where(x == y, 0.5, (y > x).astype(out.dtype))


# ufunc -> (g for argument 0, g for argument 1, ...), each g(*args, out)
DERIVATIVES = {
    # ---- arithmetic -----------------------------------------------------------
    np.add: (None, None),
    np.subtract: (None, lambda x, y, out: -1.0),
    np.multiply: (lambda x, y, out: y, lambda x, y, out: x),
    np.true_divide: (lambda x, y, out: 1.0 / y, lambda x, y, out: -out / y),
    np.power: (_pow_base, _pow_exponent),
    np.negative: (lambda x, out: -1.0,),
    np.positive: (None,),
    np.reciprocal: (lambda x, out: -out * out,),
    np.square: (lambda x, out: 2.0 * x,),
    np.sqrt: (lambda x, out: 0.5 / out,),
    np.absolute: (lambda x, out: np.where(x >= 0, 1.0, -1.0),),
    np.maximum: (_max_first, _max_second),
    np.minimum: (_max_second, _max_first),
    # ---- exponentials and logarithms -------------------------------------------
    np.exp: (lambda x, out: out,),
    np.expm1: (lambda x, out: out + 1.0,),
    np.log: (lambda x, out: 1.0 / x,),
    np.log1p: (lambda x, out: 1.0 / (1.0 + x),),
    np.logaddexp: (lambda x, y, out: np.exp(x - out), lambda x, y, out: np.exp(y - out)),
    # ---- trigonometric and hyperbolic --------------------------------------------
    np.sin: (lambda x, out: np.cos(x),),
    np.cos: (lambda x, out: -np.sin(x),),
    np.tan: (lambda x, out: 1.0 + out * out,),
    np.sinh: (lambda x, out: np.cosh(x),),
    np.cosh: (lambda x, out: np.sinh(x),),
    np.tanh: (lambda x, out: 1.0 - out * out,),
}

# Piecewise constant or boolean: their derivative is zero, so their results are
# plain constants and carry no trace.
NONDIFFERENTIABLE = frozenset(
    {
        np.greater,
        np.greater_equal,
        np.less,
        np.less_equal,
        np.equal,
        np.not_equal,
        np.sign,
        np.floor,
        np.ceil,
        np.rint,
        np.trunc,
        np.isnan,
        np.isinf,
        np.isfinite,
        np.signbit,
        np.logical_and,
        np.logical_or,
        np.logical_not,
        np.logical_xor,
    }
)
