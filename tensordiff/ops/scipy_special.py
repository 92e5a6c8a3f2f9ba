"""``scipy.special`` functions that are not ufuncs: ``softmax`` works on traced values;
the others that convert their argument are named, with what to write instead.

``scipy.special.softmax`` starts with its array-API ``asarray``, which calls
``np.asarray`` before NumPy's protocols can see a traced value, and then uses only
``max``, ``exp`` and ``sum``. Once the user's code has imported scipy.special, the
first trace wraps that ``asarray`` so that a traced value passes through it
unchanged (every other value goes to scipy's own); the rest of ``softmax`` is NumPy
calls on the traced value, each a rule or a refusal. Functions such as
``logsumexp`` write into arrays in place after converting them, which cannot be
recorded: a traced value reaching them raises ``td.TraceLeakError`` naming
``scipy.special.<name>`` and the NumPy expression to write instead
(:func:`numpy_instead`). Importing tensordiff never imports scipy.
"""

import functools
import sys

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
}


def numpy_instead(public_name: str) -> str:
    """What to write instead of the scipy function ``public_name`` in a traced function."""
    return _INSTEAD.get(public_name, "the same computation with NumPy functions")


@before_tracing
def _let_softmax_see_traced_values() -> None:
    array_api = sys.modules.get("scipy._lib._array_api")  # only once scipy is imported
    if array_api is None:
        return
    compat = getattr(array_api, "np_compat", None)
    if compat is None or not callable(getattr(compat, "asarray", None)):
        return  # another scipy layout: softmax then refuses a traced value, as logsumexp
    if getattr(compat.asarray, "passes_traced_values", False):
        return
    compat.asarray = _passing_traced_values(compat.asarray)


def _passing_traced_values(asarray):
    """scipy's ``asarray``, except that a traced value (with no dtype asked) is returned
    as it is."""

    @functools.wraps(asarray)
    def passing(obj, /, *args, **kwargs):
        if type(obj) is Traced and not args and kwargs.get("dtype") is None:
            if all(kwargs.get(k) is None for k in ("device", "copy")):
                return obj
        return asarray(obj, *args, **kwargs)

    passing.passes_traced_values = True
    return passing
