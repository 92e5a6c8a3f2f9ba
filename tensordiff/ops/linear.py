"""Handlers for the NumPy functions on the allow-list.

Each handler computes the value with NumPy itself on plain arrays (so values
match NumPy bit for bit) and records how to build the local Jacobian. Linear
and multilinear functions are written as einsums and share one rule,
:func:`tensordiff.ops.jacobians.multilinear`.
"""

import functools
from collections.abc import Callable

import numpy as np

from tensordiff.core.templates import defined, definitions_in, juxtaposed, transposed
from tensordiff.core.vjp import EinsumProduct, MatmulProduct, numbers_wanted
from tensordiff.errors import ShapeError, UnsupportedOperationError
from tensordiff.ops import composites, jacobians
from tensordiff.ops.arguments import letters, normalize_axes, refuse, refuse_bools, refuse_out
from tensordiff.ops.einsum_spec import parse_einsum, split_einsum_args
from tensordiff.ops.einsum_text import einsum_written
from tensordiff.trace.graph import texts
from tensordiff.trace.registry import implements, pulls_back
from tensordiff.trace.traced import (
    DataDependent,
    Traced,
    expression_sources,
    expressions,
    keep_call,
    plain_inputs,
    plain_sources,
    raw,
    record,
    record_numbers,
)

__all__ = ["linear", "einsum_record"]


def linear(
    op: str,
    inputs: list[str],
    output: list,
    operands: list,
    value,
    scale=None,
    template: str | None = None,
    scale_name: str | None = None,
):
    """Record ``value = scale · einsum(inputs -> output, *operands)``.

    ``template`` writes the value over its operands' expressions (see ``record``).
    """
    values = [raw(x) for x in operands]
    sources = expression_sources(operands)  # the names are written only if they are read

    def jacobian(n):
        if numbers_wanted():
            product = EinsumProduct.of(inputs, output, values, n, scale)
            if product is not None:
                return product
        names = texts(sources)
        return jacobians.multilinear(inputs, output, values, n, scale, names, scale_name)

    return record(op, value, operands, jacobian, template, sources=sources)


# ---- products -------------------------------------------------------------------
@implements(np.matmul)
def matmul(x1, x2, **kwargs):
    refuse_out("matmul", kwargs)
    if kwargs:
        raise UnsupportedOperationError.for_function("matmul", f"keywords {sorted(kwargs)}")
    a, b = np.ndim(raw(x1)), np.ndim(raw(x2))
    if a == 0 or b == 0:
        raise ShapeError("numpy.matmul: operands must not be scalars; use * for scaling")
    if a == 1 and b == 1:
        spec = "k,k->"
    elif a == 1:
        spec = "k,...km->...m"
    elif b == 1:
        spec = "...nk,k->...n"
    else:
        spec = "...nk,...km->...nm"
    quadratic = composites.quadratic_form(x1, x2)
    if quadratic is not None:
        return quadratic
    value = np.matmul(raw(x1), raw(x2))
    product = einsum_record("matmul", spec, [x1, x2], value, _product_text(a, b, " "))
    return keep_call(product, [x1, x2])


def _product_text(a: int, b: int, vectors: str) -> str | Callable:
    """How a product of operands with ``a`` and ``b`` axes reads, vectors as columns:
    ``W x``, ``A B``, ``W (−x)``, and ``Mᵀ x`` for ``x @ M`` (``x M`` is no column's
    product; it read as one in a matrix form, ``2 M (x M)``); two vectors joined by
    ``vectors``."""
    if a == 1 and b == 2:
        return lambda x, m: juxtaposed(transposed(m), x)
    if a == b == 1:
        return "{g0}" + vectors + "{g1}"
    return juxtaposed


@pulls_back(np.matmul)
def _matmul_pulled_back(trace, inputs, kwargs):
    """``x1 @ x2`` of two matrices, or of a matrix and a vector, on a trace that only
    wants numbers (see :func:`~tensordiff.trace.registry.pulls_back`); other ranks take
    the full rule (two vectors may make a quadratic form, recognised there)."""
    values = None if kwargs or len(inputs) != 2 else plain_inputs(trace, inputs)
    if values is None:
        return None
    a, b = values
    ranks = (np.ndim(a), np.ndim(b))
    if ranks not in _PULLED_BACK_RANKS or a.shape[-1] != b.shape[0]:
        return None
    value = np.matmul(a, b)
    builder = functools.partial(_PULLED_BACK_RANKS[ranks], (a, b))
    sources = plain_sources(trace, inputs)
    result = record_numbers(
        trace, "matmul", value, inputs, builder, _product_text(*ranks, " "), sources
    )
    return keep_call(result, inputs)


def _matmul_product(values, position) -> MatmulProduct:
    return MatmulProduct(values[1 - position], position == 0)


def _matrix_vector_product(values, position) -> EinsumProduct:
    return EinsumProduct.of(["nk", "k"], ["n"], values, position, None)


def _vector_matrix_product(values, position) -> EinsumProduct:
    return EinsumProduct.of(["k", "km"], ["m"], values, position, None)


# the operands' ranks a pull-back takes -> its product's builder
_PULLED_BACK_RANKS = {
    (2, 2): _matmul_product,
    (2, 1): _matrix_vector_product,
    (1, 2): _vector_matrix_product,
}


@implements(np.dot)
def dot(a, b, out=None):
    refuse("dot", out=out)
    na, nb = np.ndim(raw(a)), np.ndim(raw(b))
    if na == 0 or nb == 0:
        return np.multiply(a, b)
    left = letters(na - 1, "yz") + "z"
    right = "z" if nb == 1 else letters(nb - 2, left + "y") + "zy"
    output = left[:-1] + right.replace("z", "")
    quadratic = composites.quadratic_form(a, b) if na == nb == 1 else None
    if quadratic is not None:
        return quadratic
    value = np.dot(raw(a), raw(b))
    template = _product_text(na, nb, " · ") if na <= 2 and nb <= 2 else "{g0} · {g1}"
    product = linear("dot", [left, right], list(output), [a, b], value, template=template)
    return keep_call(product, [a, b])


@implements(np.inner)
def inner(a, b):
    na, nb = np.ndim(raw(a)), np.ndim(raw(b))
    if na == 0 or nb == 0:
        return np.multiply(a, b)
    left = letters(na - 1, "z") + "z"
    right = letters(nb - 1, left) + "z"
    output = left[:-1] + right[:-1]
    value = np.inner(raw(a), raw(b))
    return linear("inner", [left, right], list(output), [a, b], value, template="⟨{0}, {1}⟩")


@implements(np.outer)
def outer(a, b, out=None):
    refuse("outer", out=out)
    # vectors are used as they are: a ravel of a vector would print as reshape(x, (3,))
    a, b = (v if np.ndim(raw(v)) == 1 else np.ravel(v) for v in (a, b))
    value = np.outer(raw(a), raw(b))
    return linear("outer", ["i", "j"], ["i", "j"], [a, b], value, template="{g0} {g1}ᵀ")


@implements(np.tensordot)
def tensordot(a, b, axes=2):
    na, nb = np.ndim(raw(a)), np.ndim(raw(b))
    refuse_bools("tensordot", axes=axes)
    if isinstance(axes, (int, np.integer)):
        axes_a, axes_b = list(range(na - axes, na)), list(range(axes))
    else:
        axes_a, axes_b = axes
        axes_a = [axes_a] if isinstance(axes_a, (int, np.integer)) else list(axes_a)
        axes_b = [axes_b] if isinstance(axes_b, (int, np.integer)) else list(axes_b)
    axes_a = normalize_axes(axes_a, na, "tensordot")
    axes_b = normalize_axes(axes_b, nb, "tensordot")
    if len(axes_a) != len(axes_b):
        raise ShapeError(f"numpy.tensordot: axes {axes!r} pair {len(axes_a)} with {len(axes_b)}")
    value = np.tensordot(raw(a), raw(b), axes=(axes_a, axes_b))
    left = list(letters(na))
    right = list(letters(nb, "".join(left)))
    for ia, ib in zip(axes_a, axes_b, strict=True):
        right[ib] = left[ia]
    output = [ch for n, ch in enumerate(left) if n not in axes_a]
    output += [ch for n, ch in enumerate(right) if n not in axes_b]
    return linear("tensordot", ["".join(left), "".join(right)], output, [a, b], value)


@implements(np.vdot)
def vdot(a, b):
    """``Σ a.flat[i] b.flat[i]`` (real arrays: no conjugate)."""
    return np.dot(np.ravel(a), np.ravel(b))


@implements(np.matvec)
def matvec(x1, x2, **kwargs):
    refuse_out("matvec", kwargs)
    refuse("matvec", **kwargs)
    return np.matmul(x1, np.expand_dims(x2, -1))[..., 0]


@implements(np.vecmat)
def vecmat(x1, x2, **kwargs):
    refuse_out("vecmat", kwargs)
    refuse("vecmat", **kwargs)
    return np.matmul(np.expand_dims(x1, -2), x2)[..., 0, :]


@implements(np.vecdot)
def vecdot(x1, x2, **kwargs):
    refuse_out("vecdot", kwargs)
    refuse("vecdot", **kwargs)
    return np.sum(x1 * x2, axis=-1)


@implements(np.polyval)
def polyval(p, x):
    """``p[0] x^(n−1) + ... + p[n−1]`` by Horner's rule."""
    result = np.zeros_like(raw(x)) if np.ndim(raw(p)) else None
    for n in range(len(p)):
        result = p[n] + (result * x if n else 0.0 * x)
    return result


@implements(np.convolve)
def convolve(a, v, mode="full"):
    """``out[k] = Σ_i a[i] v[k − i]``: bilinear, an einsum with the constant tensor
    ``T[k, i, j] = [k == i + j]``; ``'same'`` and ``'valid'`` keep NumPy's middle part."""
    return _sliding("convolve", a, v, mode)


@implements(np.correlate)
def correlate(a, v, mode="valid"):
    """``out[k] = Σ_n a[n + k] v[n]``: the convolution with ``v`` reversed (real arrays)."""
    return _sliding("correlate", a, np.flip(v), mode)


def _sliding(name: str, a, v, mode: str):
    n, m = np.shape(raw(a))[0] if np.ndim(raw(a)) == 1 else -1, np.size(raw(v))
    if np.ndim(raw(a)) != 1 or np.ndim(raw(v)) != 1 or not n or not m:
        raise ShapeError(f"numpy.{name} needs two non-empty 1-dimensional arrays")
    total = n + m - 1
    positions = np.arange(total)[:, None, None]
    T = (positions == np.arange(n)[None, :, None] + np.arange(m)[None, None, :]).astype(float)
    full = np.einsum("kij,i,j->k", T, a, v)
    if mode == "full":
        return full
    if mode == "same":
        # where NumPy's middle part starts (correlate flips v, and swaps when v is longer)
        if name == "convolve":
            start = (min(n, m) - 1) // 2
        else:
            start = (m - 1) // 2 if n >= m else n // 2
        return full[start : start + max(n, m)]
    if mode == "valid":
        return full[min(n, m) - 1 : max(n, m)]
    raise UnsupportedOperationError.for_function(name, f"mode={mode!r}")


@implements(np.einsum)
def einsum(*operands, out=None, optimize=False, **kwargs):
    refuse("einsum", out=out, **kwargs)
    subscripts, arrays = split_einsum_args(operands)
    return einsum_record("einsum", subscripts, arrays, None)


def einsum_record(op: str, subscripts: str, operands: list, value, template=None):
    """Record the einsum ``subscripts`` of ``operands`` as the operation ``op``."""
    values = [raw(x) for x in operands]
    inputs, output = parse_einsum(subscripts, [np.shape(v) for v in values])
    spec = ",".join(inputs) + "->" + output
    if value is None:
        value = np.einsum(spec, *values, optimize=True)
    if template is None:
        template = einsum_written(inputs, output) or (
            f"einsum('{spec}', " + ", ".join(f"{{{n}}}" for n in range(len(operands))) + ")"
        )
    return linear(op, inputs, list(output), operands, value, template=template)


# ---- axis permutations ------------------------------------------------------------
def _permute(name: str, a, permutation: list[int]):
    names = letters(len(permutation))
    output = [names[n] for n in permutation]
    value = np.transpose(raw(a), permutation)
    # written as the permutation it is, whichever function made it (moveaxis(X, 0, 2) is
    # transpose(X, (1, 2, 0))); none at all is the array itself
    if permutation == list(range(len(permutation))):
        template = "{0}"
    elif permutation == [1, 0]:
        template = "{g0}ᵀ"
    else:
        template = f"transpose({{0}}, {tuple(permutation)})"
    return linear(name, [names], output, [a], value, template=template)


@implements(np.transpose)
def transpose(a, axes=None):
    ndim = np.ndim(raw(a))
    permutation = (
        list(range(ndim))[::-1] if axes is None else list(normalize_axes(axes, ndim, "transpose"))
    )
    if len(permutation) != ndim:
        raise ShapeError(f"numpy.transpose: axes {axes!r} do not match {ndim} dimensions")
    return _permute("transpose", a, permutation)


@implements(np.swapaxes)
def swapaxes(a, axis1, axis2):
    ndim = np.ndim(raw(a))
    i, j = normalize_axes((axis1,), ndim, "swapaxes") + normalize_axes((axis2,), ndim, "swapaxes")
    permutation = list(range(ndim))
    permutation[i], permutation[j] = j, i
    return _permute("swapaxes", a, permutation)


@implements(np.matrix_transpose)
def matrix_transpose(x, /):
    if np.ndim(raw(x)) < 2:
        raise ShapeError("numpy.matrix_transpose needs at least 2 dimensions")
    return np.swapaxes(x, -1, -2)


@implements(np.moveaxis)
def moveaxis(a, source, destination):
    ndim = np.ndim(raw(a))
    source = normalize_axes(source, ndim, "moveaxis")
    destination = normalize_axes(destination, ndim, "moveaxis")
    if len(source) != len(destination):
        raise ShapeError("numpy.moveaxis: source and destination need the same number of axes")
    permutation = [n for n in range(ndim) if n not in source]
    for dest, src in sorted(zip(destination, source, strict=True)):
        permutation.insert(dest, src)
    return _permute("moveaxis", a, permutation)


# ---- reshapes and broadcasting --------------------------------------------------------
def _reshaped(name: str, a, value):
    in_shape = np.shape(raw(a))
    # the expression says the shape it makes: reshape(x, (3, 1)), never a bare reshape(x);
    # a reshape to the same shape is the value itself (a rule's factor squeezed of nothing)
    same = in_shape == value.shape
    template = "{0}" if same else f"reshape({{0}}, {tuple(value.shape)})"
    return record(name, value, [a], lambda _: jacobians.reshape(in_shape, value.shape), template)


@implements(np.reshape)
def reshape(a, shape=None, order="C", copy=None, newshape=None):
    """Row-major (``order='C'``) or column-major (``'F'``, the vec convention: a transpose,
    a row-major reshape to the reversed shape, and a transpose back)."""
    shape = newshape if shape is None else shape
    _known_order("reshape", order)
    if order == "F":
        target = np.shape(np.reshape(raw(a), shape, order="F"))
        return np.transpose(np.reshape(np.transpose(a), target[::-1]))
    return _reshaped("reshape", a, np.reshape(raw(a), shape))


@implements(np.ravel)
def ravel(a, order="C"):
    _known_order("ravel", order)
    if order == "F":
        return np.ravel(np.transpose(a))
    return _reshaped("ravel", a, np.ravel(raw(a)))


def _known_order(name: str, order) -> None:
    if order not in ("C", "F"):
        raise UnsupportedOperationError.for_function(
            name, f"order={order!r}; write order='C' (row-major) or order='F' (column-major)"
        )


@implements(np.expand_dims)
def expand_dims(a, axis):
    refuse_bools("expand_dims", axis=axis)
    return _reshaped("expand_dims", a, np.expand_dims(raw(a), axis))


@implements(np.squeeze)
def squeeze(a, axis=None):
    return _reshaped("squeeze", a, np.squeeze(raw(a), axis=axis))


@implements(np.broadcast_to)
def broadcast_to(array, shape, subok=False):
    value = np.broadcast_to(raw(array), shape)
    in_shape = np.shape(raw(array))
    return record(
        "broadcast_to",
        value,
        [array],
        lambda _: jacobians.elementwise(None, value.shape, in_shape),
        f"broadcast_to({{0}}, {tuple(value.shape)})",
    )


# ---- selection ----------------------------------------------------------------------
@implements(np.where)
def where(condition, x=None, y=None):
    if type(condition) is Traced:
        raise UnsupportedOperationError.for_function(
            "where", "the condition is a traced value; build it with a comparison (x > 0)"
        )
    if x is None and y is None:
        return np.where(condition)
    value = np.where(condition, raw(x), raw(y))
    chosen = np.asarray(condition, dtype=bool)
    shapes = [np.shape(raw(x)), np.shape(raw(y))]
    masks = _masks(condition, [condition, x, y])

    def jacobian(position):
        mask = chosen if position == 1 else ~chosen
        return jacobians.elementwise(
            mask.astype(value.dtype), value.shape, shapes[position - 1], masks[position]
        )

    return record("where", value, [condition, x, y], jacobian)


def _masks(condition, inputs) -> dict[int, str]:
    """The symbols of where's two masks, ``[x > 0]`` and ``1 − [x > 0]`` for a comparison
    of traced values; a constant condition without a name is its own symbol (K1)."""
    if isinstance(condition, DataDependent) and condition.expr:
        test = f"[{condition.expr}]"
    else:
        name = expressions(inputs)[0]
        symbols = definitions_in(name)
        if symbols:  # an unnamed constant: K1 = …, and 1 − K1
            return {1: name, 2: defined("g", f"1 − {symbols[0][0]}")}
        test = f"[{name}]"
    return {1: defined("g", test), 2: defined("g", f"1 − {test}")}


@implements(np.select)
def select(condlist, choicelist, default=0):
    """The first choice whose condition holds, else ``default``: nested ``where``s, the
    last condition innermost, so an earlier condition wins (the conditions are constants)."""
    if len(condlist) != len(choicelist):
        raise ShapeError(
            f"numpy.select: {len(condlist)} conditions for {len(choicelist)} choices;"
            " give one condition per choice"
        )
    if not condlist:
        raise ShapeError("numpy.select: select with an empty condition list is not possible")
    result = default
    for condition, choice in reversed(list(zip(condlist, choicelist, strict=True))):
        result = np.where(condition, choice, result)
    return result


# ---- identities on real arrays ---------------------------------------------------------
@implements(np.copy, np.real)
def copy(a, *args, **kwargs):
    """A new value equal to ``a``; so is the real part of a real array (NumPy's is a view,
    which :mod:`tensordiff.trace.views` takes it for: a write into either makes the other
    stale)."""
    return np.positive(a)


@implements(np.imag)
def imag(val):
    """The imaginary part of a real array: the constant 0."""
    return np.zeros_like(raw(val))


# ---- queries and constants: plain values, no derivative ---------------------------------
@implements(np.shape)
def shape(a):
    return np.shape(raw(a))


@implements(np.ndim)
def ndim(a):
    return np.ndim(raw(a))


@implements(np.size)
def size(a, axis=None):
    return np.size(raw(a), axis)


@implements(np.result_type)
def result_type(*arrays_and_dtypes):
    return np.result_type(*(raw(x) for x in arrays_and_dtypes))
