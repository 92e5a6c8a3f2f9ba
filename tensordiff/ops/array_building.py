"""Arrays built from traced values: ``np.array([a, b])``, ``np.asarray(x)``, ``np.r_[x, 0]``,
``np.mean([x, x + 2])``.

NumPy does not hand ``np.array`` and its kin to ``__array_function__`` (only their
``like=`` argument), nor the lists that ``np.mean`` or ``np.r_`` convert inside: it asks
each element for its numbers, and a traced value has none to give while ``f`` runs
(``Traced.__array__`` raises :class:`~tensordiff.trace.traced.TracedConversion`). So the
first trace replaces these attributes of the ``numpy`` module by wrappers that call
NumPy's own function first, and only when a traced value refused to be converted build
the array from the traced values instead:

* ``np.array``, ``np.asarray``, ``np.asanyarray``, ``np.ascontiguousarray`` and
  ``np.asfortranarray``, and the ``array`` that ``np.r_`` and ``np.c_`` call;
* the private helpers through which ``np.sum``, ``np.mean``, ``np.cumsum`` and the other
  reductions convert a list argument (:func:`_converters_inside`): each list holding
  traced values is built as ``np.array`` would, and the call is made again with it.

The result for every other input is NumPy's own, unchanged and unwrapped (the same
object, dtype, identity: ``np.asarray(a) is a``), at the cost of one Python call (about
0.1 µs); the wrappers hold no state, so a thread calling NumPy meanwhile is unaffected.
A name bound before the first trace (``from numpy import asarray``) keeps NumPy's
function, and a traced value reaching it still raises TraceLeakError, which says so;
such a name also no longer pickles by reference, as ``numpy.asarray`` names the
wrapper now. NumPy's Python functions that convert with ``np.asarray`` (``np.average``
of a list) go on with the traced array, every call of theirs routed to a rule.

The array is built by the rules of ``np.stack``, ``np.reshape`` and ``astype``, one list
level at a time, so td.jit replays it, its Hessians nest and its formula is a stack of
its entries. NumPy decides everything else: the function is first called with each
traced value replaced by zeros of its shape and dtype, which gives NumPy's own shape
(``ndmin``, the 1-d minimum of ``ascontiguousarray``), dtype, and errors (ragged lists,
``copy=False``). A traced value by itself comes back as NumPy's would: copied by
``np.array``, the same object from ``np.asarray``. A dtype other than a real float
drops the derivative and is refused.

>>> import tensordiff as td
>>> f = lambda x: np.array([[x[0], 0.0], [1.0, x[0] * x[1]]])
>>> np.asarray(td.jacobian(f)(np.array([2.0, 3.0])))[1, 1]
array([3., 2.])
"""

import functools
import sys
import threading

import numpy as np

from tensordiff.errors import UnsupportedDTypeError
from tensordiff.trace.registry import before_tracing
from tensordiff.trace.traced import Traced, TracedConversion
from tensordiff.trace.views import share

__all__: list[str] = []

# The builders, by their name in the numpy module.
_BUILDERS = ("array", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray")

_installing = threading.Lock()
# The code of NumPy's helpers that are wrapped (one calling another retries once).
_HELPERS: set = set()


@before_tracing
def _install() -> None:
    """Wrap NumPy's converters once (a trace start after that costs one lookup)."""
    if getattr(np.array, "builds_traced_arrays", False):
        return
    with _installing:
        if getattr(np.array, "builds_traced_arrays", False):
            return
        for module, name, again in _converters_inside():
            function = getattr(module, name, None)
            if callable(function) and not getattr(function, "builds_traced_arrays", False):
                setattr(module, name, _converting(function, again or function))
        # np.r_ and np.c_ call the `array` of their module; only NumPy's own is replaced.
        tricks = sys.modules.get("numpy.lib._index_tricks_impl")
        if getattr(tricks, "array", None) is np.array:
            tricks.array = _building(np.array)
        for name in _BUILDERS:  # np.array last: it marks the installation as complete
            setattr(np, name, _building(getattr(np, name)))


def _converters_inside() -> list:
    """The private helpers through which NumPy's own functions convert a list argument:
    ``(module, name, the public function to call with the built array instead)``.

    ``np.sum``, ``np.max``, ``np.any`` and the other reductions pass a list to
    ``_wrapreduction``; ``np.cumsum``, ``np.transpose`` and the other method-like
    functions to ``_wrapfunc``; ``np.mean``, ``np.var``, ``np.std`` and ``np.ptp`` to
    ``_methods``. Replacing these, never the public functions, keeps ``np.sum`` the object
    other libraries stored (pandas maps ``np.std`` to its own ``std``, ddof=1, by
    identity). A helper missing from another NumPy layout is skipped: a list holding
    traced values is then refused, as before.
    """
    fromnumeric = sys.modules.get("numpy._core.fromnumeric")
    methods = sys.modules.get("numpy._core._methods")
    found = [(fromnumeric, name, None) for name in ("_wrapreduction", "_wrapreduction_any_all")]
    found += [(fromnumeric, "_wrapfunc", None)]
    found += [(methods, f"_{name}", getattr(np, name)) for name in ("mean", "var", "std", "ptp")]
    return found


def _building(convert):
    """NumPy's ``convert`` (``np.array``, ...), building the array if a traced value is in
    its argument."""

    @functools.wraps(convert)
    def builder(obj, *args, **kwargs):
        try:  # the common np.asarray(a) without forwarding *args, **kwargs: 4x faster
            return convert(obj, *args, **kwargs) if args or kwargs else convert(obj)
        except TracedConversion:
            if not _holds_traced(obj):
                raise  # a traced value inside something NumPy reads otherwise
        # built outside the `except` block: an error here is not "during" the conversion
        return _built(convert, obj, args, kwargs)

    builder.builds_traced_arrays = True
    return builder


def _converting(function, again):
    """NumPy's helper ``function``; if it refused a list argument holding traced values,
    ``again`` with each such list built as an array. A helper called by another one
    (``_std`` calls ``_var``) leaves the retry to the outer one, which sees the whole call."""

    @functools.wraps(function)
    def converting(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except TracedConversion:
            inner = sys._getframe(1).f_code in _HELPERS  # looked up only on this rare path
            if inner or not any(_holds_traced(x) for x in (*args, *kwargs.values())):
                raise
        args = [_as_built(x) for x in args]
        kwargs = {name: _as_built(x) for name, x in kwargs.items()}
        return again(*args, **kwargs)

    _HELPERS.add(function.__code__)
    converting.builds_traced_arrays = True
    return converting


def _as_built(x):
    """``np.asarray(x)`` if ``x`` is a list or tuple holding traced values; else ``x``."""
    if isinstance(x, (list, tuple)) and _holds_traced(x):
        return np.asarray(x)
    return x


def _holds_traced(obj) -> bool:
    if type(obj) is Traced:
        return True
    return isinstance(obj, (list, tuple)) and any(_holds_traced(item) for item in obj)


def _built(convert, obj, args: tuple, kwargs: dict):
    """``convert(obj, *args, **kwargs)`` for ``obj`` holding traced values, as a traced
    value: its shape and dtype are NumPy's for zeros in their place."""
    template = convert(_zeros_for_traced(obj), *args, **kwargs)
    if template.dtype.kind != "f":
        raise UnsupportedDTypeError(
            f"numpy.{convert.__name__} of traced values with dtype {template.dtype}: only a"
            " real floating array carries a derivative (an integer, boolean or complex one"
            " would drop it, and NumPy would take the numbers). Leave out dtype=, or use"
            " np.floor/np.trunc for integer values (derivative 0)"
        )
    value = _stacked(obj)
    if value is obj:
        value = _as_numpy_gives(convert, obj, kwargs)
    if np.shape(value) != template.shape:
        value = np.reshape(value, template.shape)
    if value.dtype != template.dtype:
        value = value.astype(template.dtype)
    return value


def _as_numpy_gives(convert, traced, kwargs: dict):
    """``traced`` as ``convert`` gives an array back: a copy from ``np.array`` (unless
    ``copy=`` says otherwise), the array itself from ``np.asarray`` and ``np.asanyarray``,
    and from ``np.ascontiguousarray`` / ``np.asfortranarray``, whose choice depends on a
    memory layout a traced value does not have, a value that may view it (a write into
    one makes the other stale)."""
    if convert.__name__ == "array":
        return np.copy(traced) if kwargs.get("copy", True) is True else traced
    if convert.__name__ in ("asarray", "asanyarray"):
        return traced if kwargs.get("copy") is not True else np.copy(traced)
    view = np.positive(traced)
    share([traced, view])
    return view


def _zeros_for_traced(obj):
    """``obj`` with each traced value replaced by zeros of its shape and dtype."""
    if type(obj) is Traced:
        return np.zeros(obj.shape, obj.dtype)
    if isinstance(obj, (list, tuple)) and _holds_traced(obj):
        return [_zeros_for_traced(item) for item in obj]
    return obj


def _stacked(obj):
    """The array of ``obj``, a traced value or a list of them and constants: each list
    level a ``np.stack`` of its entries (NumPy has checked that they fit)."""
    if type(obj) is Traced:
        return obj
    if isinstance(obj, (list, tuple)) and _holds_traced(obj):
        return np.stack([_stacked(item) for item in obj])
    return np.asarray(obj)
