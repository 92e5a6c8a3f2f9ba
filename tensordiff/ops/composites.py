"""Composite functions recognised in the primitives a user writes them with.

``np.exp(z) / np.sum(np.exp(z))`` is the softmax, ``1 / (1 + np.exp(-z))`` the logistic
sigmoid, ``x @ A @ x`` a quadratic form, ``np.log(np.linalg.det(X))`` the log-determinant.
Differentiated primitive by primitive their Jacobians are right but read as a tangle
(``δ[i,j] (1 / sum(exp(z))) exp(z)[i] − (exp(z) / sum(exp(z))²)[i] exp(z)[j]``); a textbook
writes ``diag(s) − s sᵀ``, ``σ (1 − σ)``, ``(A + Aᵀ) x`` and ``X⁻ᵀ``. The rule of the outer
operation (the division, the logarithm, the product) asks :func:`recognised` (or
:func:`quadratic_form`) whether its inputs form one of these; if so the result is recorded
as one node of the composite, whose parent is the composite's argument and whose local
Jacobian is the textbook one.

Recognition reads the recorded calls (:attr:`~tensordiff.trace.graph.Node.call`, kept by
:func:`~tensordiff.trace.traced.keep_call`): which operation made each input, from which
values, along which axes. It never reads a spelling
of the user's code or the numbers, so it holds for any way of writing the same operations
and never for a different function. It is exact, not approximate: the composite's value
is the one the user's operations computed, and its Jacobian equals the product of theirs
(the chain rule through the inner values is the composite's derivative), so other uses of
the inner values (``np.exp(z)`` kept for later) keep their own paths. A softmax of
``z − c`` with ``c`` constant along the softmax's axes (the stabiliser ``z − max(z)``) is
recorded as the softmax of ``z``: ``softmax(z − c) = softmax(z)`` for every ``z`` and
``c``, so the path through ``c`` has derivative zero and is left out; likewise
``c + log Σ exp(z − c) = log Σ exp z`` and ``(z − c) − log Σ exp(z − c) = log softmax(z)``.
"""

import functools
import re

import numpy as np

from tensordiff.core import context
from tensordiff.core.templates import defined, grouped, number, quantity
from tensordiff.core.vjp import SoftmaxProduct, numbers_wanted
from tensordiff.ops import jacobians, linalg
from tensordiff.ops.arguments import letters
from tensordiff.trace.graph import texts
from tensordiff.trace.traced import Traced, expression_sources, expressions, keep_call, raw, record

__all__ = ["recognised", "quadratic_form", "COMPLETING"]

# The ufuncs whose call may complete a composite (those :func:`recognised` looks into).
COMPLETING = frozenset({np.true_divide, np.reciprocal, np.add, np.subtract, np.log})


def recognised(ufunc, inputs) -> Traced | None:
    """The composite ``ufunc(*inputs)`` completes, recorded as one node, or None."""
    if ufunc is np.sqrt:
        return _euclidean_norm(inputs[0])
    if ufunc is np.true_divide:
        for recognise in (_softmax, _sigmoid, _standardised, _normalised):
            composite = recognise(*inputs)
            if composite is not None:
                return composite
    if ufunc is np.reciprocal:
        return _sigmoid(1.0, inputs[0])
    if ufunc is np.add:
        return _shifted_log_sum_exp(*inputs)
    if ufunc is np.subtract:
        return _log_softmax_difference(*inputs)
    if ufunc is np.log:
        for recognise in (_log_det, _log_softmax, _log_sum_exp):
            composite = recognise(inputs[0])
            if composite is not None:
                return composite
    return None


# ---- reading the recorded calls ------------------------------------------------------
def _made_by(x, op: str):
    """``(inputs, options)`` of the call ``op`` that made the traced value ``x`` at the level
    being served, or None (a constant, another operation, a value of another trace)."""
    # (x._trace.level != the level served: raw(x) is x, written out as this runs per input
    # of every call that may complete a composite)
    if type(x) is not Traced or x.node.op != op or not x.node.call:
        return None
    return None if x._trace.level != context.current().serving_level else x.node.call


def _is_one(x) -> bool:
    """Whether ``x`` is a constant of ones (not a traced value of any level)."""
    if isinstance(x, Traced):
        return False
    value = np.asarray(x)
    return value.dtype.kind in "biuf" and bool(np.all(value == 1))


def _same(x, y) -> bool:
    """Whether two inputs are the same value by construction: one recorded node, or the
    same operation with the same options on the same inputs (``np.max(z)`` computed
    twice), or equal constants."""
    if type(x) is not Traced or type(y) is not Traced:
        if type(x) is Traced or type(y) is Traced:
            return False
        return x is y or (np.shape(x) == np.shape(y) and bool(np.all(np.equal(x, y))))
    if x.node is y.node:
        return True
    if raw(x) is x or raw(y) is y or not x.node.call or not y.node.call:
        return False  # another trace's values, or calls no rule remembered
    (x_inputs, x_options), (y_inputs, y_options) = x.node.call, y.node.call
    return (
        x.node.op == y.node.op
        and x_options == y_options
        and len(x_inputs) == len(y_inputs)
        and all(_same(a, b) for a, b in zip(x_inputs, y_inputs, strict=True))
    )


def _negated(x):
    """The traced ``z`` that ``x = −z`` (``−z`` or ``−1 * z``) negates, or None."""
    call = _made_by(x, "negative")
    if call is not None:
        return call[0][0]
    call = _made_by(x, "multiply")
    for scale, z in (call[0], call[0][::-1]) if call is not None else ():
        if type(scale) is not Traced and np.ndim(scale) == 0 and scale == -1:
            return z
    return None


# ---- softmax -------------------------------------------------------------------------
def _softmax(numerator, denominator) -> Traced | None:
    """``e / sum(e, axes)`` with ``e = exp(u)`` is ``softmax(u)`` along ``axes``, if the sum
    broadcasts back along the axes it summed (kept as size 1, or the leading ones)."""
    exp_call = _made_by(numerator, "exp")
    sum_call = _made_by(denominator, "sum")
    if exp_call is None or sum_call is None:
        return None
    if not _same(sum_call[0][0], numerator):  # the same exp(u), or exp(u) computed again
        return None
    axes, keepdims = sum_call[1]["axes"], sum_call[1]["keepdims"]
    shape = np.shape(raw(numerator))
    if not keepdims and axes != tuple(range(len(axes))):
        return None  # e / sum(e, axis=1) of a matrix divides row i by the sum of column i
    (u,) = exp_call[0]
    z = _unshifted(u, axes)
    value = raw(numerator) / raw(denominator)  # the user's own numbers
    if np.shape(value) != shape:
        return None
    symbol = _softmax_symbol(z, axes)  # also how the value reads

    def jacobian(_):  # ∂s[i]/∂z[j] = δ[i,j] s[i] − s[i] s[j] along the axes, δ across
        if numbers_wanted():
            return SoftmaxProduct("softmax", value, axes, True)
        name = symbol()
        out = letters(len(shape))
        wrt = _along(out, axes)
        diagonal = jacobians.index_term(out, out, [(out, value, name)], shape, shape)
        outer = jacobians.index_term(
            out, wrt, [(out, value, name), (wrt, value, name)], shape, shape, -1.0
        )
        return (diagonal, outer)

    recorded = record("softmax", value, [z], jacobian, symbol, sources=symbol.args[1])
    return keep_call(recorded, [z], axes=axes)


def _softmax_symbol(z, axes) -> functools.partial:
    """The symbol ``s`` defined as ``softmax(z)`` along ``axes``, written when called (a
    gradient computed as numbers never reads it): ``symbol()``, or ``symbol(z_text)`` as
    the template of an expression over ``z`` (its sources are ``symbol.args[1]``)."""
    return functools.partial(
        _softmax_text, _axis_text(np.ndim(raw(z)), axes), expression_sources([z])
    )


def _softmax_text(axis_text: str, sources: tuple, *z_text: str) -> str:
    (z_name,) = z_text or texts(sources)
    return defined("s", f"softmax({z_name}{axis_text})")


def _log_of(symbol, *z_text: str) -> str:
    return f"log({symbol(*z_text)})"


def _axis_text(ndim: int, axes) -> str:
    """``, axis=1`` (``, axis=(0, 2)``) as a reduction along ``axes`` prints it; nothing
    along every axis."""
    return "" if len(axes) == ndim else f", axis={axes[0] if len(axes) == 1 else axes}"


def _log_softmax(softmax) -> Traced | None:
    """``log(s)`` for ``s = softmax(z)``."""
    call = _made_by(softmax, "softmax")
    if call is None:
        return None
    (z,), options = call
    value = _log(raw(softmax))  # the user's own numbers
    return _log_softmax_record(z, options["axes"], raw(softmax), value)


def _log_softmax_difference(u, total) -> Traced | None:
    """``u − log(sum(exp(u), axes))`` is ``log(softmax(u))``; with ``u = z − c`` and ``c``
    constant along the axes (the stable way to write it), ``log(softmax(z))``."""
    call = _made_by(total, "logsumexp")
    if call is None or not _same(call[0][0], u):
        return None
    axes, keepdims = call[1]["axes"], call[1]["keepdims"]
    value = raw(u) - raw(total)  # the user's own numbers
    if (not keepdims and axes != tuple(range(len(axes)))) or np.shape(value) != np.shape(raw(u)):
        return None  # the sum does not broadcast back along the axes it summed
    return _log_softmax_record(_unshifted(u, axes), axes, None, value)


def _log_softmax_record(z, axes, s, value) -> Traced:
    """``value = log(softmax(z))`` along ``axes`` (``s`` the softmax, or None to compute it),
    recorded with ``∂log s[i]/∂z[j] = δ[i,j] − s[j]`` along the axes, δ across the others."""
    shape = np.shape(value)
    symbol = _softmax_symbol(z, axes)
    z_value = raw(z)  # taken now: raw() depends on the call being served

    def jacobian(_):
        softmax = _softmax_of(z_value, axes) if s is None else s
        if numbers_wanted():
            return SoftmaxProduct("log_softmax", softmax, axes, True)
        name = symbol()
        out = letters(len(shape))
        wrt = _along(out, axes)
        ones = jacobians.index_term(out, out, [], shape, shape)
        minus_s = jacobians.index_term(out, wrt, [(wrt, softmax, name)], shape, shape, -1.0)
        return (ones, minus_s)

    template = functools.partial(_log_of, symbol)
    return record("log_softmax", value, [z], jacobian, template, sources=symbol.args[1])


# A function under np.errstate enters it more cheaply than a ``with`` block: the log-sum-exp
# is recognised at every log of a sum of exponentials.
@np.errstate(divide="ignore")
def _log(x):
    """``np.log(x)``, log 0 = −inf without NumPy's warning."""
    return np.log(x)


def _log_sum_exp(total) -> Traced | None:
    """``log(sum(exp(u), axes))``: its derivative is ``s = softmax(u)`` along the axes."""
    sum_call = _made_by(total, "sum")
    exp_call = _made_by(sum_call[0][0], "exp") if sum_call is not None else None
    if exp_call is None:
        return None
    (u,) = exp_call[0]
    value = _log(raw(total))  # the user's own numbers
    return _log_sum_exp_record(u, sum_call[1], value, "log({0})", total)


def _shifted_log_sum_exp(a, b) -> Traced | None:
    """``c + log(sum(exp(z − c), axes))``, the stable way to write it, is ``log(sum(exp(z),
    axes))`` when ``c`` is constant along the axes: the two paths through ``c`` cancel."""
    for c, total in ((a, b), (b, a)):
        call = _made_by(total, "logsumexp")
        if call is None:
            continue
        (u,), options = call
        z = _unshifted(u, options["axes"])
        value = raw(a) + raw(b)  # the user's own numbers
        if z is u or not _same(c, _made_by(u, "subtract")[0][1]):
            continue
        if np.shape(value) != np.shape(raw(total)):
            continue  # c broadcast beyond the sum's own shape
        where = _sum_options(np.ndim(raw(z)), options)
        return _log_sum_exp_record(z, options, value, f"log(sum(exp({{0}}){where}))", z)
    return None


def _sum_options(ndim: int, options: dict) -> str:
    """``, axis=1, keepdims=True`` as a sum along ``options["axes"]`` prints them."""
    return _axis_text(ndim, options["axes"]) + (", keepdims=True" if options["keepdims"] else "")


def _log_sum_exp_record(u, options: dict, value, template: str, written_over) -> Traced:
    """``value = log(sum(exp(u)))`` along ``options["axes"]`` (kept if ``"keepdims"``),
    recorded with the derivative ``s = softmax(u)``; its expression is ``template`` over
    ``written_over``'s, written when first read."""
    axes, keepdims = options["axes"], options["keepdims"]
    u_value = raw(u)  # taken now: raw() depends on the call being served
    shape, out_shape = np.shape(u_value), np.shape(value)
    symbol = _softmax_symbol(u, axes)

    def jacobian(_):
        s = _softmax_of(u_value, axes)
        if numbers_wanted():
            return SoftmaxProduct("logsumexp", s, axes, keepdims)
        name = symbol()
        wrt = letters(len(shape))
        out = [
            None if n in axes else wrt[n] for n in range(len(shape)) if keepdims or n not in axes
        ]
        return jacobians.index_term(out, wrt, [(wrt, s, name)], out_shape, shape)

    sources = expression_sources([written_over])
    recorded = record("logsumexp", value, [u], jacobian, template, sources=sources)
    return keep_call(recorded, [u], **options)


def _softmax_of(u, axes):
    """``softmax(u)`` along ``axes``, computed stably (no overflow); when ``u`` is
    differentiated again it is recorded as the composite, so a second derivative reads
    ``δ[i,j] s[i] − s[i] s[j]`` rather than ``exp(x − reshape(log(sum(exp(x))), (1,)))``."""
    if type(u) is np.ndarray:  # the ufuncs' reduce, as np.max and np.sum call it, directly
        shifted = np.exp(u - np.maximum.reduce(u, axis=axes, keepdims=True))
        return shifted / np.add.reduce(shifted, axis=axes, keepdims=True)
    shifted = np.exp(u - np.max(u, axis=axes, keepdims=True))
    return shifted / np.sum(shifted, axis=axes, keepdims=True)


def _along(out: str, axes) -> str:
    """The letters of ``out`` with a fresh letter on each of ``axes``: ``s[i]`` against
    ``s[j]`` along the axes of a softmax, the same letter (a δ) across the others."""
    fresh = letters(len(out), out)
    return "".join(fresh[n] if n in axes else out[n] for n in range(len(out)))


def _unshifted(u, axes):
    """``z`` if ``u = z − c`` with ``c`` constant along ``axes`` (so that the softmax of ``u``
    along them is that of ``z``), else ``u``."""
    call = _made_by(u, "subtract")
    if call is None:
        return u
    z, c = call[0]
    u_shape, c_shape = np.shape(raw(u)), np.shape(raw(c))
    if type(z) is not Traced or raw(z) is z or np.shape(raw(z)) != u_shape:
        return u
    offset = len(u_shape) - len(c_shape)
    constant_along = all(n < offset or c_shape[n - offset] == 1 for n in axes)
    return z if constant_along else u


# ---- sigmoid -------------------------------------------------------------------------
def _sigmoid(numerator, denominator) -> Traced | None:
    """``1 / (1 + exp(−z))`` is ``σ(z)``."""
    add_call = _made_by(denominator, "add")
    if add_call is None or not _is_one(numerator):
        return None
    a, b = add_call[0]
    exp_term = b if _is_one(a) else a if _is_one(b) else None
    exp_call = _made_by(exp_term, "exp")
    if exp_call is None:
        return None
    z = _negated(exp_call[0][0])
    value = raw(numerator) / raw(denominator)  # the user's own numbers
    if z is None or np.shape(value) != np.shape(raw(z)):
        return None
    (z_name,) = expressions([z])
    sigma = defined("σ", f"1 / (1 + exp(−{grouped(z_name)}))")

    def jacobian(_):  # σ'(z) = σ (1 − σ)
        shape = np.shape(value)
        out = letters(len(shape))
        factors = [(out, value, sigma), (out, 1.0 - value, f"(1 − {sigma})")]
        return jacobians.index_term(out, out, factors, shape, shape)

    return record("sigmoid", value, [z], jacobian, expr=sigma)


# ---- Euclidean norm and the unit vector -------------------------------------------------
def _euclidean_norm(total) -> Traced | None:
    """``√sum(x ⊙ x)`` over all of ``x`` is ``‖x‖`` (``‖X‖_F`` for a matrix or a larger array),
    however the squares are written (``x * x``, ``x ** 2``, ``np.square``): its derivative
    ``x / ‖x‖`` then reads as a textbook writes it."""
    sum_call = _made_by(total, "sum")
    if sum_call is None or sum_call[1]["keepdims"]:
        return None
    x = _squared(sum_call[0][0])
    if x is None or len(sum_call[1]["axes"]) != np.ndim(raw(x)):
        return None  # the norms of rows or columns: the sum of only some axes
    value = np.sqrt(raw(total))  # the user's own numbers
    shape = np.shape(raw(x))
    (x_name,) = expressions([x])
    # ‖(X − W)‖_F: a compound argument in brackets, so that the bars never read as
    # parting a sum or a product (they are no brackets to the formulas' readers)
    norm = f"‖{grouped(x_name)}‖" + ("_F" if len(shape) > 1 else "")
    entries, inverse = raw(x), 1.0 / value  # (read now: raw is of the level being served)

    def jacobian(_):  # ∂‖x‖/∂x[j] = x[j] / ‖x‖
        wrt = letters(len(shape))
        factors = [(wrt, entries, x_name), ("", inverse, f"1 / {norm}")]
        return jacobians.index_term("", wrt, factors, (), shape)

    return keep_call(record("norm", value, [x], jacobian, expr=norm), [x])


def _squared(square):
    """``x`` if ``square`` is ``x * x``, ``x ** 2`` or ``np.square(x)`` of a traced ``x``."""
    power = _made_by(square, "power")
    if power is not None and _is_two(power[0][1]):
        return power[0][0]
    squared = _made_by(square, "square")
    if squared is not None:
        return squared[0][0]
    product = _made_by(square, "multiply")
    if product is not None and _same(*product[0]):
        return product[0][0]
    return None


def _normalised(numerator, denominator) -> Traced | None:
    """``x / ‖x‖`` is the unit vector ``x̂``: ``∂x̂[i]/∂x[j] = (δ[i,j] − x̂[i] x̂[j]) / ‖x‖``
    (over all the indices of an array divided by its Frobenius norm)."""
    norm_call = _made_by(denominator, "norm")
    if norm_call is None or not _same(norm_call[0][0], numerator):
        return None
    x = norm_call[0][0]
    value = raw(numerator) / raw(denominator)  # the user's own numbers
    shape = np.shape(value)
    if shape != np.shape(raw(x)):
        return None
    x_name, norm = expressions([x, denominator])
    unit = quantity(_standardised_symbol(x_name), f"{grouped(x_name)} / {norm}")
    inverse = 1.0 / raw(denominator)

    def jacobian(_):
        out = letters(len(shape))
        wrt = _along(out, range(len(shape)))
        scale = ("", inverse, f"1 / {norm}")
        return (
            jacobians.index_term(out, out, [scale], shape, shape),
            jacobians.index_term(
                out, wrt, [scale, (out, value, unit), (wrt, value, unit)], shape, shape, -1.0
            ),
        )

    return record("normalise", value, [x], jacobian, expr=unit)


# ---- quadratic form ------------------------------------------------------------------
def quadratic_form(left, right) -> Traced | None:
    """``x @ A @ x`` (either way round: ``(x A) x`` or ``x (A x)``, or with ``np.dot``) for a
    vector ``x`` and a constant square ``A`` is ``xᵀ A x``, whose gradient is ``(A + Aᵀ) x``."""
    found = _vector_and_matrix(left, right)
    if found is None:
        return None
    x, matrix = found
    vector = raw(x)
    x_name, a_name = expressions([x, matrix])
    name = f"({a_name} + {_transposed(a_name)}) {grouped(x_name)}"

    def jacobian(_):  # ∂(xᵀ A x)/∂x = (A + Aᵀ) x
        gradient = np.matmul(matrix, vector) + np.matmul(np.transpose(matrix), vector)
        return jacobians.index_term("", "i", [("i", gradient, name)], (), np.shape(vector))

    value = np.matmul(raw(left), raw(right))  # the user's own numbers
    expr = " ".join(grouped(e) for e in expressions([left, right]))  # (x A) x, as written
    return record("matmul", value, [x], jacobian, expr=expr)


def _vector_and_matrix(left, right):
    """``(x, A)`` if ``left @ right`` is ``x @ A @ x`` as :func:`quadratic_form` needs."""
    for product, x, x_first in ((left, right, True), (right, left, False)):
        call = _made_by(product, "matmul") or _made_by(product, "dot")
        if call is None or type(x) is not Traced or raw(x) is x:
            continue
        (a, b), _ = call
        x_inner, matrix = (a, b) if x_first else (b, a)
        if not _same(x_inner, x) or (type(matrix) is Traced and raw(matrix) is not matrix):
            continue  # another vector, or a matrix that is itself differentiated
        n = np.shape(raw(x))
        if len(n) == 1 and np.shape(raw(matrix)) == n * 2:
            return x, matrix
    return None


def _transposed(name: str) -> str:
    """``Aᵀ`` for ``A``, ``A`` for ``Aᵀ``, ``(A B)ᵀ`` for ``A B``."""
    if name.endswith("ᵀ") and grouped(name[:-1]) == name[:-1]:
        return name[:-1]
    return grouped(name) + "ᵀ"


# ---- log-determinant -----------------------------------------------------------------
def _log_det(determinant) -> Traced | None:
    """``log(det X)`` is ``log|det X|`` where it is defined (NaN elsewhere, as NumPy
    computes it), whose gradient is ``X⁻ᵀ``: the cofactors over the determinant."""
    call = _made_by(determinant, "det")
    if call is None:
        return None
    (matrix,), _ = call
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.log(raw(determinant))  # the user's own numbers
    return linalg.log_det(matrix, value, "log(det {g0})")


# ---- standardisation (layer norm) ----------------------------------------------------
def _standardised(numerator, denominator) -> Traced | None:
    """``(x − μ) / σ`` with ``μ = mean(x)`` and ``σ = √(var(x) + ε)`` (or ``std(x)``) along
    the same axes: ``∂y[i]/∂x[j] = (δ[i,j] − 1/n − y[i] y[j] / (n − ddof)) / σ`` along them."""
    centred = _centred(numerator)
    spread = _spread(denominator)
    if centred is None or spread is None:
        return None
    (x, axes), (x_again, spread_axes, ddof) = centred, spread
    value = raw(numerator) / raw(denominator)  # the user's own numbers
    if not _same(x, x_again) or axes != spread_axes or np.shape(value) != np.shape(raw(x)):
        return None
    shape = np.shape(value)
    count = int(np.prod([shape[n] for n in axes]))
    x_name, mean_name, sigma_name = expressions(
        [x, _made_by(numerator, "subtract")[0][1], denominator]
    )
    # each named once in the legend, the later ones in terms of the earlier:
    # μ = mean(x), σ = √(mean((x − μ)²) + 10⁻⁵), x̂ = (x − μ) / σ
    mu = quantity("μ", mean_name)
    sigma = quantity("σ", _in_terms_of(sigma_name, mean_name, mu))
    y = quantity(_standardised_symbol(x_name), f"({x_name} − {mu}) / {sigma}")
    kept = tuple(1 if n in axes else size for n, size in enumerate(shape))
    inverse = np.reshape(1.0 / raw(denominator), kept)

    def jacobian(_):
        out = letters(len(shape))
        wrt = _along(out, axes)
        scale = (out, inverse, f"1 / {sigma}")
        return (
            jacobians.index_term(out, out, [scale], shape, shape),
            jacobians.index_term(out, wrt, [scale], shape, shape, -1.0 / count, f"−1/{count}"),
            jacobians.index_term(
                out,
                wrt,
                [scale, (out, value, y), (wrt, value, y)],
                shape,
                shape,
                -1.0 / (count - ddof),
                f"−1/{number(count - ddof)}",
            ),
        )

    return record("standardise", value, [x], jacobian, expr=y)


def _in_terms_of(expression: str, part: str, symbol: str) -> str:
    """``expression`` with each whole occurrence of the expression ``part`` written as
    ``symbol``, the quantity it is named (an expression's text is how its value was
    computed, so the same text is the same value).

    >>> _in_terms_of("√(mean((x − mean(x))²) + 1)", "mean(x)", "μ")
    '√(mean((x − μ)²) + 1)'
    >>> _in_terms_of("mean(x) + tmean(x) + mean(x)[0]", "mean(x)", "μ")
    'μ + tmean(x) + mean(x)[0]'
    """
    return re.sub(rf"(?<![\w.]){re.escape(part)}(?![\w(\[])", symbol, expression)


def _standardised_symbol(x_name: str) -> str:
    """``x̂`` for the standardised ``x`` (a user's one-letter name with a hat), ``ĥ`` for
    that of a longer expression (never a hat on a name it does not standardise)."""
    return (x_name if re.fullmatch(r"[A-Za-z]", x_name) else "h") + "\u0302"


def _broadcasts_back(options: dict) -> bool:
    """Whether a reduction's result broadcasts back along the axes it reduced."""
    axes = options["axes"]
    return options["keepdims"] or axes == tuple(range(len(axes)))


def _centred(x_minus_mean):
    """``(x, axes)`` for ``x − mean(x, axes)`` (the mean broadcast back along them), or None."""
    call = _made_by(x_minus_mean, "subtract")
    mean_call = _made_by(call[0][1], "mean") if call is not None else None
    if mean_call is None or not _broadcasts_back(mean_call[1]):
        return None
    x = call[0][0]
    return (x, mean_call[1]["axes"]) if _same(mean_call[0][0], x) else None


def _spread(denominator):
    """``(x, axes, ddof)`` for ``√(var(x, axes) + ε)``, ``√var(x, axes)`` (``std``) or a variance
    written ``mean((x − mean(x))**2)``, broadcast back along the axes; or None."""
    call = _made_by(denominator, "sqrt")
    if call is None:
        return None
    (variance,) = call[0]
    plus = _made_by(variance, "add")
    if plus is not None:  # var + ε, either way round, ε a constant number
        a, b = plus[0]
        constant = lambda v: type(v) is not Traced and np.ndim(v) == 0  # noqa: E731
        variance = a if constant(b) else b if constant(a) else None
    var_call = _made_by(variance, "var")
    if var_call is not None:
        (x,), options = var_call
        return (x, options["axes"], options["ddof"]) if _broadcasts_back(options) else None
    mean_call = _made_by(variance, "mean")  # mean((x − mean(x))²)
    if mean_call is None or not _broadcasts_back(mean_call[1]):
        return None
    (square,) = mean_call[0]
    power = _made_by(square, "power") or _made_by(square, "square")
    product = _made_by(square, "multiply")
    if power is not None and (len(power[0]) == 1 or _is_two(power[0][1])):
        centred = _centred(power[0][0])
    elif product is not None and _same(*product[0]):
        centred = _centred(product[0][0])
    else:
        return None
    if centred is None or centred[1] != mean_call[1]["axes"]:
        return None
    return (centred[0], centred[1], 0)


def _is_two(x) -> bool:
    return type(x) is not Traced and np.ndim(x) == 0 and x == 2
