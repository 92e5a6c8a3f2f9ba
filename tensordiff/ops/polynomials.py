"""Polynomials as coefficient arrays, highest power first (``np.poly*``): each is
written with rules already on the allow-list (concatenate, convolve, vander, lstsq),
so every order of derivative, td.jit and the explanations follow.

``polyfit`` is the least-squares solution NumPy computes (columns of the Vandermonde
matrix scaled to unit norm), differentiable in ``x``, ``y`` and the weights;
``polydiv`` drops leading remainder terms that vanish, as NumPy does (so the
remainder's length follows the values, as NumPy's does). ``poly`` of a matrix would
need its general, complex eigenvalues and is refused; of a list of roots it is the
product of ``(t − r)``.

>>> import tensordiff as td
>>> np.asarray(td.jacobian(lambda p: np.polyder(p))(np.array([1.0, 2.0, 3.0])))
array([[2., 0., 0.],
       [0., 1., 0.]])
"""

import numpy as np

from tensordiff.errors import ShapeError, UnsupportedOperationError
from tensordiff.ops.arguments import refuse
from tensordiff.trace.registry import implements
from tensordiff.trace.traced import numbers_of, raw

__all__: list[str] = []


def _coefficients(name: str, p):
    """``p`` as a 1-d coefficient array."""
    p = np.atleast_1d(p)
    if np.ndim(raw(p)) != 1:
        raise ShapeError(f"numpy.{name}: coefficients must be 1-d, got shape {np.shape(raw(p))}")
    return p


def _aligned(name: str, a1, a2):
    """Both coefficient arrays, the shorter one padded with leading zeros."""
    a1, a2 = _coefficients(name, a1), _coefficients(name, a2)
    n1, n2 = np.shape(raw(a1))[0], np.shape(raw(a2))[0]
    if n1 < n2:
        a1 = np.concatenate([np.zeros(n2 - n1), a1])
    elif n2 < n1:
        a2 = np.concatenate([np.zeros(n1 - n2), a2])
    return a1, a2


@implements(np.polyadd)
def polyadd(a1, a2):
    a1, a2 = _aligned("polyadd", a1, a2)
    return a1 + a2


@implements(np.polysub)
def polysub(a1, a2):
    a1, a2 = _aligned("polysub", a1, a2)
    return a1 - a2


@implements(np.polymul)
def polymul(a1, a2):
    return np.convolve(_coefficients("polymul", a1), _coefficients("polymul", a2))


@implements(np.polyder)
def polyder(p, m=1):
    """Each coefficient times its power, ``m`` times."""
    if m < 0:
        raise ValueError("numpy.polyder: the order of the derivative must be positive")
    p = _coefficients("polyder", p)
    for _ in range(m):
        n = np.shape(raw(p))[0] - 1
        p = p[:-1] * np.arange(n, 0, -1) if n > 0 else np.zeros(1) * p[:1]
    return p


@implements(np.polyint)
def polyint(p, m=1, k=None):
    """Each coefficient over its new power, then the constant of integration, ``m`` times."""
    if m < 0:
        raise ValueError("numpy.polyint: the order of the integral must be positive")
    p = _coefficients("polyint", p)
    constants = np.zeros(m) if k is None else np.atleast_1d(k)
    if np.shape(raw(constants))[0] == 1 and m > 1:
        constants = constants * np.ones(m)
    if np.shape(raw(constants))[0] < m:
        raise ValueError("numpy.polyint: k must be a scalar or a 1-d array of length m")
    for n in range(m):
        size = np.shape(raw(p))[0]
        p = np.concatenate([p / np.arange(size, 0, -1), constants[n : n + 1]])
    return p


@implements(np.polydiv)
def polydiv(u, v):
    """Long division: quotient and remainder, each entry a traced expression."""
    u, v = _coefficients("polydiv", u) + 0.0, _coefficients("polydiv", v) + 0.0
    m, n = np.shape(raw(u))[0] - 1, np.shape(raw(v))[0] - 1
    scale = 1.0 / v[0]
    remainder, quotient = u, []
    for k in range(m - n + 1):
        d = scale * remainder[k]
        quotient.append(d)
        pad = [np.zeros(k), v * d, np.zeros(m - n - k)]
        remainder = remainder - np.concatenate(pad)
    q = np.stack(quotient) if quotient else np.zeros(1) + 0.0 * u[:1]
    while np.shape(raw(remainder))[0] > 1 and np.allclose(numbers_of(remainder[0]), 0, rtol=1e-14):
        remainder = remainder[1:]
    return q, remainder


@implements(np.poly)
def poly(seq_of_zeros):
    """``Π (t − r)`` over the roots ``r``, by repeated convolution, as NumPy computes it."""
    roots = np.atleast_1d(seq_of_zeros)
    shape = np.shape(raw(roots))
    if len(shape) == 2 and shape[0] == shape[1] and shape[0] != 0:
        raise UnsupportedOperationError.for_function(
            "poly",
            "the characteristic polynomial of a matrix needs its general (complex) eigenvalues;"
            " pass the roots, e.g. np.linalg.eigvalsh(a) of a symmetric matrix",
        )
    if len(shape) != 1:
        raise ShapeError(f"numpy.poly: the input must be 1-d or a square 2-d array, got {shape}")
    result = np.ones(1)
    for n in range(shape[0]):
        result = np.convolve(result, np.concatenate([np.ones(1), -roots[n : n + 1]]))
    return result


@implements(np.polyfit)
def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """The least-squares fit NumPy computes: Vandermonde columns scaled to unit norm,
    ``lstsq``, the scale divided out."""
    refuse("polyfit", cov=cov or None)
    order = int(deg) + 1
    count = np.shape(raw(x))[0]
    if deg < 0 or np.ndim(raw(x)) != 1 or count == 0 or np.ndim(raw(y)) not in (1, 2):
        raise ShapeError(
            f"numpy.polyfit: needs deg ≥ 0, a 1-d x and a 1-d or 2-d y, got deg={deg}, "
            f"x of shape {np.shape(raw(x))}, y of shape {np.shape(raw(y))}"
        )
    rcond = count * np.finfo(float).eps if rcond is None else rcond
    lhs, rhs = np.vander(x, order), y
    if w is not None:
        lhs = lhs * np.reshape(w, (-1, 1))
        rhs = rhs * (w if np.ndim(raw(y)) == 1 else np.reshape(w, (-1, 1)))
    scale = np.sqrt(np.sum(lhs * lhs, axis=0))
    solution, residuals, rank, singular = np.linalg.lstsq(lhs / scale, rhs, rcond=rcond)
    coefficients = np.transpose(np.transpose(solution) / scale)
    if full:
        return coefficients, residuals, rank, singular, rcond
    return coefficients
