"""The rule of every ufunc in :mod:`tensordiff.ops.ufuncs`, and of ``astype``.

One rule serves the whole table: it computes the value with the ufunc itself,
and its local Jacobian is ``δ · g`` with ``g`` from the ufunc's row
(:func:`tensordiff.ops.jacobians.elementwise`, broadcasting included). Ufuncs
whose derivative is zero (comparisons, ``floor``) give constants that refuse to
become Python values (:class:`~tensordiff.trace.traced.DataDependent`): a branch on
``np.sum(x) > 0`` raises TraceLeakError instead of silently taking one side.
"""

import functools
import sys

import numpy as np

from tensordiff.core import context
from tensordiff.core.templates import flattened, grouped, number, superscript
from tensordiff.core.vjp import ElementwiseProduct, numbers_wanted
from tensordiff.errors import UnsupportedOperationError
from tensordiff.ops import composites, jacobians, ufuncs
from tensordiff.ops.arguments import refuse_out
from tensordiff.ops.reductions import cumprod, cumsum, max_, min_, over_prefixes, prod, sum_
from tensordiff.trace.graph import Node, texts
from tensordiff.trace.registry import cast, implements, pulls_back, when_missing
from tensordiff.trace.traced import (
    Traced,
    as_array,
    expression_sources,
    expressions,
    keep_call,
    named,
    plain_inputs,
    plain_sources,
    raw,
    record,
    record_numbers,
)

__all__: list[str] = []

# Ufunc keywords we accept only at their defaults; anything else changes the result
# in ways the rules do not model, so it is refused rather than ignored.
_UFUNC_DEFAULTS = {
    "where": True,
    "casting": "same_kind",
    "order": "K",
    "dtype": None,
    "subok": True,
}


def _differentiable(ufunc, *inputs, **kwargs):
    """``ufunc(*inputs)`` recorded with ``∂y/∂inputs[n] = δ · g_n`` from its row."""
    name = ufunc.__name__
    if kwargs:
        refuse_out(name, kwargs)
        _refuse_keywords(name, kwargs)
    composite = composites.recognised(ufunc, inputs)
    if composite is not None:
        return composite
    values = [raw(x) for x in inputs]
    value = as_array(_silenced(ufunc, values))
    arrays = [as_array(v) for v in values]
    sources = _broadcast(expression_sources(inputs))  # written only if it is read
    template, partials = _written(ufunc, inputs, arrays)

    def jacobian(position):
        partial = partials[position]
        numbers = numbers_wanted()  # the product alone: no term, no name
        if partial is None:
            if numbers:
                return ElementwiseProduct(None, arrays[position].shape)
            return jacobians.elementwise(None, value.shape, arrays[position].shape)
        derivative, factor = partial
        if numbers:  # backpropagating numbers: warnings are silenced there
            return ElementwiseProduct(derivative(*arrays, value), arrays[position].shape)
        if not context.current().named:  # a meter counts this backpropagation: the term, unnamed
            g = derivative(*arrays, value)
            return jacobians.elementwise(g, value.shape, arrays[position].shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = derivative(*arrays, value)
        exprs = texts(sources)
        fields = {f"g{n}": grouped(e) for n, e in enumerate(exprs)}
        name_of_g = flattened(factor.format(*exprs, y=grouped(made.expr), **fields))
        return jacobians.elementwise(g, value.shape, arrays[position].shape, grouped(name_of_g))

    result = record(name, value, inputs, jacobian, template, sources=sources)
    made = result.node  # as recorded: a later write into ``result`` rebinds it to another
    return keep_call(result, inputs)


def _broadcast(sources: tuple) -> tuple:
    """The sources of an elementwise value's expression, an operand reshaped only to gain
    leading size-1 axes read as what it reshapes: broadcasting adds those axes anyway, so
    ``v + reshape(sum(w), (1,))`` is ``v + sum(w)`` (the same value, of the same shape)."""
    for source in sources:  # a loop, not a comprehension: this runs once per ufunc call
        if type(source) is Node and source.op in _RESHAPES:
            return tuple([_unpadded(s) if type(s) is Node else s for s in sources])
    return sources


def _unpadded(node: Node) -> Node:
    if node.op not in _RESHAPES or len(node.parents) != 1:
        return node
    [(parent, _)] = node.parents
    padding = len(node.shape) - len(parent.shape)
    return parent if padding > 0 and node.shape == (1,) * padding + parent.shape else node


# the ops whose value is their input reshaped (see tensordiff.ops.linear)
_RESHAPES = frozenset({"reshape", "expand_dims"})


def _written(ufunc, inputs, arrays) -> tuple[str, tuple]:
    """How ``ufunc(*inputs)`` reads (its template) and its row's partials, the names of a
    constant power's adjusted."""
    # read per call: the table is the single source
    derivatives = ufuncs.UFUNCS.get(ufunc) or _SCIPY_SPECIAL[ufunc]
    template = derivatives.display or f"{ufunc.__name__}({{0}}" + ", {1}" * (len(inputs) - 1) + ")"
    partials = derivatives.partials
    if len(arrays) == 1:
        return template, partials
    scalar = [array.ndim == 0 for array in arrays]  # (a traced value's .ndim is its value's)
    if ufunc is np.multiply and any(scalar):
        # scaling reads as juxtaposition, the number first: 2 x (also for x * 2)
        number_last = scalar[1] and type(inputs[1]) is not Traced
        template = "{g1} {g0}" if number_last and not scalar[0] else "{g0} {g1}"
    if ufunc is np.multiply and sorted(array.ndim for array in arrays) == [1, 2]:
        # a vector broadcast along a matrix's rows scales its columns: A diag(v), since
        # A ⊙ v reads in a matrix form (vectors as columns) as diag(v) A
        template = "{g0} diag({1})" if arrays[0].ndim == 2 else "{g1} diag({0})"
    if ufunc in (np.power, np.float_power) and type(inputs[1]) is not Traced and scalar[1]:
        p = float(arrays[1])  # a constant exponent reads as p x^(p−1), with p − 1 worked out
        template = _power("{g0}", p)
        partials = ((partials[0][0], f"{number(p)} {_power('{g0}', p - 1)}"), None)
    return template, partials


def _pulled_back(ufunc, trace, inputs, kwargs):
    """``ufunc(*inputs)`` on a trace that only wants numbers (see
    :func:`~tensordiff.trace.registry.pulls_back`): the value, and per traced input a
    builder of its elementwise product. None (the full rule) for inputs
    :func:`plain_inputs` leaves to it, and a value NumPy refuses to compute."""
    values = None if kwargs else plain_inputs(trace, inputs)
    if values is None:
        return None
    if ufunc in composites.COMPLETING:  # a composite it completes is recorded as one node
        token = context.serve(trace.level)  # (recognition reads the values being served)
        try:
            composite = composites.recognised(ufunc, inputs)
        except ValueError:
            return None  # the full rule says which shapes did not fit
        finally:
            context.reset(token)
        if composite is not None:
            return composite
    try:
        value = as_array(_silenced(ufunc, values))
    except ValueError:
        return None  # the full rule says which shapes did not fit
    arrays = [as_array(v) for v in values]
    template, partials = _written(ufunc, inputs, arrays)
    builder = functools.partial(_elementwise_product, partials, arrays, value)
    sources = _broadcast(plain_sources(trace, inputs))
    result = record_numbers(trace, ufunc.__name__, value, inputs, builder, template, sources)
    return keep_call(result, inputs)


def _elementwise_product(partials, arrays, value, position) -> ElementwiseProduct:
    """∂value/∂arrays[position] of a ufunc, as the product backpropagation reads."""
    partial = partials[position]
    derivative = None if partial is None else partial[0](*arrays, value)
    return ElementwiseProduct(derivative, arrays[position].shape)


# A function under np.errstate enters it more cheaply than a ``with`` block (no object is
# made per call), and this runs once per traced ufunc call.
@np.errstate(divide="ignore", invalid="ignore")
def _silenced(ufunc, values):
    """``ufunc(*values)`` without NumPy's divide and invalid warnings (log 0 is -inf)."""
    return ufunc(*values)


def _power(base: str, p: float) -> str:
    """``base`` to the constant power ``p`` as the formulas write powers (``x²``, as
    ``tanh²`` and ``x⁻ᵀ`` are): a superscript for 2 to 9, ``x^0.5`` and ``x^−2`` otherwise
    (a superscript ⁻¹ reads as a matrix inverse).

    >>> _power("x", 2.0), _power("x", 1.0), _power("x", 0.5), _power("x", -2.0)
    ('x²', 'x', 'x^0.5', 'x^−2')
    """
    if p == 1:
        return base
    if p.is_integer() and 2 <= p <= 9:
        return base + superscript(int(p))
    return f"{base}^{number(p)}".replace("^-", "^−")


def _constant(ufunc, *inputs, **kwargs):
    """``ufunc(*inputs)`` as a constant (its derivative is zero) whose truth value and
    Python number are refused, since they follow the traced values."""
    name = ufunc.__name__
    refuse_out(name, kwargs)
    _refuse_keywords(name, kwargs)
    value = ufunc(*(raw(x) for x in inputs))
    template = ufuncs.CONSTANT_DISPLAY.get(
        ufunc, f"{name}({{0}}" + ", {1}" * (len(inputs) - 1) + ")"
    )
    # a value of an enclosing trace (which refuses the same conversions) keeps its own
    # name, and one of td.jit's tape gets the name a fresh trace gives
    return named(value, template.format(*expressions(inputs)))


for _ufunc in ufuncs.UFUNCS:
    implements(_ufunc)(functools.partial(_differentiable, _ufunc))
    pulls_back(_ufunc)(functools.partial(_pulled_back, _ufunc))
for _ufunc in ufuncs.CONSTANT:
    implements(_ufunc)(functools.partial(_constant, _ufunc))

_SCIPY_SPECIAL: dict[np.ufunc, ufuncs.Row] = {}


@when_missing
def _register_scipy_special() -> None:
    """The rows of scipy.special's ufuncs, once the user's code has imported it (importing
    tensordiff never imports scipy)."""
    special = sys.modules.get("scipy.special")  # lazy: optional extra
    if special is None or _SCIPY_SPECIAL:
        return
    _SCIPY_SPECIAL.update(ufuncs.scipy_special_rows(special))
    for ufunc in _SCIPY_SPECIAL:
        implements(ufunc)(functools.partial(_differentiable, ufunc))


@implements(np.add.reduce)
def _add_reduce(array, axis=0, dtype=None, out=None, keepdims=False, initial=None, where=None,
                **rest):  # fmt: skip
    refuse_out("add.reduce", {"out": out})
    _refuse_keywords("add.reduce", {"dtype": dtype, **rest})
    return sum_(array, axis=axis, keepdims=keepdims, initial=initial, where=where)


@implements(np.multiply.reduce)
def _multiply_reduce(array, axis=0, dtype=None, out=None, keepdims=False, initial=None,
                     where=None, **rest):  # fmt: skip
    """``np.multiply.reduce`` is ``np.prod`` (along axis 0 by default)."""
    refuse_out("multiply.reduce", {"out": out})
    _refuse_keywords("multiply.reduce", {"dtype": dtype, **rest})
    return prod(array, axis=axis, keepdims=keepdims, initial=initial, where=where)


@implements(np.logaddexp.reduce)
def _logaddexp_reduce(array, axis=0, dtype=None, out=None, keepdims=False, **rest):
    """``log Σ exp`` along ``axis``, written as ``m + log Σ exp(a − m)`` with ``m`` the
    maximum: the identity holds for any ``m``, so its derivative (softmax) is exact."""
    refuse_out("logaddexp.reduce", {"out": out})
    _refuse_keywords("logaddexp.reduce", {"dtype": dtype, **rest})
    top = np.max(array, axis=axis, keepdims=True)
    total = np.sum(np.exp(array - top), axis=axis, keepdims=True)
    result = top + np.log(total)
    return result if keepdims else np.squeeze(result, axis=axis)


@implements(np.maximum.reduce)
def _maximum_reduce(array, axis=0, dtype=None, out=None, keepdims=False, initial=None,
                    where=None, **rest):  # fmt: skip
    """``np.maximum.reduce`` is ``np.max``: ties share the derivative equally."""
    _refuse_keywords("maximum.reduce", {"dtype": dtype, **rest})
    return max_(array, axis=axis, out=out, keepdims=keepdims, initial=initial, where=where)


@implements(np.minimum.reduce)
def _minimum_reduce(array, axis=0, dtype=None, out=None, keepdims=False, initial=None,
                    where=None, **rest):  # fmt: skip
    """``np.minimum.reduce`` is ``np.min``: ties share the derivative equally."""
    _refuse_keywords("minimum.reduce", {"dtype": dtype, **rest})
    return min_(array, axis=axis, out=out, keepdims=keepdims, initial=initial, where=where)


def _accumulate(name: str, running):
    """The rule of ``ufunc.accumulate`` (along ``axis``, 0 by default) as ``running``."""

    def rule(array, axis=0, dtype=None, out=None, **rest):
        refuse_out(name, {"out": out})
        _refuse_keywords(name, {"dtype": dtype, **rest})
        return running(array, axis)

    return rule


implements(np.add.accumulate)(_accumulate("add.accumulate", cumsum))
implements(np.multiply.accumulate)(_accumulate("multiply.accumulate", cumprod))
# running extremes: ties share the derivative equally, as for max/min
for _ufunc, _reduce, _identity in (
    (np.maximum, np.max, -np.inf),
    (np.minimum, np.min, np.inf),
    (np.logaddexp, np.logaddexp.reduce, -np.inf),
):
    _name = f"{_ufunc.__name__}.accumulate"
    implements(_ufunc.accumulate)(
        _accumulate(_name, functools.partial(over_prefixes, _name, _reduce, _identity))
    )


# Below this |π x| the Taylor series of sinc (to x¹⁰) is exact to rounding, and its
# derivatives of every order are right at 0, where sin(π x)/(π x) is 0/0.
_SINC_SERIES_BELOW = 0.1


@implements(np.sinc)
def sinc(x):
    """``sin(π x)/(π x)``, 1 at 0: the quotient away from 0 and its Taylor series near 0,
    each on inputs that keep the other branch finite (no 0 · ∞ in the chain rule)."""
    t = np.pi * x
    near = np.abs(np.pi * raw(x)) < _SINC_SERIES_BELOW  # plain booleans: a constant
    far = np.where(near, 1.0, t)
    small = np.where(near, t, 0.0)
    square = small * small
    series = 1.0
    for k in range(5, 0, -1):  # Horner: 1 − t²/3! + t⁴/5! − ... ± t¹⁰/11!
        series = 1.0 - square * series / ((2 * k) * (2 * k + 1))
    return np.where(near, series, np.sin(far) / far)


@implements(np.nan_to_num)
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """``x`` where finite (derivative 1); the replacements elsewhere (constants, or traced
    values that carry their own derivative)."""
    values = raw(x)
    largest = np.finfo(values.dtype if values.dtype.kind == "f" else np.float64).max
    high = largest if posinf is None else posinf
    low = -largest if neginf is None else neginf
    result = np.where(np.isneginf(values), low, x)
    result = np.where(np.isposinf(values), high, result)
    return np.where(np.isnan(values), nan, result)


@implements(np.modf)
def modf(x, out=None, **kwargs):
    """``(x − trunc x, trunc x)``: derivative 1 and 0, as in JAX. The fractional part's value
    is NumPy's own (``modf(−3.0)`` is ``(−0.0, −3.0)``, which ``x − trunc x`` misses)."""
    refuse_out("modf", {"out": out})
    _refuse_keywords("modf", kwargs)
    fraction = np.modf(raw(x))[0]
    shape = np.shape(fraction)
    (e,) = expressions([x])

    def identity(_):
        return jacobians.elementwise(None, shape, shape)

    return record("modf", fraction, [x], identity, expr=f"frac({e})"), np.trunc(x)


@implements(np.divmod)
def divmod_(x, y, out=None, **kwargs):
    """``(x // y, x % y)``, each with its own rule."""
    refuse_out("divmod", {"out": out})
    _refuse_keywords("divmod", kwargs)
    return np.floor_divide(x, y), np.remainder(x, y)


@implements(np.astype)
def astype(x, dtype, /, *, copy=True, device=None):
    """``np.astype(x, dtype)`` is ``x.astype(dtype)``."""
    return _astype(x, dtype)


@implements(cast)
def _astype(x, dtype):
    """``x.astype(dtype)`` for float dtypes: the identity with a cast."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise UnsupportedOperationError.for_function(
            "ndarray.astype", f"casting a traced value to {dtype} has no derivative"
        )
    value = raw(x).astype(dtype)
    return record("astype", value, [x], lambda _: jacobians.elementwise(None, x.shape, x.shape))


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
