"""Route NumPy calls on traced values to their rules: an allow-list, nothing else.

``apply_ufunc`` serves ``__array_ufunc__`` and ``apply_function`` serves
``__array_function__``. A call that is not on the list raises
UnsupportedOperationError naming the function; it never falls back to NumPy.
"""

import contextlib
import operator

import numpy as np

from tensordiff.errors import ShapeError, TensorDiffError, UnsupportedOperationError
from tensordiff.names import grouped
from tensordiff.rules import local
from tensordiff.rules.ufuncs import DERIVATIVE_NAMES, DERIVATIVES, DISPLAY, NONDIFFERENTIABLE
from tensordiff.trace.tape import Tape, recording
from tensordiff.trace.traced import Traced, as_array, expressions, level_of, raw, record, serving

__all__ = [
    "apply_ufunc",
    "apply_function",
    "implements",
    "astype",
    "index_positions",
    "recorded_getitem",
    "FUNCTIONS",
]

# numpy function -> handler(*args, **kwargs); filled by tensordiff.trace.functions
FUNCTIONS: dict = {}

# Ufunc keywords we accept only at their defaults; anything else changes the result
# in ways the rules do not model, so it is refused rather than ignored.
_UFUNC_DEFAULTS = {
    "where": True,
    "casting": "same_kind",
    "order": "K",
    "dtype": None,
    "subok": True,
}


def implements(*functions):
    """Register a handler for NumPy functions; it is called with the call's arguments."""

    def register(handler):
        for function in functions:
            if function in FUNCTIONS:
                raise KeyError(f"numpy.{function.__name__} already has a handler")
            FUNCTIONS[function] = handler
        return handler

    return register


def apply_function(func, args, kwargs):
    tape = tape_serving(args, kwargs)
    if tape is not None:
        return tape.call(func, args, kwargs, _qualified_name(func))
    handler = FUNCTIONS.get(func)
    if handler is None:
        raise UnsupportedOperationError.for_function(_qualified_name(func))
    # Handlers take NumPy's own parameter names; NumPy's "no value" sentinel means "default".
    kwargs = {name: value for name, value in kwargs.items() if value is not np._NoValue}
    with serving(level_of(args)), _as_shape_errors(_qualified_name(func)):
        return handler(*args, **kwargs)


def apply_ufunc(ufunc, method, inputs, kwargs):
    tape = tape_serving(inputs, kwargs)
    if tape is not None:
        function = ufunc if method == "__call__" else getattr(ufunc, method)
        return tape.call(function, inputs, kwargs, ufunc.__name__)
    with serving(level_of(inputs)), _as_shape_errors(ufunc.__name__):
        return _apply_ufunc(ufunc, method, inputs, kwargs)


def tape_serving(args, kwargs) -> Tape | None:
    """The tape being recorded, if this call's highest trace level is the tape's."""
    tape = recording()
    if tape is None or level_of([*args, *kwargs.values()]) != tape.level:
        return None
    return tape


@contextlib.contextmanager
def _as_shape_errors(name: str):
    """NumPy's own ValueError on a traced call (shapes that do not fit) as a ShapeError."""
    try:
        yield
    except TensorDiffError:
        raise
    except ValueError as error:
        raise ShapeError(f"numpy.{name}: {error}") from error


def _apply_ufunc(ufunc, method, inputs, kwargs):
    name = ufunc.__name__
    out = kwargs.pop("out", None)
    if out is not None:
        raise UnsupportedOperationError.for_function(
            name,
            "writing into out= cannot be recorded (`a += t` with `a` a NumPy array does this);"
            " write `a = a + t` instead",
        )
    if method != "__call__":
        if ufunc is np.add and method == "reduce":
            return _add_reduce(*inputs, **kwargs)
        raise UnsupportedOperationError.for_function(f"{name}.{method}")
    if ufunc is np.matmul:
        if kwargs:
            raise UnsupportedOperationError.for_function("matmul", f"keywords {sorted(kwargs)}")
        return FUNCTIONS[np.matmul](inputs[0], inputs[1])
    _refuse_keywords(name, kwargs)
    values = [raw(x) for x in inputs]
    if ufunc in NONDIFFERENTIABLE:
        return ufunc(*values)
    derivatives = DERIVATIVES.get(ufunc)
    if derivatives is None:
        raise UnsupportedOperationError.for_function(name)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = as_array(ufunc(*values))
    arrays = [as_array(v) for v in values]
    exprs = expressions(inputs)
    template = DISPLAY.get(ufunc, f"{name}({{0}}" + ", {1}" * (len(inputs) - 1) + ")")
    if ufunc is np.multiply and any(np.ndim(v) == 0 for v in values):
        template = "{g0} {g1}"  # scaling reads as juxtaposition: 2 x
    record_expr = template.format(*exprs, **{f"g{n}": grouped(e) for n, e in enumerate(exprs)})
    factor_names = DERIVATIVE_NAMES.get(ufunc, (None,) * len(inputs))
    if ufunc is np.power and type(inputs[1]) is not Traced and np.ndim(values[1]) == 0:
        p = float(values[1])  # a constant exponent reads as p x^(p−1), with p − 1 worked out
        base = "{g0}" if p == 2 else "{g0}^" + f"{p - 1:g}"
        factor_names = (f"{p:g} {base}", None)

    def jacobian(position):
        derivative = derivatives[position]
        with np.errstate(divide="ignore", invalid="ignore"):
            g = None if derivative is None else derivative(*arrays, value)
        factor = factor_names[position] or "1"
        fields = {f"g{n}": grouped(e) for n, e in enumerate(exprs)}
        name = factor.format(*exprs, y=grouped(record_expr), **fields)
        return local.elementwise(g, value.shape, arrays[position].shape, grouped(name))

    return record(name, value, inputs, jacobian, template)


def _refuse_keywords(name: str, kwargs: dict) -> None:
    odd = sorted(k for k, v in kwargs.items() if not _is_default(k, v))
    if odd:
        raise UnsupportedOperationError.for_function(
            name, f"the keyword arguments {odd} are not supported on traced values"
        )


def _is_default(keyword: str, value) -> bool:
    if keyword not in _UFUNC_DEFAULTS:
        return False
    default = _UFUNC_DEFAULTS[keyword]
    return value is default or (isinstance(value, (str, bool)) and value == default)


def _add_reduce(array, axis=0, dtype=None, keepdims=False, **rest):
    _refuse_keywords("add.reduce", {"dtype": dtype, **rest})
    return FUNCTIONS[np.sum](a=array, axis=axis, dtype=None, out=None, keepdims=keepdims)


def astype(x: Traced, dtype) -> Traced:
    """``x.astype(dtype)`` for float dtypes: the identity with a cast."""
    tape = tape_serving([x], {})
    if tape is not None:
        return tape.call(_cast, [x, dtype], {}, "ndarray.astype")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise UnsupportedOperationError.for_function(
            "ndarray.astype", f"casting a traced value to {dtype} has no derivative"
        )
    return record(
        "astype", x.value.astype(dtype), [x], lambda _: local.elementwise(None, x.shape, x.shape)
    )


def recorded_getitem(array, index):
    """``array[index]`` recorded on td.jit's tape when the array or the index is a value
    of it; None otherwise."""
    tape = tape_serving([array, index], {})
    if tape is None:
        return None
    return tape.call(operator.getitem, [array, index], {}, "ndarray.__getitem__")


def index_positions(positions: np.ndarray, index):
    """``positions[index]`` where ``index`` may hold values of td.jit's tape: recorded there."""
    recorded = recorded_getitem(positions, index)
    return positions[index] if recorded is None else recorded


def _cast(x, dtype):
    """``x.astype(dtype)`` for an array or a NumPy scalar (a replayed 0-d result may be one)."""
    return np.asarray(x).astype(dtype)


def _qualified_name(func) -> str:
    """``linalg.norm`` for numpy.linalg.norm, ``cumsum`` for numpy.cumsum."""
    module = getattr(func, "__module__", None) or "numpy"
    public = [part for part in module.split(".")[1:] if not part.startswith("_")]
    return ".".join([*public, func.__name__])


def supported_operations() -> list[str]:
    """The NumPy functions and ufuncs that tensordiff differentiates, by name."""
    names = {f"numpy.{_qualified_name(func)}" for func in FUNCTIONS}
    names |= {f"numpy.{ufunc.__name__}" for ufunc in DERIVATIVES}
    names |= {"numpy.add.reduce"}
    return sorted(names)
