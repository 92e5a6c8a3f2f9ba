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

__all__ = ["DERIVATIVES", "NONDIFFERENTIABLE", "DISPLAY", "DERIVATIVE_NAMES"]


def _pow_base(x, y, out):
    # y·x^(y-1), taken as 0 where y == 0 (so 0**0 has derivative 0, as in JAX)
    if np.ndim(y) == 0 and type(y) is np.ndarray and y != 0:
        # a constant exponent: no select needed, and x² differentiates to 2 x
        return y * x if y == 2 else y * np.power(x, y - 1)
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

# How each ufunc's value reads, as a template over its inputs' expressions:
# {0} as is, {g0} grouped in parentheses when compound.
DISPLAY = {
    np.add: "{0} + {1}",
    np.subtract: "{0} − {g1}",
    np.multiply: "{g0} ⊙ {g1}",
    np.true_divide: "{g0} / {g1}",
    np.power: "{g0}^{g1}",
    np.negative: "−{g0}",
    np.positive: "{0}",
    np.reciprocal: "1 / {g0}",
    np.square: "{g0}²",
    np.sqrt: "√{g0}",
    np.absolute: "|{0}|",
    np.maximum: "max({0}, {1})",
    np.minimum: "min({0}, {1})",
    np.logaddexp: "log(exp {g0} + exp {g1})",
}

# The derivative factors g of DERIVATIVES as names over the inputs ({g0}, {g1})
# and the output ({y}); an absent entry is a pure delta.
DERIVATIVE_NAMES = {
    np.subtract: (None, "-1"),
    np.multiply: ("{1}", "{0}"),
    np.true_divide: ("1 / {g1}", "-{g0} / {g1}²"),
    np.power: ("{g1} {g0}^({1} − 1)", "log({0}) {g0}^{g1}"),
    np.negative: ("-1",),
    np.reciprocal: ("-1 / {g0}²",),
    np.square: ("2 {g0}",),
    np.sqrt: ("1 / (2 √{g0})",),
    np.absolute: ("sign({0})",),
    np.maximum: ("[{0} ≥ {1}]", "[{1} ≥ {0}]"),
    np.minimum: ("[{0} ≤ {1}]", "[{1} ≤ {0}]"),
    np.exp: ("exp({0})",),
    np.expm1: ("exp({0})",),
    np.log: ("1 / {g0}",),
    np.log1p: ("1 / (1 + {0})",),
    np.logaddexp: ("exp({0} − {y})", "exp({1} − {y})"),
    np.sin: ("cos({0})",),
    np.cos: ("-sin({0})",),
    np.tan: ("(1 + tan²({0}))",),
    np.sinh: ("cosh({0})",),
    np.cosh: ("sinh({0})",),
    np.tanh: ("(1 − tanh²({0}))",),
}
