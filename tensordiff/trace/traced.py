"""Traces and the traced duck array that flows through a differentiated function.

A :class:`Trace` is one call of a differentiated function; the traces whose
functions are running form a stack (a derivative inside a derivative is one
level up), kept in the context state so threads and tasks each have their own.
A :class:`Traced` value belongs to the trace that made it.

NumPy hands every ufunc call to ``__array_ufunc__`` (NEP 13) and every other
public function to ``__array_function__`` (NEP 18). Both, and the ndarray
methods NumPy does not route (indexing, ``astype``), take one road: the top
trace among the arguments — the highest level present — applies the call
(``top_trace(args).apply(function, args, kwargs)``). A differentiating trace
runs the rule the registry (:mod:`tensordiff.trace.registry`) holds for it;
td.jit's :class:`~tensordiff.trace.tape.Tape` records it as a step. A call with
no rule raises UnsupportedOperationError: handing a duck array to NumPy's own
implementation is silently wrong for many C functions (``np.dot`` multiplies
elementwise).
"""

import functools
import linecache
import operator
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from tensordiff.core import context, trees
from tensordiff.core.dtypes import refuse_out_of_core
from tensordiff.core.templates import defined, number, readable
from tensordiff.core.term import Term
from tensordiff.errors import (
    ShapeError,
    TensorDiffError,
    TraceAttributeError,
    TraceLeakError,
    UnsupportedDTypeError,
    UnsupportedOperationError,
)
from tensordiff.trace import registry, views
from tensordiff.trace.graph import Node, texts

__all__ = [
    "Trace",
    "Traced",
    "running",
    "next_level",
    "outermost",
    "top_trace",
    "record",
    "raw",
    "as_array",
    "level_of",
    "expressions",
    "expression_sources",
    "numbers_of",
    "DataDependent",
    "Positions",
    "positions_name",
    "named",
    "valued",
    "TracedConversion",
    "keep_call",
    "apply",
    "writable_constant",
]


# ---- the stack of running traces -----------------------------------------------------
class running:  # noqa: N801  (used as a function: ``with running(trace):``)
    """Within the block, ``trace`` is running (its function is being called).

    A class, not a generator-based context manager: it opens every derivative call, and
    a gradient of a small function is a few dozen microseconds in all."""

    __slots__ = ("trace", "_token")

    def __init__(self, trace: "Trace"):
        self.trace = trace

    def __enter__(self) -> "Trace":
        registry.prepare_extras()
        self._token = context.set_fields(traces=(*context.current().traces, self.trace))
        return self.trace

    def __exit__(self, *error) -> None:
        context.reset(self._token)


def next_level() -> int:
    """The level a trace started now gets: one above every running trace."""
    return len(context.current().traces) + 1


def outermost() -> "Trace | None":
    """The running trace of level 1, if any."""
    traces = context.current().traces
    return traces[0] if traces else None


class Trace:
    """One call of a differentiated function; traced values remember which one made them.

    ``level`` is the nesting depth: a trace started while ``f`` of another trace runs
    (a derivative of a derivative) has the higher level, and its values may hold
    lower-level traced values.

    ``numbers_only``: the call's derivative is a gradient backpropagated as numbers
    (:func:`tensordiff.chain_rule.by_vector_jacobian_products`), and its formula, if
    read, comes from tracing the call again. A rule with a pull-back
    (:func:`tensordiff.trace.registry.pulls_back`) then records just the value and what
    its vector–Jacobian product needs.
    """

    __slots__ = (
        "level",
        "closed",
        "numbers_only",
        "_constants",
        "_by_layout",
        "_by_address",
        "_visible",
        "_names",
        "_fresh",
        "_unnamed",
    )

    def __init__(
        self, level: int, named: dict | Callable[[], dict] | None = None, numbers_only=False
    ):
        self.level = level
        self.closed = False  # set when its call has returned: its values are then leaks
        self.numbers_only = numbers_only
        # id -> (object, name); the object is kept so its id cannot be reused
        self._constants: dict[int, tuple] = {}
        # Arrays indexed by how they read memory, so that finding a constant among those
        # already named takes one lookup: a deep function meets a new constant per layer,
        # and a scan of all of them per call made tracing quadratic in the depth.
        self._by_layout: dict[tuple, tuple] = {}  # (address, dtype, shape, strides) -> entry
        self._by_address: dict[int, list] = {}  # first element's address -> [(order, entry)]
        self._names: set[str] = set()
        self._fresh = 1  # no name K1 ... K(fresh - 1) is free
        # ``named`` may be a function finding the names: called when a constant is first
        # looked up (a gradient computed as numbers may never name one)
        self._unnamed = named if callable(named) else None
        if not callable(named):
            self._name_all(named or {})

    def _name_all(self, named: dict) -> None:
        # one entry per object: of two names for the same array, the last one counts
        for value, name in {id(value): (value, name) for name, value in named.items()}.values():
            self._remember(value, name)
        # The arrays a slice may be named from: the user's own, known before the call.
        # Names found during the call (views, K1, ...) are left out, so looking for a
        # slice costs the same at every depth however many constants came before.
        self._visible = [
            entry for entry in self._constants.values() if isinstance(entry[0], np.ndarray)
        ]

    def _remember(self, value, name: str) -> tuple:
        entry = (value, name)
        self._constants[id(value)] = entry
        self._names.add(name)
        if isinstance(value, np.ndarray):
            address = _address(value)
            self._by_layout.setdefault((address, value.dtype, value.shape, value.strides), entry)
            self._by_address.setdefault(address, []).append((len(self._constants), entry))
        return entry

    def apply(self, function: Callable, args: Sequence, kwargs: dict):
        """``function(*args, **kwargs)`` by its rule, this trace's values unwrapped inside."""
        # Rules take NumPy's own parameter names; NumPy's "no value" sentinel means "default".
        if kwargs:
            kwargs = {name: value for name, value in kwargs.items() if value is not np._NoValue}
        # (a ufunc's pull-back, if any, has declined the call in Traced.__array_ufunc__)
        if self.numbers_only and type(function) is not np.ufunc:
            pull_back = registry.PULL_BACKS.get(function)
            result = None if pull_back is None else pull_back(self, args, kwargs)
            if result is not None:
                return result
        rule = registry.rule_for(function)
        # The state change and the error translation are spelled out, not `with` blocks:
        # this runs once per NumPy call of a traced function, where generator-based
        # context managers were a tenth of the tracing time.
        token = context.serve(self.level)
        try:
            return rule(*args, **kwargs)
        except TensorDiffError:
            raise
        except ValueError as error:
            raise self._shape_error(function, args, error) from error
        finally:
            context.reset(token)

    def close(self) -> None:
        """The call has returned: any later use of one of its values raises TraceLeakError."""
        self.closed = True

    def _shape_error(self, function: Callable, args: Sequence, error: ValueError) -> ShapeError:
        """NumPy's own ValueError on a traced call (shapes that do not fit) as a ShapeError
        naming the function and each array operand's shape, by its variable name if known."""
        operands = ", ".join(
            f"{self._display_name(x)} has shape {np.shape(x)}"
            for item in args
            for x in (item if isinstance(item, (list, tuple)) else (item,))
            if type(x) is Traced or isinstance(x, np.ndarray)
        )
        prefix = f"{registry.public_name(function)}: "
        return ShapeError(prefix + (f"{operands}: " if operands else "") + str(error))

    def _display_name(self, x) -> str:
        """A traced value's expression or a constant's variable name, kept short."""
        if type(x) is Traced:
            name = readable(x.node.expr) or "a traced value"
        else:
            known = self._lookup(x)
            name = known[1] if known is not None else "a constant"
        return name if len(name) <= 40 else name[:37] + "..."

    def name_of(self, value) -> str:
        """The display name of a constant: its variable name if known, a comparison as
        the mask ``g = [x > 0]``, else K1, K2, ... (defined in the formula's legend)."""
        if isinstance(value, Positions) and value.expr:
            return value.expr  # argmax(x): its numbers change when td.jit replays
        if isinstance(value, (int, float, np.generic)) and np.ndim(value) == 0:
            return number(value)
        if isinstance(value, DataDependent) and value.expr:
            return defined("g", f"[{value.expr}]") if value.dtype == bool else value.expr
        known = self._lookup(value)
        if known is None:
            if np.ndim(value) == 0:
                return number(np.asarray(value))
            name = self._view_name(value) or _identity_name(value) or self._fresh_name()
            known = self._remember(value, name)
        return known[1]

    def _fresh_name(self) -> str:
        """The first of K1, K2, ... that no value is called (names are only ever added),
        defined in the formula's legend."""
        while f"K{self._fresh}" in self._names:
            self._fresh += 1
        name = f"K{self._fresh}"
        self._names.add(name)  # taken, though it is remembered in its defined form
        return defined(name, "a constant array, none of the arguments")

    def _view_name(self, value) -> str | None:
        """``Aᵀ``, ``transpose(B, (2, 0, 1))``, ``reshape(A, (4, 3))``, ``ravel(A)`` or
        ``flip(y)`` for such a view of a named array."""
        if not isinstance(value, np.ndarray):
            return None
        # Each such view starts where its array does, or (a reversal) at its last element.
        starts = {_address(value)}
        if value.ndim == 1 and value.shape[0] > 1:
            starts.add(_address(value) + (value.shape[0] - 1) * value.strides[0])
        candidates = sorted(
            (item for start in starts for item in self._by_address.get(start, ())),
            key=lambda item: item[0],
        )
        for _, (named, name) in candidates:
            if named.dtype == value.dtype:
                view = _view_name(named, name, value)
                if view is not None:
                    return view
        # a row, a column, a strided range: a basic slice starting inside a user's array
        address = _address(value)
        for named, name in self._visible:
            if 0 <= address - _address(named) < named.nbytes:
                view = _slice_name(named, name, value)
                if view is not None:
                    return view
        return None

    def define(self, value, symbol: str, meaning: str | None) -> None:
        """Call the constant ``value`` ``symbol``, defined in the legend as ``meaning``
        (a rule's own constant, such as the Levi-Civita symbol ε of a cross product); with
        no meaning, ``symbol`` is an expression in the user's names (``M⁻¹``)."""
        if self._lookup(value) is None:
            self._remember(value, symbol if meaning is None else defined(symbol, meaning))

    def _lookup(self, value):
        """The entry of ``value``, or of a named array that ``value`` *is*.

        A different object counts as a named array only when it is the same memory read
        the same way (dtype, shape, strides, first element): ``A.reshape(A.shape)``, a
        full slice ``A[:]``. Any other view (``A.T``, ``y[::-1]``, ``A.ravel()`` of a
        matrix, a broadcast, a diagonal) is a different array and gets its own name, so
        a formula never shows ``A[i,j]`` where the numbers are ``A[j,i]``.
        """
        if self._unnamed is not None:
            unnamed, self._unnamed = self._unnamed, None
            self._name_all(unnamed())
        known = self._constants.get(id(value))
        if known is not None and known[0] is value:
            return known
        if not isinstance(value, np.ndarray):
            return None
        return self._by_layout.get((_address(value), value.dtype, value.shape, value.strides))


def _view_name(named: np.ndarray, name: str, value: np.ndarray) -> str | None:
    """How ``value`` is made from ``named`` if it is a reshape, an axis permutation or a 1-d
    reversal of it."""
    axes = list(zip(named.shape, named.strides, strict=True))
    if (
        value.size == named.size > 1
        and np.squeeze(value).shape != np.squeeze(named).shape  # not only unit axes
        and _address(value) == _address(named)
        and value.flags.c_contiguous
        and named.flags.c_contiguous
    ):
        return f"ravel({name})" if value.ndim == 1 else f"reshape({name}, {value.shape})"
    if named.ndim == 1 and value.shape == named.shape and named.shape[0] > 1:
        last = _address(named) + (named.shape[0] - 1) * named.strides[0]
        reversed_ = value.strides[0] == -named.strides[0] and _address(value) == last
        return f"flip({name})" if reversed_ else None
    if named.ndim < 2 or value.ndim != named.ndim or _address(value) != _address(named):
        return None
    if len(set(axes)) != len(axes) or any(size == 1 for size, _ in axes):
        return None  # an axis permutation would be ambiguous
    where = {axis: n for n, axis in enumerate(axes)}
    order = tuple(where.get(axis) for axis in zip(value.shape, value.strides, strict=True))
    if None in order or order == tuple(range(named.ndim)):
        return None
    if named.ndim == 2:
        return f"{name}ᵀ"
    return f"transpose({name}, {order})"


def _slice_name(named: np.ndarray, name: str, value: np.ndarray) -> str | None:
    """``W[1]``, ``W[:,2]``, ``y[1::2]``, ``y[:1]`` if ``value`` is that basic slice of
    ``named``: the slice is checked by taking it, so a name is given only to the very same
    memory read the same way (None for anything else)."""
    if named.dtype != value.dtype or not named.flags.c_contiguous:
        return None
    if not 0 < value.ndim <= named.ndim:
        return None
    offset, size = _address(value) - _address(named), named.itemsize
    if offset < 0 or offset % size or offset // size >= named.size:
        return None
    start = np.unravel_index(offset // size, named.shape)
    parts, axis = [], 0
    for n, stride in enumerate(named.strides):
        if axis < value.ndim and value.shape[axis] == 1:
            step = 1  # a unit axis (y[:1]) reads alike whatever its stride: a range of one
        elif axis < value.ndim and value.strides[axis] % stride == 0:
            step = value.strides[axis] // stride
        else:
            step = 0
        if step:
            end = start[n] + step * value.shape[axis]
            if not 0 <= end - step < named.shape[n]:
                return None
            parts.append(_slice_text(int(start[n]), int(step), int(end), named.shape[n]))
            axis += 1
        else:
            parts.append(int(start[n]))
    if axis != value.ndim:
        return None
    taken = named[tuple(p if isinstance(p, int) else slice(*p[0]) for p in parts)]
    strides = zip(taken.strides, value.strides, value.shape, strict=False)
    if (
        taken.shape != value.shape
        or any(a != b and length > 1 for a, b, length in strides)
        or _address(taken) != _address(value)
    ):
        return None
    written = [str(p) if isinstance(p, int) else p[1] for p in parts]
    while written and written[-1] == ":":
        written.pop()  # W[1], not W[1,:]
    return f"{name}[{','.join(written)}]" if written else None


def _slice_text(start: int, step: int, end: int, size: int) -> tuple[tuple, str]:
    """The slice from ``start`` by ``step`` up to (not including) ``end`` on an axis of
    ``size``, as ``slice`` arguments and as written: ``1::2``, ``:3``, ``:``."""
    stop = None if (end >= size if step > 0 else end < 0) else end
    first = "" if start == (0 if step > 0 else size - 1) else str(start)
    text = f"{first}:{'' if stop is None else stop}" + ("" if step == 1 else f":{step}")
    return (start, stop, step), text


def _identity_name(value) -> str | None:
    """``I₃`` for a constant that is the 3×3 identity (``np.eye(3)``, made inside the
    function, has no name of the user's), else None."""
    shape = np.shape(value)
    if len(shape) != 2 or shape[0] != shape[1]:
        return None
    value = np.asarray(value)
    # two entries rule most matrices out without building an identity to compare with
    if shape[0] and (value[0, 0] != 1 or (shape[0] > 1 and value[1, 0] != 0)):
        return None
    if not np.array_equal(value, np.eye(shape[0])):
        return None
    return "I" + str(shape[0]).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def top_trace(args: Sequence, kwargs: dict | None = None) -> "Trace | None":
    """The trace of the highest level among the arguments: the one that applies the call.

    Arguments are searched one list level deep (``np.stack([a, b])``), and deeper only
    when that finds nothing. None when no argument is traced.
    """
    top = _top_of((*args, *(kwargs or {}).values()))
    if top is None:
        found = [x for x in trees.leaves((args, kwargs)) if type(x) is Traced]
        for x in found:
            x.check_current()
        traced = [_open(x._trace) for x in found]
        top = max(traced, key=lambda trace: trace.level, default=None)
    return top


def apply(function: Callable, args: Sequence, kwargs: dict, like: "Traced | None" = None):
    """``function(*args, **kwargs)`` applied by the top trace among the arguments.

    Its traced results may view the memory of its traced arguments unless NumPy gives
    new memory (:mod:`tensordiff.trace.views`), so that a later write into one leaves the
    others stale. ``out=`` traced arrays are written, as NumPy writes into them. ``like``
    is the traced value NumPy handed the call to; with no traced argument, the call was
    given ``like=`` it (``np.zeros(3, like=t)``), which NumPy passes on without.
    """
    out = kwargs.get("out")
    if out is not None and all(type(x) is Traced for x in _items(out)):
        result = apply(function, args, {k: v for k, v in kwargs.items() if k != "out"})
        for target, value in zip(_items(out), _items(result), strict=True):
            target.write(value)
        return out[0] if isinstance(out, tuple) and len(out) == 1 else out
    trace = top_trace(args, kwargs)
    if trace is None and like is not None:
        return apply(registry.created_like, (like, function, *args), kwargs)
    result = trace.apply(function, args, kwargs)
    # (a ufunc, most calls, computes new memory: known without the general question)
    if type(function) is not np.ufunc and not views.gives_new_memory(function, args, kwargs):
        views.share(_traced_by(trace, (*args, result)))
        if function is operator.getitem and type(result) is Traced and result is not args[0]:
            result._base = (args[0], args[1])
    return result


def _items(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def _traced_by(trace: Trace, inputs: Sequence) -> list:
    """The values of ``trace`` among ``inputs``, one list level deep."""
    return [
        item
        for x in inputs
        for item in (x if isinstance(x, (list, tuple)) else (x,))
        if type(item) is Traced and item._trace is trace
    ]


def _open(trace: Trace) -> Trace:
    """``trace``, unless its call has returned (its value leaked out): TraceLeakError."""
    if trace.closed:
        raise TraceLeakError(_leaked_message())
    return trace


def _leaked_message() -> str:
    return (
        f"a traced value was used after the differentiated call that made it returned{_where()};"
        " it was stored outside f (a global, an attribute, a list), where its derivative can"
        " no longer be recorded. Return what you need from f, or compute it outside f"
    )


def _top_of(inputs: Sequence) -> "Trace | None":
    """The highest-level trace of the traced values in ``inputs``, one list level deep."""
    top = None
    for x in inputs:
        for item in x if isinstance(x, (list, tuple)) else (x,):
            if type(item) is Traced:
                trace = item._trace
                if trace.closed:  # (_open, written out: this runs for every NumPy call)
                    raise TraceLeakError(_leaked_message())
                if item._stale is not None:
                    item.check_current()
                if top is None or trace.level > top.level:
                    top = trace
    return top


class TracedConversion(TraceLeakError):
    """NumPy asked a live traced value for its numbers (``Traced.__array__``).

    Raised inside NumPy's own conversion, so that a caller that can build the array from
    traced values instead (:mod:`tensordiff.ops.array_building`) knows to; any other
    caller sees the TraceLeakError it is.
    """


class Traced(NDArrayOperatorsMixin):
    """A value inside a traced function. Users never construct it."""

    # _trace, not trace: ``trace`` is an ndarray method. _memory: the traced values that
    # may view the same memory (:mod:`tensordiff.trace.views`); _stale: where a write
    # into that memory left this value behind.
    # _base: for a view made by basic indexing, (the array indexed, the index), so that a
    # write into the view is written into that array too, as NumPy's is.
    __slots__ = ("value", "node", "_trace", "_memory", "_stale", "_base", "__weakref__")

    def __init__(self, value: np.ndarray, node: Node, trace: Trace):
        self.value = value
        self.node = node
        self._trace = trace
        self._memory = None
        self._stale = None
        self._base = None

    # ---- array protocols ----------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if self._trace.numbers_only and method == "__call__" and not kwargs:
            pull_back = registry.PULL_BACKS.get(ufunc)
            # (the rule declines, None, anything but the plain call on this trace's values)
            result = None if pull_back is None else pull_back(self._trace, inputs, kwargs)
            if result is not None:
                return result
        function = ufunc if method == "__call__" else getattr(ufunc, method)
        # traced values and Python numbers (most calls) are known and real by their type
        if not all(type(x) in _REAL_OPERANDS for x in inputs):
            _refuse_complex(function, inputs)
            if not all(_is_known(x) for x in inputs):
                _refuse_out_of_core(function, inputs)
                return NotImplemented  # let other array types (pint, ...) try
        return apply(function, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if not all(issubclass(t, (Traced, np.ndarray)) for t in types):
            _refuse_out_of_core(func, args)
            return NotImplemented
        _refuse_complex(func, args)
        return apply(func, args, kwargs, like=self)

    # ---- conversions to plain numbers, each naming the call and what to write -----------
    def __array__(self, dtype=None, copy=None):
        called = re.search(r"\bnp\.(u?int\d*|float\d*|double|single|half|bool_?)\(", _where())
        if called and called.group(1).startswith(("int", "uint", "bool")):
            instead = (
                f"np.{called.group(1)}(t) makes an integer of a traced value, whose derivative"
                " would be lost. Use np.floor(t) or np.trunc(t) (derivative 0), or compute"
                " integers outside f"
            )
        elif called:
            instead = (
                f"np.{called.group(1)}(t) makes a NumPy scalar, which holds no derivative."
                " A traced value is already a float array: use t (t.astype(np.float32) to"
                " change the precision, t.reshape(()) for a 0-d value)"
            )
        else:
            instead = (
                "np.array/np.asarray of a traced value work (through names looked up on the"
                " numpy module); this conversion did not go through them: a name bound before"
                " tensordiff's first trace (`from numpy import asarray`: write np.asarray), a"
                " NumPy function converting a list holding traced values (np.exp([a, b]):"
                " write np.exp(np.array([a, b]))), or a NumPy array's method or slice"
                " assignment (a.dot(t), buf[:2] = t: write np.dot(a, t), np.concatenate, or"
                " make buf with np.zeros_like(x) of a traced x)"
            )
        self._leak(
            f"a traced value was converted to a plain ndarray, which would silently"
            f" drop its derivative; {instead}",
            TracedConversion,
        )

    def __bool__(self):
        self._leak(
            "a traced value was used as a truth value (if x > 0: ...); a data-dependent"
            " branch would fix one path of the derivative. Use np.where/np.maximum/np.minimum,"
            " or move the branch outside the differentiated function"
        )

    def __float__(self):
        called = re.search(r"\bmath\.(\w+)\(", _where())
        instead = f"np.{called.group(1)}(t)" if called else "np.exp(t), not math.exp(t)"
        self._leak(
            "a traced value was turned into a Python number (float(t), a math-module function"
            " such as math.exp(t), or an assignment buf[i] = t into a NumPy array); this would"
            f" drop its derivative. Use the NumPy function ({instead}); build arrays with"
            " np.stack/np.concatenate/np.where, or assign into a buffer made from a traced"
            " value (buf = np.zeros_like(x), not np.zeros(n))"
        )

    def __int__(self):
        self._leak(
            "int() of a traced value would drop its derivative; use np.floor/np.trunc (their"
            " derivative is 0), or compute integers outside f"
        )

    def __index__(self):
        self._leak(
            "a traced value was used as an integer (an index, a size, range(t)); indices and"
            " sizes must be constants. Use integer arrays computed outside f"
        )

    def __complex__(self):
        self._leak(
            "complex() or a cmath function of a traced value; tensordiff differentiates real"
            " arrays. Carry the real and imaginary parts as separate real arrays"
        )

    def __format__(self, spec: str) -> str:
        if not spec:
            return repr(self)
        self._leak(
            f"formatting a traced value's numbers (f'{{t:{spec}}}'); it holds no fixed"
            " numbers while traced. Print the result after the call"
        )

    def __reduce_ex__(self, protocol):
        self._leak(
            "pickling (or saving) a traced value; it exists only while f runs. Save the"
            " result after the call"
        )

    def __dlpack__(self, *args, **kwargs):
        self._leak(
            "exporting a traced value to another library (DLPack: torch, JAX, CuPy); its"
            " derivative would be lost. Differentiate NumPy code, or convert after the call"
        )

    __dlpack_device__ = __dlpack__

    def _leak(self, message: str, error: type = TraceLeakError):
        """Raise ``error`` (a TraceLeakError): the user's line, then ``message``; or, after
        the call, the leak."""
        if self._trace.closed:
            raise TraceLeakError(_leaked_message())
        where = _where()
        raise error(f"{where.lstrip()}: {message}" if where else message)

    # ---- array attributes -----------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def size(self) -> int:
        return self.value.size

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    @property
    def T(self) -> "Traced":
        return np.transpose(self)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d traced value")
        return self.shape[0]

    def __getitem__(self, index):
        return apply(operator.getitem, (self, index), {})

    def __iter__(self):
        return (self[n] for n in range(len(self)))

    def __setitem__(self, index, value):
        self.write(apply(registry.assign, (self, index, value), {}))

    # ---- writing in place -----------------------------------------------------------
    def write(self, new) -> None:
        """Make this value ``new`` in place, as NumPy writes into an array: every name
        bound to this object sees the new value, and every other traced value that
        viewed its memory (``x[1:]``, ``x.T``) is stale from now on (using it raises).

        ``new`` must have this value's shape (it is cast to its dtype, as NumPy casts
        what it writes)."""
        self.check_current()
        if self._memory is not None and self._memory.argument:
            self._leak(
                "a write into an argument of a td.jit function (or a view of one): the"
                " caller's array would change, which a replay cannot do (run uncached)"
            )
        if type(new) is not Traced or new._trace is not self._trace:
            if top_trace((self, new)) is not self._trace:
                raise UnsupportedOperationError(
                    f"a write{_where()} puts a value traced by an inner derivative call into a"
                    " traced value of an outer one, which cannot hold its derivative; compute"
                    " the value inside the inner function, or return it from there"
                )
            # a constant here (a comparison's result, a value of an enclosing trace): the
            # whole array assigned, as x[...] = new
            new = apply(registry.assign, (self, Ellipsis, new), {})
        if new.shape != self.shape:
            raise ShapeError(
                f"a write{_where()}: the value written has shape {new.shape}, but the array"
                f" written into has shape {self.shape}, and a write cannot change it"
            )
        if new.dtype != self.dtype:
            new = new.astype(self.dtype)
        self.value, self.node = new.value, new.node
        # a view made by indexing writes into the array it indexes (and so on up)
        written, view = [self], self
        while view._base is not None and view._base[0]._stale is None:
            owner, index = view._base
            changed = apply(registry.assign, (owner, index, view), {})
            owner.value, owner.node = changed.value, changed.node
            written.append(owner)
            view = owner
        views.written(written, _where())

    def check_current(self, what: str = "a traced value used") -> None:
        """UnsupportedOperationError if a write into memory this value views came after
        it was made (NumPy would show the write through it; tensordiff does not)."""
        if self._stale is not None:
            raise UnsupportedOperationError(
                f"{what}{_where()} views the memory of an array that was written"
                f" in place afterwards{self._stale}. NumPy would show the write through"
                " the view too; tensordiff records a write into the array written only. Read"
                " the view again after the write, or take a copy before it (y = x[...].copy())"
            )

    def _in_place(self, result) -> "Traced":
        """``x op= y``: the result written into ``x`` (the same object, as NumPy's)."""
        if np.shape(result) != self.shape:
            raise ShapeError(
                f"an in-place operation{_where()}: the result has shape {np.shape(result)},"
                f" which does not fit the array written into, of shape {self.shape}"
            )
        self.write(result)
        return self

    # ---- array methods (not protocols: NumPy does not route them) ------------
    # Each method calls its NumPy function, which comes back through
    # __array_function__ / __array_ufunc__: one rule serves ``np.max(x)`` and ``x.max()``,
    # and a method whose function has no rule yet is refused naming that function.
    # The methods whose signature matches ``numpy.<f>(x, ...)`` are made from a table
    # below the class; these ones order or name their arguments differently.
    def reshape(self, *shape, order="C", copy=None):
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        kwargs = {} if copy is None else {"copy": copy}
        return np.reshape(self, shape, order=order, **kwargs)

    def flatten(self, order="C"):
        # taken for a view (a write into either makes the other stale), where NumPy copies
        return np.ravel(self, order=order)

    def transpose(self, *axes):
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], int)):
            axes = axes[0]
        return np.transpose(self, axes or None)

    def clip(self, min=None, max=None, out=None, **kwargs):
        return np.clip(self, min, max, out=out, **kwargs)

    def compress(self, condition, axis=None, out=None):
        return np.compress(condition, self, axis=axis, out=out)

    def dot(self, b, out=None):
        return np.dot(self, b) if out is None else np.dot(self, b, out=out)

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        if not copy and np.dtype(dtype) == self.dtype:
            return self  # NumPy's own array, so that a write into it is seen here too
        return apply(registry.cast, (self, dtype), {})

    # methods that write in place: the result written into this value
    def sort(self, axis=-1, kind=None, order=None):
        self.write(np.sort(self, axis=axis, kind=kind, order=order))

    def partition(self, kth, axis=-1, kind="introselect", order=None):
        self.write(np.partition(self, kth, axis=axis, kind=kind, order=order))

    def fill(self, value):
        self[...] = value

    def put(self, indices, values, mode="raise"):
        np.put(self, indices, values, mode=mode)

    def __copy__(self):
        return np.copy(self)

    def __deepcopy__(self, memo=None):
        return np.copy(self)

    @property
    def real(self) -> "Traced":
        return np.real(self)

    @property
    def imag(self) -> "Traced":
        return np.imag(self)

    @property
    def mT(self) -> "Traced":
        if self.ndim < 2:
            raise ShapeError(f"x.mT needs at least 2 dimensions, got shape {self.shape}")
        return np.swapaxes(self, -1, -2)  # what numpy.matrix_transpose does

    @property
    def flat(self) -> "Traced":
        return np.ravel(self)  # reading x.flat[i] is reading the raveled value

    @property
    def itemsize(self) -> int:
        return self.value.itemsize

    @property
    def nbytes(self) -> int:
        return self.value.nbytes

    @property
    def device(self) -> str:
        return "cpu"

    def __contains__(self, item):
        raise TraceLeakError(
            f"`v in x` on a traced value{_where()} tests the values, a data-dependent truth"
            " value; use np.any(x == v) and keep the branch outside the differentiated function"
        )

    def __delitem__(self, index):
        raise UnsupportedOperationError(
            f"del x[...] on a traced value{_where()} mutates in place; select what remains"
            " instead (x[mask], np.concatenate of slices)"
        )

    # ---- in-place operators write into the value, as NumPy's do ---------------------
    # ``t += 1`` would otherwise call np.add(t, 1, out=(t,)); here the sum is computed and
    # written into ``t`` itself, so another name for ``t`` sees it (and a view of it is
    # stale), as in NumPy.
    def __iadd__(self, other):
        return self._in_place(self + other)

    def __isub__(self, other):
        return self._in_place(self - other)

    def __imul__(self, other):
        return self._in_place(self * other)

    def __itruediv__(self, other):
        return self._in_place(self / other)

    def __ipow__(self, other):
        return self._in_place(self**other)

    def __imatmul__(self, other):
        return self._in_place(self @ other)

    def __ifloordiv__(self, other):
        return self._in_place(self // other)

    def __imod__(self, other):
        return self._in_place(self % other)

    def __iand__(self, other):
        return self._in_place(self & other)

    def __ior__(self, other):
        return self._in_place(self | other)

    def __ixor__(self, other):
        return self._in_place(self ^ other)

    def __ilshift__(self, other):
        return self._in_place(self << other)

    def __irshift__(self, other):
        return self._in_place(self >> other)

    def __repr__(self) -> str:
        return f"Traced({self.node.op}, shape={self.shape}, dtype={self.dtype})"


# ndarray methods whose signature is ``numpy.<f>(x, ...)``: ``x.max(0)`` is ``np.max(x, 0)``.
_ROUTED = {
    "all": np.all,
    "any": np.any,
    "argmax": np.argmax,
    "argmin": np.argmin,
    "argpartition": np.argpartition,
    "argsort": np.argsort,
    "choose": np.choose,
    "conj": np.conjugate,
    "conjugate": np.conjugate,
    "copy": np.copy,
    "cumprod": np.cumprod,
    "cumsum": np.cumsum,
    "diagonal": np.diagonal,
    "max": np.max,
    "mean": np.mean,
    "min": np.min,
    "nonzero": np.nonzero,
    "prod": np.prod,
    "ravel": np.ravel,
    "repeat": np.repeat,
    "round": np.round,
    "searchsorted": np.searchsorted,
    "squeeze": np.squeeze,
    "std": np.std,
    "sum": np.sum,
    "swapaxes": np.swapaxes,
    "take": np.take,
    "trace": np.trace,
    "var": np.var,
}

# ndarray methods with no meaning on a traced value: what each does, and what to write.
_REFUSED = {
    "tolist": (TraceLeakError, "turns it into Python numbers; keep it an array (x[i], for v in x)"),
    "item": (TraceLeakError, "turns it into a Python number; use x[i] or x.reshape(())"),
    "tobytes": (TraceLeakError, "reads its bytes; convert the result after the call"),
    "tofile": (TraceLeakError, "writes its numbers out; save the result after the call"),
    "dump": (TraceLeakError, "pickles it; save the result after the call"),
    "dumps": (TraceLeakError, "pickles it; save the result after the call"),
    "resize": (UnsupportedOperationError, "resizes in place; use x.reshape(shape)"),
    "byteswap": (UnsupportedOperationError, "reinterprets its bytes; use the values as they are"),
    "getfield": (UnsupportedOperationError, "reinterprets its bytes; use x.astype(dtype)"),
    "setfield": (UnsupportedOperationError, "writes its bytes in place; build a new array"),
    "setflags": (UnsupportedOperationError, "changes memory flags; a traced value has no memory"),
    "view": (UnsupportedOperationError, "reinterprets its memory; use x, or x.astype(dtype)"),
    "to_device": (UnsupportedOperationError, "moves its memory; move the result after the call"),
}

# ndarray attributes that describe memory, which a traced value does not have
_MEMORY_ATTRIBUTES = ("base", "ctypes", "data", "flags", "strides")


def _routed(name: str, function: Callable):
    def method(self, *args, **kwargs):
        return function(self, *args, **kwargs)

    method.__name__, method.__qualname__ = name, f"Traced.{name}"
    method.__doc__ = f"``x.{name}(...)`` is ``numpy.{registry.qualified_name(function)}(x, ...)``."
    return method


def _refused(name: str, error: type, consequence: str):
    def method(self, *args, **kwargs):
        if self._trace.closed:
            raise TraceLeakError(_leaked_message())
        raise error(f"x.{name}() on a traced value{_where()} {consequence}")

    method.__name__, method.__qualname__ = name, f"Traced.{name}"
    method.__doc__ = f"Refused: ``x.{name}()`` {consequence}."
    return method


def _memory_attribute(name: str) -> property:
    def get(self):
        raise TraceAttributeError(
            f"x.{name} of a traced value{_where()}: it describes an array's memory, and a"
            " traced value has none while f runs. Use x.shape, x.dtype, x.ndim or x.size"
        )

    return property(get, doc=f"Refused: ``x.{name}`` describes memory.")


for _name, _function in _ROUTED.items():
    setattr(Traced, _name, _routed(_name, _function))
for _name, (_error, _consequence) in _REFUSED.items():
    setattr(Traced, _name, _refused(_name, _error, _consequence))
for _name in _MEMORY_ATTRIBUTES:
    setattr(Traced, _name, _memory_attribute(_name))


# ---- constants computed from traced values -------------------------------------------
class DataDependent(np.ndarray):
    """A comparison of traced values (``x > 0``, ``np.sum(x) > 0``), or another ufunc whose
    derivative is zero (``np.floor(x)``, ``np.sign(x)``): a constant for the derivative,
    whose numbers nonetheless follow the traced values.

    It is a plain array for everything NumPy does with it — ``np.where(x > 0, x, 0)``,
    masks, ``&``, ``~``, ``.any()``, arithmetic — and what it computes stays
    data-dependent. Only turning it into a Python value is refused: ``if np.sum(x) > 0:``
    would silently take one branch, and the derivative would follow that branch only.

    >>> import numpy as np, tensordiff as td
    >>> td.jacobian(lambda x: x if np.sum(x) > 0 else -x)(np.ones(2))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tensordiff.errors.TraceLeakError: at ...: the truth value of `sum(x) > 0` ...
    >>> np.asarray(td.grad(lambda x: np.sum(np.where(x > 0, x, 0.1 * x)))(np.array([-1.0, 2.0])))
    array([0.1, 1. ])
    """

    expr: str = ""  # how the comparison reads in formulas (``Σ x > 0``), for messages

    @classmethod
    def of(cls, value, expr: str) -> "DataDependent":
        made = np.asarray(value).view(cls)
        made.expr = expr
        return made

    def __array_finalize__(self, parent):
        self.expr = getattr(parent, "expr", "")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if any(type(x) is Traced for x in inputs):
            return NotImplemented  # the traced operand's rule applies the call
        plain = [_plain(x) for x in inputs]
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_plain(x) for x in out)
        result = getattr(ufunc, method)(*plain, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        expr = next((x.expr for x in inputs if isinstance(x, DataDependent)), "")
        if isinstance(result, tuple):
            return tuple(DataDependent.of(r, expr) for r in result)
        return DataDependent.of(result, expr) if result is not NotImplemented else result

    def __getitem__(self, index):
        return DataDependent.of(super().__getitem__(index), self.expr)

    def __bool__(self):
        what = f"`{readable(self.expr)}`" if self.expr else "a comparison of traced values"
        self._refuse(
            f"the truth value of {what} (if, while, and/or/not, assert) depends on the traced"
            " values; a branch on it would silently fix one path of the derivative. Compute"
            " both sides and choose elementwise with np.where(condition, a, b) (or"
            " np.maximum/np.minimum/np.clip), or move the branch outside the differentiated"
            " function"
        )

    def __float__(self):
        self._refuse(self._number_message("float()"))

    def __int__(self):
        self._refuse(self._number_message("int()"))

    def item(self, *args):
        self._refuse(self._number_message(".item()"))

    def tolist(self):
        self._refuse(self._number_message(".tolist()"))

    def _number_message(self, call: str) -> str:
        what = f"`{readable(self.expr)}`" if self.expr else "a value computed from traced values"
        return (
            f"{call} of {what} depends on the traced values: a Python number made from it"
            " (a loop count, a branch) would silently fix one path of the derivative. Keep it"
            " an array (np.where, masks), or compute it outside the differentiated function"
        )

    @staticmethod
    def _refuse(message: str):
        where = _where()
        raise TraceLeakError(f"{where.lstrip()}: {message}" if where else message)


class Positions(np.ndarray):
    """Integer positions found from traced values (``np.argsort(x)``, ``np.argmax(x)``):
    constants for the derivative, and plain integers for everything else (indices,
    ``int()``, arithmetic). They carry how they were computed (``argsort(x)``), so that
    an index by them reads the same in a fresh formula and in a td.jit replay (where the
    numbers are new); anything derived from them (``p[::-1]``, ``p + 1``) reads as
    ``idx``, defined in the legend.
    """

    expr: str = ""

    @classmethod
    def of(cls, value, expr: str):
        """``value`` named ``expr``; on td.jit's tape (a traced value there) its node is."""
        if type(value) is Traced:
            return named(value, expr)
        made = np.asarray(value).view(cls)
        made.expr = expr
        return made

    def __array_finalize__(self, parent):
        self.expr = ""  # a derived array is not what its parent's expression says


def named(value, expr: str):
    """``value``, a constant computed from traced values, read as ``expr`` in formulas: in
    a fresh trace (a DataDependent) and on td.jit's tape (its traced value's node) alike."""
    if type(value) is Traced:
        value.node.expr = value.node.expr or expr
        return value
    return DataDependent.of(value, expr)


def valued(formula, exact):
    """``formula``'s derivative with the numbers ``exact`` (NumPy's own, to the last bit):
    ``formula − formula₀ + exact``, with ``formula₀`` its value as a constant (the
    difference is exactly 0). It reads as ``formula`` does in formulas."""
    result = formula - raw(formula) + exact
    if type(result) is Traced and type(formula) is Traced and result._trace is formula._trace:
        result.node.expr = formula.node.expr
    return result


def positions_name(entry, symbol: bool = True) -> str | None:
    """How integer positions computed from traced values read in a formula: their
    expression (``argsort(x)``), else the symbol ``idx`` defined in the legend (``""``
    with ``symbol=False``); None for constant positions, which read as their numbers."""
    if type(entry) is Traced or isinstance(entry, Positions):
        named = entry.node.expr if type(entry) is Traced else entry.expr
        if named or not symbol:
            return named
        return defined("idx", "integer positions computed from the arguments' values")
    return None


def _plain(x):
    """``x`` as a plain ndarray if it is a DataDependent (a view, no copy)."""
    return x.view(np.ndarray) if isinstance(x, DataDependent) else x


# Frames of tensordiff and NumPy are skipped when naming the user's line.
_LIBRARY_DIRS = (str(Path(__file__).resolve().parents[1]), str(Path(np.__file__).parent))


def _where() -> str:
    """`` at f.py:12: `math.exp(s)` ``: the user's line that reached this point, if known."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY_DIRS):
        frame = frame.f_back
    if frame is None:
        return ""
    filename, line = frame.f_code.co_filename, frame.f_lineno
    text = linecache.getline(filename, line).strip()
    place = f"{Path(filename).name}:{line}"
    return f" at {place}: `{text}`" if text else f" at {place}"


def _refuse_complex(function: Callable, args: Sequence) -> None:
    """UnsupportedDTypeError naming ``function`` if a complex constant meets a traced value."""
    for item in args:
        for x in item if isinstance(item, (list, tuple)) else (item,):
            if isinstance(x, complex) or (
                isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind == "c"
            ):
                what = repr(x) if np.ndim(x) == 0 else f"a complex array of shape {x.shape}"
                raise UnsupportedDTypeError(
                    f"{registry.public_name(function)}{_where()}: the complex operand"
                    f" {what} meets a traced value; tensordiff differentiates real arrays. Carry"
                    " the real and imaginary parts as separate real arrays"
                )


# Operands that need no closer look: known to the rules, and never complex.
_REAL_OPERANDS = frozenset({Traced, float, int, bool})


def _is_known(x) -> bool:
    return isinstance(x, (Traced, np.ndarray, np.generic, int, float, bool, list, tuple))


def define_constant(value, symbol: str, meaning: str | Callable[[], str] | None) -> None:
    """Give a rule's constant its symbol in every running trace (see :meth:`Trace.define`);
    a callable ``meaning`` is written only if a trace is running (a derivative tracing the
    rule's numbers, as a Hessian does)."""
    traces = context.current().traces
    if traces and callable(meaning):
        meaning = meaning()
    for trace in traces:
        trace.define(value, symbol, meaning)


def level_of(inputs: Sequence) -> int:
    """The highest trace level among ``inputs`` (one list level deep), 0 if none."""
    top = _top_of(inputs)
    return 0 if top is None else top.level


def raw(x):
    """The value of ``x`` at the level being served: unwrapped if traced there.

    Values of enclosing traces (lower levels) stay traced, so the NumPy calls a
    rule makes on them are recorded by their own trace.
    """
    if type(x) is Traced and x._trace.level == context.current().serving_level:
        return x.value
    return _plain(x)  # rules work on plain arrays: a Python value of them is not a branch


def numbers_of(x) -> np.ndarray:
    """The plain numbers of ``x`` whatever the traces around it: for a check that raises or
    a size NumPy itself reads off the values, never for a value a rule computes."""
    while type(x) is Traced:
        x = x.value
    return _plain(np.asarray(x))


def _refuse_out_of_core(function, operands) -> None:
    """A Dask, xarray or Zarr operand beside a traced value: our error, not NumPy's
    "all returned NotImplemented" (nor a silent load)."""
    name = getattr(function, "__name__", "a NumPy function")
    for operand in operands:
        refuse_out_of_core(operand, f"an operand of numpy.{name} on a traced value")


def as_array(x):
    """``np.asarray(x)``, except that traced values of enclosing traces stay as they are
    (and a Dask, xarray or Zarr array is refused, not loaded)."""
    kind = type(x)
    if kind is Traced or kind is np.ndarray:
        return x
    refuse_out_of_core(x, "a constant in the differentiated function")
    return np.asarray(x)


def expressions(inputs: Sequence) -> list[str]:
    """How each input reads in formulas: a traced value's expression (a long one by a
    reference, :func:`~tensordiff.core.templates.intermediate`), a constant's name."""
    return texts(expression_sources(inputs))


def expression_sources(inputs: Sequence) -> tuple:
    """What each input's text in formulas is read from (:func:`expressions` reads them
    now, a :class:`~tensordiff.trace.graph.Node` written lazily later): a traced value's
    node as it is now, a constant's name, found now (constants are named K1, K2, ... in
    the order the function meets them)."""
    out = []
    for x in inputs:
        if type(x) is Traced:
            out.append(x.node)
        elif x is None:
            out.append("")
        else:  # a constant, named by the trace of the highest level (found only for them)
            level = level_of(inputs)
            trace = next(
                (y._trace for y in inputs if type(y) is Traced and y._trace.level == level), None
            )
            out.append("K" if trace is None else trace.name_of(x))
    return tuple(out)


def record(
    op: str,
    value,
    inputs: Sequence,
    builder: Callable[[int], Term],
    template: str | None = None,
    expr: str | None = None,
    sources: tuple | None = None,
) -> Traced:
    """A traced result ``value`` of ``op``; ``builder(n)`` gives ∂value/∂inputs[n].

    The parents are the inputs traced at the highest level present. ``template``
    (``"{0} + {1}"``) writes the value as an expression of its inputs, for
    explanations, when it is first read; by default ``op(input, ...)``. A rule that has
    written the expression already passes it as ``expr``; one that has taken its
    inputs' :func:`expression_sources` (for the names of its factors) passes them.
    """
    trace, positions = _recording_trace(inputs)
    value = as_array(value)
    # a partial, not a lambda: calling it runs no Python frame of its own
    parents = tuple([(inputs[n].node, functools.partial(builder, n)) for n in positions])
    if expr is not None:
        return Traced(value, Node(op, value.shape, parents, expr), trace)
    # written when first read: a gradient computed as numbers never reads it
    if sources is None:
        sources = expression_sources(inputs)
    node = Node(op, value.shape, parents, written_from=(template, sources))
    return Traced(value, node, trace)


def _recording_trace(inputs: Sequence) -> tuple[Trace, list[int]]:
    """The trace of the highest level among ``inputs`` and the positions of its values.

    One pass, as this runs for every recorded value. A rule passes the traced values
    themselves: a list among the inputs holding a value of a higher level is a rule's
    mistake (TypeError), as its derivative would have no parent to flow to.
    """
    trace, positions, lists = None, [], False
    for n, x in enumerate(inputs):
        lists = lists or isinstance(x, (list, tuple))
        if type(x) is Traced:
            mine = _open(x._trace)
            if trace is None or mine.level > trace.level:
                trace, positions = mine, [n]
            elif mine.level == trace.level:
                if mine is not trace:
                    raise UnsupportedOperationError(
                        "values from two different derivative calls at the same nesting level"
                        " meet in one operation; a traced value escaped from the call that"
                        " made it"
                    )
                positions.append(n)
    if trace is None or lists and level_of(inputs) > trace.level:
        raise TypeError("record() needs the traced values themselves among its inputs")
    return trace, positions


def writable_constant(value, like: Traced, expr: str):
    """``value``, a constant made like ``like`` (``np.zeros_like(x)``, ``np.zeros(3,
    like=x)``), as a traced value of ``like``'s trace with no parents when it holds floats:
    its derivative is zero, and a later write of traced values into it (``acc += t``,
    ``out[i] = t``) is recorded, where a NumPy array could not hold the written values'
    derivatives. An integer or boolean array (a mask, counts) stays as it is."""
    value = as_array(value)
    if not np.issubdtype(value.dtype, np.inexact):
        return value
    return Traced(value, Node("constant", value.shape, (), expr), _open(like._trace))


def plain_inputs(trace: Trace, inputs: Sequence) -> list | None:
    """The values of a call's ``inputs`` for a rule that pulls back numbers
    (:func:`~tensordiff.trace.registry.pulls_back`): each value of ``trace`` unwrapped, each
    constant as it is. None if an input needs the full rule: a value of another trace or a
    stale one, a constant that is not a real number or plain real array, or ``trace``
    already closed (the full rule says so)."""
    if trace.closed:
        return None
    values = []
    for x in inputs:
        kind = type(x)
        if kind is Traced:
            if x._trace is not trace or x._stale is not None:
                return None
            values.append(x.value)
        elif (
            kind is float
            or kind is int
            or ((kind is np.ndarray or isinstance(x, np.generic)) and x.dtype.kind in "fiub")
        ):
            values.append(x)
        else:
            return None
    return values


def plain_sources(trace: Trace, inputs: Sequence) -> tuple:
    """:func:`expression_sources` of inputs :func:`plain_inputs` accepted, a constant's name
    found when the text is written (a gradient computed as numbers writes it only for an
    error message; its formula comes from tracing the call again)."""
    return tuple(
        [x.node if type(x) is Traced else functools.partial(trace.name_of, x) for x in inputs]
    )


def record_numbers(
    trace: Trace, op: str, value, inputs: Sequence, builder: Callable, template: str, sources
) -> Traced:
    """:func:`record` for a rule that pulls back numbers: ``value`` of ``op`` on ``inputs``
    (all of them of ``trace`` or constants, as :func:`plain_inputs` found), ``builder(n)``
    its product for traced input ``n``, the expression written from ``template`` and
    ``sources`` when first read."""
    parents = tuple(
        [(x.node, functools.partial(builder, n)) for n, x in enumerate(inputs) if type(x) is Traced]
    )
    return Traced(value, Node(op, value.shape, parents, written_from=(template, sources)), trace)


def keep_call(result, inputs: Sequence, **options):
    """``result`` (a value a rule just recorded) with the call that made it remembered on its
    node (see :attr:`~tensordiff.trace.graph.Node.call`): composites are recognised from it."""
    if type(result) is Traced:
        # each traced input as it is now: a later write into it rebinds the user's object,
        # not the value this call was made from
        frozen = [Traced(x.value, x.node, x._trace) if type(x) is Traced else x for x in inputs]
        result.node.call = (tuple(frozen), options)
    return result
