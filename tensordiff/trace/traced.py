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

import contextlib
import operator
from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from tensordiff.core import context, trees
from tensordiff.core.templates import grouped
from tensordiff.core.term import Term
from tensordiff.errors import (
    ShapeError,
    TensorDiffError,
    TraceLeakError,
    UnsupportedOperationError,
)
from tensordiff.trace import registry
from tensordiff.trace.graph import Node

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
]


# ---- the stack of running traces -----------------------------------------------------
@contextlib.contextmanager
def running(trace: "Trace"):
    """Within the block, ``trace`` is running (its function is being called)."""
    with context.changed(traces=(*context.current().traces, trace)):
        yield trace


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
    """

    __slots__ = ("level", "_constants")

    def __init__(self, level: int, named: dict | None = None):
        self.level = level
        # id -> (object, name); the object is kept so its id cannot be reused
        self._constants = {id(value): (value, name) for name, value in (named or {}).items()}

    def apply(self, function: Callable, args: Sequence, kwargs: dict):
        """``function(*args, **kwargs)`` by its rule, this trace's values unwrapped inside."""
        rule = registry.rule_for(function)
        # Rules take NumPy's own parameter names; NumPy's "no value" sentinel means "default".
        kwargs = {name: value for name, value in kwargs.items() if value is not np._NoValue}
        with context.changed(serving_level=self.level), _as_shape_errors(function):
            return rule(*args, **kwargs)

    def name_of(self, value) -> str:
        """The display name of a constant: its variable name if known, else K1, K2, ..."""
        if isinstance(value, (int, float, np.generic)) and np.ndim(value) == 0:
            return f"{float(value):g}"
        known = self._lookup(value)
        if known is None:
            if np.ndim(value) == 0:
                return f"{float(np.asarray(value)):g}"
            known = (value, self._view_name(value) or self._fresh_name())
            self._constants[id(value)] = known
        return known[1]

    def _fresh_name(self) -> str:
        taken = {name for _, name in self._constants.values()}
        return next(f"K{n}" for n in range(1, len(taken) + 2) if f"K{n}" not in taken)

    def _view_name(self, value) -> str | None:
        """``Aᵀ``, ``transpose(B, (2, 0, 1))``, ``reshape(A, (4, 3))``, ``ravel(A)`` or
        ``flip(y)`` for such a view of a named array."""
        if not isinstance(value, np.ndarray):
            return None
        for named, name in list(self._constants.values()):
            if isinstance(named, np.ndarray) and named.dtype == value.dtype:
                view = _view_name(named, name, value)
                if view is not None:
                    return view
        return None

    def _lookup(self, value):
        """The entry of ``value``, or of a named array that ``value`` *is*.

        A different object counts as a named array only when it is the same memory read
        the same way (dtype, shape, strides, first element): ``A.reshape(A.shape)``, a
        full slice ``A[:]``. Any other view (``A.T``, ``y[::-1]``, ``A.ravel()`` of a
        matrix, a broadcast, a diagonal) is a different array and gets its own name, so
        a formula never shows ``A[i,j]`` where the numbers are ``A[j,i]``.
        """
        known = self._constants.get(id(value))
        if known is not None and known[0] is value:
            return known
        if not isinstance(value, np.ndarray):
            return None
        return next(
            (entry for entry in self._constants.values() if _same_array(entry[0], value)), None
        )


def _same_array(named, value: np.ndarray) -> bool:
    """Whether ``value`` reads exactly the elements of ``named``, in the same places."""
    return (
        isinstance(named, np.ndarray)
        and named.dtype == value.dtype
        and named.shape == value.shape
        and named.strides == value.strides
        and _address(named) == _address(value)
    )


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


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


@contextlib.contextmanager
def _as_shape_errors(function: Callable):
    """NumPy's own ValueError on a traced call (shapes that do not fit) as a ShapeError."""
    try:
        yield
    except TensorDiffError:
        raise
    except ValueError as error:
        raise ShapeError(f"numpy.{registry.qualified_name(function)}: {error}") from error


def top_trace(args: Sequence, kwargs: dict | None = None) -> "Trace | None":
    """The trace of the highest level among the arguments: the one that applies the call.

    Arguments are searched one list level deep (``np.stack([a, b])``), and deeper only
    when that finds nothing. None when no argument is traced.
    """
    top = _top_of((*args, *(kwargs or {}).values()))
    if top is None:
        traced = [x._trace for x in trees.leaves((args, kwargs)) if type(x) is Traced]
        top = max(traced, key=lambda trace: trace.level, default=None)
    return top


def _top_of(inputs: Sequence) -> "Trace | None":
    """The highest-level trace of the traced values in ``inputs``, one list level deep."""
    top = None
    for x in inputs:
        for item in x if isinstance(x, (list, tuple)) else (x,):
            if type(item) is Traced and (top is None or item._trace.level > top.level):
                top = item._trace
    return top


class Traced(NDArrayOperatorsMixin):
    """A value inside a traced function. Users never construct it."""

    # _trace, not trace: ``trace`` is an ndarray method
    __slots__ = ("value", "node", "_trace")

    def __init__(self, value: np.ndarray, node: Node, trace: Trace):
        self.value = value
        self.node = node
        self._trace = trace

    # ---- array protocols ----------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if not all(_is_known(x) for x in inputs):
            return NotImplemented  # let other array types (xarray, pint, ...) try
        function = ufunc if method == "__call__" else getattr(ufunc, method)
        return top_trace(inputs, kwargs).apply(function, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if not all(issubclass(t, (Traced, np.ndarray)) for t in types):
            return NotImplemented
        return top_trace(args, kwargs).apply(func, args, kwargs)

    def __array__(self, dtype=None, copy=None):
        raise TraceLeakError(
            "np.asarray() (or np.array, float(), or an ndarray method such as a.dot(t)) was"
            " called on a traced value inside a differentiated function; this would silently"
            " drop its derivative. Use NumPy functions and operators (np.dot(a, t), a @ t),"
            " or compute constants outside f."
        )

    def __bool__(self):
        raise TraceLeakError(
            "a traced value was used as a truth value (if x > 0: ...); a data-dependent"
            " branch would fix one path of the derivative. Use np.maximum/np.minimum,"
            " or move the branch outside the differentiated function."
        )

    __float__ = __int__ = __index__ = __array__

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
        return top_trace((self, index)).apply(operator.getitem, (self, index), {})

    def __iter__(self):
        return (self[n] for n in range(len(self)))

    def __setitem__(self, index, value):
        raise UnsupportedOperationError(
            "item assignment on a traced value is not supported: it mutates in place."
            " Build the result with array operations instead"
        )

    # ---- array methods (not protocols: NumPy does not route them) ------------
    def sum(self, axis=None, dtype=None, out=None, keepdims=False):
        return np.sum(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False):
        return np.mean(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return np.reshape(self, shape, order=order)

    def ravel(self, order="C"):
        return np.ravel(self, order=order)

    flatten = ravel

    def transpose(self, *axes):
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], int)):
            axes = axes[0]
        return np.transpose(self, axes or None)

    def swapaxes(self, axis1, axis2):
        return np.swapaxes(self, axis1, axis2)

    def squeeze(self, axis=None):
        return np.squeeze(self, axis=axis)

    def dot(self, other):
        return np.dot(self, other)

    def astype(self, dtype, copy=True):
        return top_trace((self,)).apply(registry.cast, (self, dtype), {})

    # ---- in-place operators rebind the name instead of mutating --------------
    # ``t += 1`` would otherwise call np.add(t, 1, out=(t,)), which cannot be
    # recorded; other references to the old value do not see the change.
    def __iadd__(self, other):
        return self + other

    def __isub__(self, other):
        return self - other

    def __imul__(self, other):
        return self * other

    def __itruediv__(self, other):
        return self / other

    def __ipow__(self, other):
        return self**other

    def __imatmul__(self, other):
        return self @ other

    def __repr__(self) -> str:
        return f"Traced({self.node.op}, shape={self.shape}, dtype={self.dtype})"


def _is_known(x) -> bool:
    return isinstance(x, (Traced, np.ndarray, np.generic, int, float, bool, list, tuple))


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
    return x


def as_array(x):
    """``np.asarray(x)``, except that traced values of enclosing traces stay as they are."""
    return x if type(x) is Traced else np.asarray(x)


def expressions(inputs: Sequence) -> list[str]:
    """How each input reads in formulas: a traced value's expression, a constant's name."""
    level = level_of(inputs)
    trace = next((x._trace for x in inputs if type(x) is Traced and x._trace.level == level), None)
    out = []
    for x in inputs:
        if type(x) is Traced:
            out.append(x.node.expr or "·")
        elif x is None:
            out.append("")
        elif trace is not None:
            out.append(trace.name_of(x))
        else:
            out.append("K")
    return out


def record(
    op: str,
    value,
    inputs: Sequence,
    builder: Callable[[int], Term],
    template: str | None = None,
) -> Traced:
    """A traced result ``value`` of ``op``; ``builder(n)`` gives ∂value/∂inputs[n].

    The parents are the inputs traced at the highest level present. ``template``
    (``"{0} + {1}"``) writes the value as an expression of its inputs, for
    explanations; by default ``op(input, ...)``.
    """
    level = level_of(inputs)
    positions = [n for n, x in enumerate(inputs) if type(x) is Traced and x._trace.level == level]
    trace = inputs[positions[0]]._trace
    if any(inputs[n]._trace is not trace for n in positions):
        raise UnsupportedOperationError(
            "values from two different derivative calls at the same nesting level meet in one"
            " operation; a traced value escaped from the call that made it"
        )
    value = as_array(value)
    parents = tuple((inputs[n].node, _bind(builder, n)) for n in positions)
    exprs = expressions(inputs)
    if template is None:
        expr = f"{op}({', '.join(e for e in exprs if e)})"
    else:
        expr = template.format(*exprs, **{f"g{n}": grouped(e) for n, e in enumerate(exprs)})
    return Traced(value, Node(op, value.shape, parents, expr), trace)


def _bind(builder: Callable[[int], Term], position: int) -> Callable[[], Term]:
    return lambda: builder(position)
