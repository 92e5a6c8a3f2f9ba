"""The supported ufuncs, one row each: how the value reads, and each argument's derivative.

A row is ``row(display, partial, ...)`` with one partial per argument:
``(g, name)``, where ``g(*args, out)`` is the elementwise derivative
``∂y[i]/∂x[j] = δ[i,j] g[i]`` as a function of the arguments and the output
``y``, and ``name`` is how ``g`` reads in formulas; ``None`` means ``g = 1``
(a pure delta: nothing stored). ``display`` writes the value over its inputs'
expressions (``{0}`` as is, ``{g0}`` grouped in parentheses when compound;
``None``: ``name(x, y)``; a function of the expressions writes it itself); derivative
names may also use ``{y}``, the output.
Broadcasting needs no code here: :func:`tensordiff.ops.jacobians.elementwise`
leaves the delta off axes an argument lacks, so the chain rule sums over them.

Ties of ``maximum``/``minimum`` follow JAX: each argument gets half the
derivative where ``x == y`` (the average of the two one-sided subgradients).
``abs`` has derivative +1 at 0, also as in JAX. ``fmax``/``fmin`` split ties as
``maximum``/``minimum`` do, and where one argument is NaN the other gets the whole
derivative. ``x ** 0`` is the constant 1: its derivatives of every order are 0,
at ``x = 0`` too (``float_power`` likewise). ``heaviside`` and ``floor_divide`` (``//``)
are piecewise constant: derivative 0, as in JAX. ``mod``/``remainder`` (``%``) and
``fmod`` have derivative 1 in ``x`` and ``-floor(x / y)`` (``-trunc(x / y)`` for
``fmod``) in ``y``, as in JAX; at their jumps the right-hand value is taken.
``copysign(x, y)`` is ``±|x|``: derivative ``±1`` in ``x`` (+1 at ``x = 0``, as ``abs``)
and 0 in ``y``, whose sign is piecewise constant; ``ldexp(x, n)`` is ``x 2ⁿ`` with
integer ``n``. ``i0``'s derivative I₁ is summed from its series (NumPy has no ``i1``).
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from tensordiff.core.templates import collected, grouped
from tensordiff.trace.traced import numbers_of

__all__ = ["UFUNCS", "CONSTANT", "CONSTANT_DISPLAY", "Row", "row", "scipy_special_rows"]


class Row(NamedTuple):
    display: str | Callable[..., str] | None
    partials: tuple[tuple[Callable, str] | None, ...]


def row(display: str | None, *partials: tuple[Callable, str] | None) -> Row:
    return Row(display, partials)


def _pow_base(x, y, out):
    # y·x^(y-1), taken as 0 where y == 0 (so 0**0 has derivative 0, as in JAX)
    if np.ndim(y) == 0 and type(y) is np.ndarray:
        # a constant exponent: no select needed, and x² differentiates to 2 x; x⁰ is a
        # constant, so its derivative is a plain 0 whose own derivatives are 0 (not
        # 0 · x^(-1), NaN at 0)
        if y == 0:
            return np.zeros(np.shape(out), dtype=out.dtype)
        return y * x if y == 2 else y * np.power(x, y - 1)
    # the base is replaced where y == 0 so that no derivative of x^(y-1) is taken there
    zero = y == 0
    return np.where(zero, 0.0, y * np.power(np.where(zero, 1.0, x), y - 1))


def _pow_exponent(x, y, out):
    # log(x)·x^y, taken as 0 where x == 0 (as in JAX)
    safe = np.where(x == 0, 1.0, x)
    return np.where(x == 0, 0.0, np.log(safe) * out)


def _max_first(x, y, out):
    return np.where(x == y, 0.5, (x > y).astype(out.dtype))


def _max_second(x, y, out):
    return np.where(x == y, 0.5, (y > x).astype(out.dtype))


def _fmax_first(x, y, out):
    return np.where(x == y, 0.5, ((x > y) | np.isnan(y)).astype(out.dtype))


def _fmax_second(x, y, out):
    return np.where(x == y, 0.5, ((y > x) | np.isnan(x)).astype(out.dtype))


def _fmin_first(x, y, out):
    return np.where(x == y, 0.5, ((x < y) | np.isnan(y)).astype(out.dtype))


def _fmin_second(x, y, out):
    return np.where(x == y, 0.5, ((y < x) | np.isnan(x)).astype(out.dtype))


def _sign(x, out):
    return np.where(x >= 0, 1.0, -1.0)


def _copysign_first(x, y, out):
    # ±|x|: abs's derivative (+1 at 0), negated where y's sign bit is set, as in JAX
    return np.where(np.signbit(y), -1.0, 1.0) * _sign(x, out)


def _no_derivative(*args):
    # the argument is piecewise constant (a sign) or an integer (an exponent)
    return np.zeros(np.shape(args[-1]))


def _bessel_i1(x):
    """I₁ = I₀′ as its power series Σₖ (x/2)^(2k+1) / (k! (k+1)!), written with ufuncs (so
    its own derivative, I₀ − I₁/x, is traced). The terms are positive, so the sum is exact
    to rounding; from k = |x| on each is under a quarter of the one before, so |x| + 40
    terms leave a rest below 4⁻⁴⁰ of the sum."""
    half = x / 2.0
    square = half * half
    term = total = half
    for k in range(1, int(np.max(np.abs(numbers_of(x)), initial=0.0)) + 40):
        term = term * square / float(k * (k + 1))
        total = total + term
    return total


# Indicators as the numbers are: ½ at a tie (as in JAX), defined in the formula's legend.
_TIES_FIRST = "⦃g|[{0} > {1}] + ½ [{0} = {1}]⦄"
_TIES_SECOND = "⦃g|[{1} > {0}] + ½ [{0} = {1}]⦄"
_MIN_FIRST = "⦃g|[{0} < {1}] + ½ [{0} = {1}]⦄"
_MIN_SECOND = "⦃g|[{1} < {0}] + ½ [{0} = {1}]⦄"
_FMAX_FIRST = "⦃g|[{0} > {1} ∨ isnan({1})] + ½ [{0} = {1}]⦄"
_FMAX_SECOND = "⦃g|[{1} > {0} ∨ isnan({0})] + ½ [{0} = {1}]⦄"
_FMIN_FIRST = "⦃g|[{0} < {1} ∨ isnan({1})] + ½ [{0} = {1}]⦄"
_FMIN_SECOND = "⦃g|[{1} < {0} ∨ isnan({0})] + ½ [{0} = {1}]⦄"
# abs has derivative +1 at 0 (as in JAX), where sign(0) would be 0.
_SIGN = "⦃s|[{0} ≥ 0] − [{0} < 0]⦄"

_LN2, _LN10, _DEGREE = float(np.log(2.0)), float(np.log(10.0)), float(np.pi / 180.0)

UFUNCS: dict[np.ufunc, Row] = {
    # ---- arithmetic -----------------------------------------------------------------
    # a sum reads with its equal summands added: 2 (a − b), not a − b + a − b
    np.add: row(lambda x, y: collected(f"{x} + {y}"), None, None),
    np.subtract: row(
        lambda x, y: collected(f"{x} − {grouped(y)}"), None, (lambda x, y, out: -1.0, "−1")
    ),
    np.multiply: row("{g0} ⊙ {g1}", (lambda x, y, out: y, "{1}"), (lambda x, y, out: x, "{0}")),
    np.true_divide: row(
        "{g0} / {g1}",
        (lambda x, y, out: 1.0 / y, "1 / {g1}"),
        (lambda x, y, out: -out / y, "−{g0} / {g1}²"),
    ),
    np.power: row(
        "{g0}^{g1}",
        (_pow_base, "{g1} ⊙ {g0}^({1} − 1)"),  # ⊙: elementwise, where juxtaposition is @
        (_pow_exponent, "log({0}) ⊙ {g0}^{g1}"),
    ),
    np.float_power: row(
        "{g0}^{g1}", (_pow_base, "{g1} {g0}^({1} − 1)"), (_pow_exponent, "log({0}) {g0}^{g1}")
    ),
    np.negative: row("−{g0}", (lambda x, out: -1.0, "−1")),
    np.conjugate: row("{0}", None),  # the identity on real arrays
    np.positive: row("{0}", None),
    np.reciprocal: row("1 / {g0}", (lambda x, out: -out * out, "−1 / {g0}²")),
    np.square: row("{g0}²", (lambda x, out: 2.0 * x, "2 {g0}")),
    np.sqrt: row("√{g0}", (lambda x, out: 0.5 / out, "1 / (2 √{g0})")),
    np.cbrt: row("∛{g0}", (lambda x, out: 1.0 / (3.0 * out * out), "1 / (3 ∛{g0}²)")),
    np.absolute: row("|{0}|", (_sign, _SIGN)),
    np.fabs: row("|{0}|", (_sign, _SIGN)),
    np.maximum: row("max({0}, {1})", (_max_first, _TIES_FIRST), (_max_second, _TIES_SECOND)),
    np.minimum: row("min({0}, {1})", (_max_second, _MIN_FIRST), (_max_first, _MIN_SECOND)),
    np.fmax: row("fmax({0}, {1})", (_fmax_first, _FMAX_FIRST), (_fmax_second, _FMAX_SECOND)),
    np.fmin: row("fmin({0}, {1})", (_fmin_first, _FMIN_FIRST), (_fmin_second, _FMIN_SECOND)),
    np.remainder: row(
        "{g0} mod {g1}", None, (lambda x, y, out: -np.floor(x / y), "−⌊{g0} / {g1}⌋")
    ),
    np.fmod: row("fmod({0}, {1})", None, (lambda x, y, out: -np.trunc(x / y), "-trunc({0} / {1})")),
    np.hypot: row(
        "√({g0}² + {g1}²)",
        (lambda x, y, out: x / out, "{g0} / {y}"),
        (lambda x, y, out: y / out, "{g1} / {y}"),
    ),
    np.copysign: row(
        "copysign({0}, {1})",
        (_copysign_first, "⦃c|(1 − 2 signbit({1})) ([{0} ≥ 0] − [{0} < 0])⦄"),
        (_no_derivative, "0"),
    ),
    np.ldexp: row(
        "{g0} 2^{g1}", (lambda x, n, out: np.ldexp(1.0, n), "2^{g1}"), (_no_derivative, "0")
    ),
    np.deg2rad: row("{g0} π/180", (lambda x, out: _DEGREE, "π/180")),
    np.radians: row("{g0} π/180", (lambda x, out: _DEGREE, "π/180")),
    np.rad2deg: row("{g0} 180/π", (lambda x, out: 1.0 / _DEGREE, "180/π")),
    np.degrees: row("{g0} 180/π", (lambda x, out: 1.0 / _DEGREE, "180/π")),
    # ---- exponentials and logarithms ---------------------------------------------------
    np.exp: row(None, (lambda x, out: out, "exp({0})")),
    np.expm1: row(None, (lambda x, out: out + 1.0, "exp({0})")),
    np.log: row(None, (lambda x, out: 1.0 / x, "1 / {g0}")),
    np.log1p: row(None, (lambda x, out: 1.0 / (1.0 + x), "1 / (1 + {0})")),
    np.exp2: row("2^{g0}", (lambda x, out: _LN2 * out, "log(2) 2^{g0}")),
    np.log2: row(None, (lambda x, out: 1.0 / (_LN2 * x), "1 / ({g0} log 2)")),
    np.log10: row(None, (lambda x, out: 1.0 / (_LN10 * x), "1 / ({g0} log 10)")),
    np.logaddexp: row(
        "log(exp {g0} + exp {g1})",
        (lambda x, y, out: np.exp(x - out), "exp({0} − {y})"),
        (lambda x, y, out: np.exp(y - out), "exp({1} − {y})"),
    ),
    np.logaddexp2: row(
        "log₂(2^{g0} + 2^{g1})",
        (lambda x, y, out: np.exp2(x - out), "2^({0} − {y})"),
        (lambda x, y, out: np.exp2(y - out), "2^({1} − {y})"),
    ),
    # ---- trigonometric and hyperbolic --------------------------------------------------
    np.sin: row(None, (lambda x, out: np.cos(x), "cos({0})")),
    np.cos: row(None, (lambda x, out: -np.sin(x), "−sin({0})")),
    np.tan: row(None, (lambda x, out: 1.0 + out * out, "(1 + tan²({0}))")),
    np.sinh: row(None, (lambda x, out: np.cosh(x), "cosh({0})")),
    np.cosh: row(None, (lambda x, out: np.sinh(x), "sinh({0})")),
    np.tanh: row(None, (lambda x, out: 1.0 - out * out, "(1 − tanh²({0}))")),
    np.arctan: row(None, (lambda x, out: 1.0 / (1.0 + x * x), "1 / (1 + {g0}²)")),
    np.arcsin: row(None, (lambda x, out: 1.0 / np.sqrt(1.0 - x * x), "1 / √(1 − {g0}²)")),
    np.arccos: row(None, (lambda x, out: -1.0 / np.sqrt(1.0 - x * x), "-1 / √(1 − {g0}²)")),
    np.arcsinh: row(None, (lambda x, out: 1.0 / np.sqrt(x * x + 1.0), "1 / √({g0}² + 1)")),
    np.arccosh: row(None, (lambda x, out: 1.0 / np.sqrt(x * x - 1.0), "1 / √({g0}² − 1)")),
    np.arctanh: row(None, (lambda x, out: 1.0 / (1.0 - x * x), "1 / (1 − {g0}²)")),
    np.arctan2: row(
        None,
        (lambda y, x, out: x / (x * x + y * y), "{g1} / ({g0}² + {g1}²)"),
        (lambda y, x, out: -y / (x * x + y * y), "-{g0} / ({g0}² + {g1}²)"),
    ),
    # ---- Bessel (np.i0 is a function, not a ufunc, but elementwise all the same) -----------
    np.i0: row("I₀({0})", (lambda x, out: _bessel_i1(x), "I₁({0})")),
}

# Piecewise constant or boolean: their derivative is zero, so their results are
# plain constants and carry no trace.
CONSTANT = frozenset(
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
        np.floor_divide,
        np.heaviside,
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

# How the comparisons among them read (in the error refusing a branch on one); the
# others read as name(x, y).
CONSTANT_DISPLAY = {
    np.greater: "{0} > {1}",
    np.greater_equal: "{0} ≥ {1}",
    np.less: "{0} < {1}",
    np.less_equal: "{0} ≤ {1}",
    np.equal: "{0} = {1}",
    np.not_equal: "{0} ≠ {1}",
}

_TWO_OVER_ROOT_PI, _ROOT_TWO_PI = 2.0 / np.sqrt(np.pi), np.sqrt(2.0 * np.pi)


def scipy_special_rows(special) -> dict[np.ufunc, Row]:
    """Rows for the ufuncs of ``scipy.special`` (the module, passed in: scipy is an optional
    extra). Each derivative is written with ufuncs that have rows, so every order works,
    except ``gammaln``, whose derivative ``psi`` has none: its second derivative is refused
    naming ``scipy.special.psi``."""
    return {
        special.expit: row("σ({0})", (lambda x, out: out * (1.0 - out), "σ({0}) (1 − σ({0}))")),
        special.log_expit: row(None, (lambda x, out: special.expit(-x), "σ(−{0})")),
        special.logit: row(None, (lambda x, out: 1.0 / (x * (1.0 - x)), "1 / ({g0} (1 − {0}))")),
        special.erf: row(
            None, (lambda x, out: _TWO_OVER_ROOT_PI * np.exp(-x * x), "2/√π exp(−{g0}²)")
        ),
        special.erfc: row(
            None, (lambda x, out: -_TWO_OVER_ROOT_PI * np.exp(-x * x), "−2/√π exp(−{g0}²)")
        ),
        special.ndtr: row("Φ({0})", (lambda x, out: np.exp(-0.5 * x * x) / _ROOT_TWO_PI, "φ({0})")),
        # φ/Φ as exp(−x²/2 − log Φ): no underflow of Φ far in the left tail
        special.log_ndtr: row(
            "log Φ({0})",
            (lambda x, out: np.exp(-0.5 * x * x - out) / _ROOT_TWO_PI, "φ({0}) / Φ({0})"),
        ),
        special.gammaln: row("log Γ({0})", (lambda x, out: special.psi(x), "ψ({0})")),
        # x log y and its relatives (entropies, divergences): 0 where x = 0, and so is the
        # derivative in y there
        special.xlogy: row(
            "{g0} log {g1}",
            (lambda x, y, out: np.log(y), "log {g1}"),
            (lambda x, y, out: np.where(x == 0, 0.0, x / y), "{g0} / {g1}"),
        ),
        special.xlog1py: row(
            "{g0} log(1 + {1})",
            (lambda x, y, out: np.log1p(y), "log(1 + {1})"),
            (lambda x, y, out: np.where(x == 0, 0.0, x / (1.0 + y)), "{g0} / (1 + {1})"),
        ),
        special.entr: row("−{g0} log {g0}", (lambda x, out: -np.log(x) - 1.0, "−log {g0} − 1")),
        special.rel_entr: row(
            "{g0} log({0} / {1})",
            (lambda x, y, out: np.log(x / y) + 1.0, "log({0} / {1}) + 1"),
            (lambda x, y, out: -x / y, "−{g0} / {g1}"),
        ),
        special.kl_div: row(
            "{g0} log({0} / {1}) − {0} + {1}",
            (lambda x, y, out: np.log(x / y), "log({0} / {1})"),
            (lambda x, y, out: 1.0 - x / y, "1 − {g0} / {g1}"),
        ),
    }
