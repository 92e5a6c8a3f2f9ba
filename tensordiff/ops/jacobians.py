"""Builders of local Jacobians as structured terms.

Every local Jacobian has the op's output axes first, then the argument's axes.
Four shapes of rule cover the whole allow-list:

* :func:`elementwise` — ``∂y[i]/∂x[j] = δ[i,j] g[i]``, broadcasting included: an
  axis the argument lacks (or has as size 1) simply gets no delta, so the
  chain rule sums over it.
* :func:`index_term` — a product of factors in index notation (the linear
  algebra rules); :func:`multilinear` is its case for any op written as an
  einsum (matmul, dot, tensordot, transpose, sum, trace, ...): ``∂out/∂operand``
  is the product of the other operands, with a delta from each output letter to
  the operand's axis of the same letter.
* :func:`selection` — axis by axis: deltas and small selection matrices
  (slices, gathers, padding, cumulative sums).
* :func:`reshape` — a delta between the row-major pieces the two shapes share.
"""

from collections.abc import Sequence

import numpy as np

from tensordiff.core import context, templates
from tensordiff.core.term import Term, axis_classes, fresh_class, squeezed
from tensordiff.trace.traced import as_array, define_constant

__all__ = [
    "elementwise",
    "multilinear",
    "index_term",
    "reshape",
    "selection",
    "one_hot",
    "selector",
    "unit_vector",
]


def elementwise(
    derivative, out_shape: tuple[int, ...], in_shape: tuple[int, ...], name: str = "g"
) -> Term:
    """``∂y/∂x = δ · derivative`` for an elementwise op, ``x`` broadcast to ``out_shape``.

    ``derivative`` is None (a pure delta), a scalar, or an array broadcastable to
    ``out_shape``.
    """
    out_axes, sizes = axis_classes(out_shape)
    offset = len(out_shape) - len(in_shape)
    in_axes = tuple(out_axes[offset + n] if size != 1 else () for n, size in enumerate(in_shape))
    out_classes = [axis[0] if axis else None for axis in out_axes]
    if derivative is None:
        return Term((), out_axes + in_axes, sizes)
    derivative = as_array(derivative)  # right-aligned to the output's axes, as broadcasting does
    factor = squeezed(derivative, out_classes[len(out_classes) - derivative.ndim :])
    return Term((factor,), out_axes + in_axes, sizes, (_named_leaf(name, factor, derivative),))


def multilinear(
    inputs: Sequence[str],
    output: Sequence[str | None],
    values: Sequence,
    wrt: int,
    scale: float | None = None,
    operand_names: Sequence[str] | None = None,
    scale_name: str | None = None,
) -> Term:
    """``∂out/∂values[wrt]`` for ``out = scale · einsum(inputs -> output, *values)``: the
    product of the other operands (see :func:`index_term`).

    ``output`` may hold None for an axis of size 1 that no input has (keepdims).
    """
    factors = [
        (term, value, operand_names[position] if operand_names else "K")
        for position, (term, value) in enumerate(zip(inputs, values, strict=True))
        if position != wrt
    ]
    wrt_shape = np.shape(values[wrt])
    return index_term(output, inputs[wrt], factors, None, wrt_shape, scale, scale_name)


def reshape(in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> Term:
    """``∂y/∂x`` for ``y = x.reshape(out_shape)`` (row-major).

    When the two shapes share row-major pieces (flattening, unflattening, adding
    or removing size-1 axes) the result is pure deltas. Otherwise (say (2, 3) to
    (3, 2)) it is a dense identity, the honest price of that reshape.
    """
    # an empty array shares no pieces (a size-0 axis divides nothing): its Jacobian is empty
    pieces = _common_pieces(in_shape, out_shape) if 0 not in in_shape else None
    if pieces is None:
        size = int(np.prod(in_shape))
        identity = np.eye(size).reshape(tuple(out_shape) + tuple(in_shape))
        # The shapes are in the meaning: a block of I (I[i+1,j,k,l]) is read by them.
        meaning = (
            f"1 where the row-major positions of output {tuple(out_shape)} and input"
            f" {tuple(in_shape)} agree"
        )
        return Term.dense(identity, name=templates.defined("I", meaning))
    out_axes, in_axes, sizes = pieces
    return Term((), out_axes + in_axes, sizes)


def _common_pieces(a: tuple[int, ...], b: tuple[int, ...]):
    """Row-major pieces shared by shapes ``a`` and ``b``, or None if there are none.

    Walks both shapes from the major end; each step takes the smaller remaining
    axis size, which must divide the larger.
    """
    a_axes: list[list[int]] = [[] for _ in a]
    b_axes: list[list[int]] = [[] for _ in b]
    sizes: dict[int, int] = {}
    a_left = [(n, s) for n, s in enumerate(a) if s != 1]
    b_left = [(n, s) for n, s in enumerate(b) if s != 1]
    while a_left and b_left:
        (na, sa), (nb, sb) = a_left[0], b_left[0]
        piece = min(sa, sb)
        if max(sa, sb) % piece:
            return None
        c = fresh_class()
        sizes[c] = piece
        a_axes[na].append(c)
        b_axes[nb].append(c)
        a_left[0], b_left[0] = (na, sa // piece), (nb, sb // piece)
        if sa == piece:
            a_left.pop(0)
        if sb == piece:
            b_left.pop(0)
    return tuple(map(tuple, b_axes)), tuple(map(tuple, a_axes)), sizes


def selection(
    out_shape: tuple[int, ...],
    in_shape: tuple[int, ...],
    deltas: Sequence[tuple[int, int]] = (),
    factors: Sequence[tuple[Sequence[int], Sequence[int], object, str]] = (),
) -> Term:
    """A local Jacobian given axis by axis.

    ``deltas`` pairs an output axis with an input axis of the same size (δ);
    each of ``factors`` is ``(out_axes, in_axes, array, name)``, a dense factor over
    those axes (a selection matrix for a slice, a one-hot vector for an integer
    index, a triangle of ones for a cumulative sum, ...). An axis in neither is
    constant along itself (broadcast).
    """
    out_axes, sizes = axis_classes(out_shape)
    in_axes, in_sizes = axis_classes(in_shape)
    sizes.update(in_sizes)
    out_axes, in_axes = list(out_axes), list(in_axes)
    linked: dict[int, int] = {}
    for o, i in deltas:  # two output axes tied to one input axis form a diagonal
        if i in linked:
            out_axes[o] = out_axes[linked[i]]
        else:
            in_axes[i], linked[i] = out_axes[o], o
    built, built_names = [], []
    for outs, ins, array, name in factors:
        axes = [out_axes[o] for o in outs] + [in_axes[i] for i in ins]
        factor = squeezed(as_array(array), [axis[0] if axis else None for axis in axes])
        built.append(factor)
        built_names.append(_named_leaf(name, factor, array))
    return Term(tuple(built), tuple(out_axes) + tuple(in_axes), sizes, tuple(built_names))


def _named_leaf(name: str, factor: tuple, array) -> str:
    """The factor's template. A rule's own constant is named to the running traces too, so
    that a derivative tracing this one (a Hessian) prints it as the rule does (``S`` with
    its legend, ``M⁻¹``), not as an unexplained ``K1``: a symbol the legend defines, or
    an expression in the user's names for the whole ``array`` (not a squeezed part)."""
    if not context.current().traces:  # no derivative is tracing this one: nothing to name
        return templates.leaf(name, factor[1])
    definitions = templates.definitions_in(name)
    if len(definitions) == 1 and templates.defined(*definitions[0]) == name:
        define_constant(factor[0], *definitions[0])
    elif (
        not definitions
        and type(factor[0]) is np.ndarray
        and np.shape(factor[0]) == np.shape(array)
        and not templates.classes_in(name)
    ):
        define_constant(factor[0], name, None)
    return templates.leaf(name, factor[1])


def one_hot(positions, size: int) -> np.ndarray:
    """``M[..., i] = (positions[...] == i)``; a position of -1 selects nothing."""
    positions = as_array(positions)  # td.jit's tape may record the positions
    return (positions[..., None] == np.arange(size)).astype(np.float64)


def index_term(
    out: Sequence[str | None],
    wrt: str,
    factors: Sequence[tuple[str, object, str]],
    out_shape: Sequence[int] | None,
    wrt_shape: Sequence[int],
    scale: float | None = None,
    scale_name: str | None = None,
) -> Term:
    """A local Jacobian written in index notation: ``∂y[out]/∂x[wrt] = scale · Π factors``.

    Each factor is ``(letters, array, name)``; a letter shared by the output and
    the argument is a δ, a letter on no axis is summed. For example the inverse
    ``Y = A⁻¹`` has ``index_term("kl", "ij", [("ki", -Y, "−Y"), ("jl", Y, "Y")], ...)``:
    ∂Y[k,l]/∂A[i,j] = −Y[k,i] Y[j,l].

    Letters broadcast as in einsum: the size other than 1 wins, and an operand axis
    of size 1 gets no δ (the chain rule sums over it). ``out`` may hold None for a
    size-1 axis no operand has; ``out_shape=None`` takes the output's sizes from the
    letters.
    """
    letter_size: dict[str, int] = {}
    lettered = [(wrt, wrt_shape)] + [(letters_, np.shape(array)) for letters_, array, _ in factors]
    if out_shape is not None:
        lettered.append((out, out_shape))
    for letters_, shape in lettered:
        for letter, size in zip(letters_, shape, strict=True):
            if letter_size.get(letter, 1) == 1:  # broadcasting: the non-1 size wins (0 too)
                letter_size[letter] = size
    if out_shape is None:
        out_shape = [letter_size[letter] if letter is not None else 1 for letter in out]
    classes = {letter: fresh_class() for letter, size in letter_size.items() if size != 1}
    sizes = {classes[letter]: letter_size[letter] for letter in classes}

    def axes(letters_, shape) -> tuple[tuple[int, ...], ...]:
        return tuple(
            (classes[letter],) if size != 1 else ()
            for letter, size in zip(letters_, shape, strict=True)
        )

    built, built_names = [], []
    for letters_, array, name in factors:
        factor = squeezed(as_array(array), [classes.get(letter) for letter in letters_])
        built.append(factor)
        built_names.append(_named_leaf(name, factor, array))
    if scale is not None:
        built.append((np.asarray(scale), ()))
        built_names.append(scale_name or templates.number(scale))
    return Term(
        tuple(built), axes(out, out_shape) + axes(wrt, wrt_shape), sizes, tuple(built_names)
    )


def selector(picks, named_by: str | None = None) -> str:
    """The symbol of the 0/1 matrix whose row ``a`` picks entry ``picks[a]`` (a zero row
    where ``picks[a]`` is −1), defined by its picks in the formula's legend, or by the
    expression ``named_by`` of positions computed from traced values (whose numbers a
    td.jit replay changes).

    >>> selector(np.array([2, 0, -1]))
    '⦃S|one-hot rows picking entries (2, 0, none)⦄'
    >>> selector(np.array([1, 0]), "argsort(x)")
    '⦃S|one-hot rows picking the entries argsort(x) names⦄'
    """
    if named_by:
        return templates.defined("S", f"one-hot rows picking the entries {named_by} names")
    if named_by is not None or not isinstance(picks, np.ndarray):  # numbers that change
        return templates.defined("S", "one-hot rows picking the entries the indices name")
    entries = ", ".join(str(p) if p >= 0 else "none" for p in np.ravel(picks))
    return templates.defined("S", f"one-hot rows picking entries ({entries})")


def unit_vector(n: int) -> str:
    """The symbol of the unit vector ``e_n`` (1 at entry ``n``), defined in the legend.

    >>> unit_vector(2)
    '⦃e₂|the unit vector with 1 at entry 2⦄'
    """
    digits = str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
    return templates.defined(f"e{digits}", f"the unit vector with 1 at entry {n}")
