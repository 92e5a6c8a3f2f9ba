"""``scipy.special``'s ``logsumexp``, ``log_softmax`` and ``softmax`` on traced values; the
other scipy functions that convert their argument are named, with what to write instead.

The three live in ``scipy.special._logsumexp`` and are written for the array API: each
asks ``array_namespace`` for its arguments' namespace, and updates arrays through
``xpx.at`` (``array_api_extra``), whose contract is that the caller uses the returned
array. Once the user's code has imported scipy.special, the first trace replaces three
names of that module, each of which hands every plain value to scipy's own:

- ``array_namespace``: for a traced value, NumPy's namespace whose ``asarray`` returns the
  traced value as it is, so the rest runs as NumPy calls, each a rule or a refusal;
- ``xpx``: ``at(x, mask).set(v)`` on a traced value is ``np.where(mask, v, x)``;
- ``_logsumexp``: ``m + log Σ b exp(a − m)`` with ``m`` the maximum. The identity holds for
  any ``m``, so every derivative is exact; scipy's own, which takes the maximal entries
  out of the sum, would give a wrong second derivative where the maximum is tied.

The module's functions look these names up when called, so the user's
``from scipy.special import logsumexp`` made before the first trace works too. With
another scipy layout nothing is replaced and a traced value reaching these functions
raises ``td.TraceLeakError`` naming ``scipy.special.<name>`` and the NumPy expression to
write instead (:func:`numpy_instead`), as for every scipy function that converts its
argument. Importing tensordiff never imports scipy.

>>> import numpy as np, tensordiff as td
>>> from scipy.special import logsumexp
>>> np.asarray(td.grad(logsumexp)(np.log([1.0, 3.0])))
array([0.25, 0.75])
"""

import sys
import types

import numpy as np

from tensordiff.trace.registry import before_tracing
from tensordiff.trace.traced import Traced

__all__ = ["numpy_instead"]

# public scipy name -> the NumPy expression that computes it on a traced value
_INSTEAD = {
    "scipy.special.logsumexp": "np.logaddexp.reduce(x, axis=axis) (with weights b:"
    " m + np.log(np.sum(b * np.exp(x - m), axis=axis)), m = np.max(x, axis=axis,"
    " keepdims=True))",
    "scipy.special.log_softmax": "x - np.logaddexp.reduce(x, axis=axis, keepdims=True)",
    "scipy.special.softmax": "np.exp(x - np.logaddexp.reduce(x, axis=axis, keepdims=True))",
    # scipy.linalg's functions convert their arguments; NumPy's twins have rules
    "scipy.linalg.solve": "np.linalg.solve(a, b)",
    "scipy.linalg.inv": "np.linalg.inv(a)",
    "scipy.linalg.det": "np.linalg.det(a)",
    "scipy.linalg.cholesky": "np.linalg.cholesky(a) (lower; scipy's default is its"
    " transpose, np.linalg.cholesky(a).T)",
    "scipy.linalg.cho_factor": "np.linalg.cholesky(a) for the factor, and np.linalg.solve(a,"
    " b) for cho_solve(cho_factor(a), b)",
    "scipy.linalg.cho_solve": "np.linalg.solve(a, b) with the matrix that was factored",
    "scipy.linalg.solve_triangular": "np.linalg.solve(np.triu(a), b) (np.tril(a) for lower=True)",
    "scipy.linalg.eigh": "np.linalg.eigh(a)",
    "scipy.linalg.eigvalsh": "np.linalg.eigvalsh(a)",
    "scipy.linalg.svd": "np.linalg.svd(a)",
    "scipy.linalg.svdvals": "np.linalg.svd(a, compute_uv=False)",
    "scipy.linalg.norm": "np.linalg.norm(a, ord, axis)",
    "scipy.linalg.pinv": "np.linalg.pinv(a)",
    "scipy.linalg.lstsq": "np.linalg.lstsq(a, b)",
    "scipy.linalg.expm": "the series I + X + X @ X / 2 + … (scaling and squaring: sum it"
    " for X / 2**s, then square the sum s times)",
    "scipy.spatial.distance.cdist": "np.sqrt(np.sum((XA[:, None, :] - XB[None, :, :]) ** 2,"
    " axis=-1)) (the Euclidean metric)",
}
_MODULE = "scipy.special._logsumexp"
_REPLACED = ("array_namespace", "xpx", "_logsumexp")


def numpy_instead(public_name: str) -> str:
    """What to write instead of the scipy function ``public_name`` in a traced function."""
    return _INSTEAD.get(public_name, "the same computation with NumPy functions")


@before_tracing
def _let_logsumexp_see_traced_values() -> None:
    module = sys.modules.get(_MODULE)  # only once scipy.special is imported
    if module is None or getattr(module, "_sees_traced_values", False):
        return
    if not all(hasattr(module, name) for name in _REPLACED):
        return  # another scipy layout: its functions refuse a traced value
    plain_namespace = module.array_namespace(np.zeros(1))
    module.array_namespace = _namespace_seeing(module.array_namespace, plain_namespace)
    module.xpx = _WithFunctionalAt(module.xpx)
    module._logsumexp = _exact_for_traced(module._logsumexp)
    module._sees_traced_values = True


def _traced(*values) -> bool:
    return any(type(v) is Traced for v in values)


def _namespace_seeing(array_namespace, plain_namespace):
    """scipy's ``array_namespace``, except that traced arguments get :class:`_Traced`."""
    traced_namespace = _Traced(plain_namespace)

    def namespace(*arrays):
        return traced_namespace if _traced(*arrays) else array_namespace(*arrays)

    return namespace


class _Traced(types.ModuleType):
    """NumPy's array-API namespace, whose ``asarray`` keeps a traced value as it is (it
    cannot be copied into, so it needs no copy). Its own name, so that scipy does not
    take it for NumPy and convert with ``np.asarray``."""

    def __init__(self, plain):
        super().__init__("tensordiff.traced_namespace")
        self._plain = plain

    def __getattr__(self, name):
        return getattr(self._plain, name)

    def asarray(self, obj, /, dtype=None, copy=None, **kwargs):
        if type(obj) is Traced and (dtype is None or np.dtype(dtype) == obj.dtype):
            return obj
        return self._plain.asarray(obj, dtype=dtype, copy=copy, **kwargs)


class _WithFunctionalAt(types.ModuleType):
    """``array_api_extra`` whose ``at(x, mask).set(v)`` is ``np.where(mask, v, x)`` when
    ``x`` or ``v`` is traced."""

    def __init__(self, xpx):
        super().__init__(xpx.__name__)
        self._xpx = xpx

    def __getattr__(self, name):
        return getattr(self._xpx, name)

    def at(self, x, index=None, /):
        return _At(self._xpx, x, index)


class _At:
    def __init__(self, xpx, x, index):
        self._xpx, self._x, self._index = xpx, x, index

    def __getitem__(self, index):
        return _At(self._xpx, self._x, index)

    def set(self, value, /, copy=None, xp=None):
        if not _traced(self._x, value):
            return self._xpx.at(self._x, self._index).set(value, copy=copy, xp=xp)
        mask = np.zeros(np.shape(self._x), dtype=bool)
        mask[self._index] = True  # plain positions: a boolean mask or an index
        return np.where(mask, value, self._x)


def _exact_for_traced(logsumexp):
    """scipy's ``_logsumexp(a, b, axis=, return_sign=, xp=)`` (kept dimensions), or for
    traced ``a`` or ``b`` the identity ``m + log |Σ b exp(a − m)|`` with its sign."""

    def exact(a, b, *, axis, return_sign, xp):
        if not _traced(a, b):
            return logsumexp(a, b, axis=axis, return_sign=return_sign, xp=xp)
        if b is not None:  # a zero weight drops its entry, even an infinite one
            a = np.where(b == 0, -np.inf, a)
        top = np.max(a, axis=axis, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)  # all −inf: log 0, not −inf − (−inf)
        terms = np.exp(a - top) if b is None else b * np.exp(a - top)
        total = np.sum(terms, axis=axis, keepdims=True)
        sign = np.sign(total)
        out = np.log(np.abs(total)) + top
        return (out if return_sign else np.where(sign < 0, np.nan, out)), sign

    return exact
