"""The traced duck array that flows through a differentiated function.

NumPy hands every ufunc call to ``__array_ufunc__`` (NEP 13) and every other
public function to ``__array_function__`` (NEP 18); both go to the allow-list in
:mod:`tensordiff.trace.dispatch`. Anything off the list raises
UnsupportedOperationError: handing a duck array to NumPy's own implementation
is silently wrong for many C functions (``np.dot`` multiplies elementwise).
"""

import contextlib
from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from tensordiff.errors import TraceLeakError, UnsupportedOperationError
from tensordiff.names import grouped
from tensordiff.term import Term
from tensordiff.trace.graph import Node, Trace

__all__ = ["Traced", "record", "raw", "as_array", "level_of", "serving", "expressions"]


class Traced(NDArrayOperatorsMixin):
    """A value inside a traced function. Users never construct it."""

    __slots__ = ("value", "node", "trace")

    def __init__(self, value: np.ndarray, node: Node, trace: Trace):
        self.value = value
        self.node = node
        self.trace = trace

    # ---- array protocols ----------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from tensordiff.trace import dispatch  # dispatch builds Traced values

        if not all(_is_known(x) for x in inputs):
            return NotImplemented  # let other array types (xarray, pint, ...) try
        return dispatch.apply_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from tensordiff.trace import dispatch

        if not all(issubclass(t, (Traced, np.ndarray)) for t in types):
            return NotImplemented
        return dispatch.apply_function(func, args, kwargs)

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
        from tensordiff.trace import assembly, dispatch

        recorded = dispatch.recorded_getitem(self, index)
        return assembly.getitem(self, index) if recorded is None else recorded

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
        from tensordiff.trace import dispatch

        return dispatch.astype(self, dtype)

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


# The trace level whose call a handler is serving; raw() unwraps only that level,
# so values of enclosing traces flow through NumPy and are recorded by their own trace.
_serving_level = 0


@contextlib.contextmanager
def serving(level: int):
    """Within the block, :func:`raw` unwraps traced values of ``level`` only."""
    global _serving_level
    previous, _serving_level = _serving_level, level
    try:
        yield
    finally:
        _serving_level = previous


def level_of(inputs: Sequence) -> int:
    """The highest trace level among ``inputs`` (one list level deep), 0 if none."""
    level = 0
    for x in inputs:
        items = x if isinstance(x, (list, tuple)) else (x,)
        for item in items:
            if type(item) is Traced and item.trace.level > level:
                level = item.trace.level
    return level


def raw(x):
    """The value of ``x`` at the level being served: unwrapped if traced there."""
    return x.value if type(x) is Traced and x.trace.level == _serving_level else x


def as_array(x):
    """``np.asarray(x)``, except that traced values of enclosing traces stay as they are."""
    return x if type(x) is Traced else np.asarray(x)


def expressions(inputs: Sequence) -> list[str]:
    """How each input reads in formulas: a traced value's expression, a constant's name."""
    level = level_of(inputs)
    trace = next((x.trace for x in inputs if type(x) is Traced and x.trace.level == level), None)
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
    positions = [n for n, x in enumerate(inputs) if type(x) is Traced and x.trace.level == level]
    trace = inputs[positions[0]].trace
    if any(inputs[n].trace is not trace for n in positions):
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
