"""The chain rule over a recorded graph: contract local Jacobians in some order.

A Jacobian of a composite function is the sum, over paths from the argument
to the output, of the contraction of the local Jacobians along each path.
Reverse order starts from the identity on the output and contracts each
node's accumulated derivative with its local Jacobians toward the inputs
(backpropagation); forward order starts from the identity on the argument and
contracts toward the output. Contributions that meet at a node are added.

The modes differ in when arithmetic happens. "reverse" and "forward" multiply
each step out at once (the intermediates of backpropagation and of tangent
propagation). "optimal" only links the local Jacobians into one network and
lets opt_einsum's dynamic program choose the contraction order of the whole
network at the end; that order is never worse than either of the other two,
which are orders of the same network. "auto" is "optimal" (but see the scalar
shortcut below). Every contraction is
planned under the memory limit (see :mod:`tensordiff.core.paths`).

A scalar output (the gradient of a loss) takes a shortcut in "reverse" and
"auto": its derivative at every node is a dense array shaped like the node
(the cotangent), so each step is a vector–Jacobian product, one einsum of the
cotangent with the local Jacobian's factors, its deltas read off as shared
letters; no term algebra, no formula text. That is backpropagation as
hand-written NumPy does it. The result is one dense factor per argument (shaped
like the argument, as any gradient is); td.grad recomputes the structured terms
only if a formula is asked for. Inside another trace (a Hessian, or td.jit
recording) the structured path runs, because its steps must be recorded as
NumPy calls on traced values.

A small Jacobian whose caller reads its numbers first (``td.jacobian``) takes the
same shortcut in "auto", batched: one cotangent per output entry, the rows of the
identity, pulled back together along a leading axis, so the result is the dense
Jacobian itself (as ``jax.jacrev`` with ``vmap`` builds it). On a few dozen output
entries the term algebra of the structured path costs far more than this
arithmetic; the structure is worked out when something other than the numbers is
read (see :attr:`tensordiff.tensor.Jacobian.terms`).

A network is planned whole up to :data:`NETWORK_FACTORS` factors per term; a
deeper function's term is multiplied out each time it grows past that (as
reverse order would have done there) and linking goes on from the product. So
each step costs at most that many factors, the chain rule's time grows linearly
with depth, and the dynamic program never sees more operands than it plans fast.
"""

import functools
import math

import numpy as np

from tensordiff.core import context, dense, paths
from tensordiff.core.sums import add_terms
from tensordiff.core.term import Term, axis_classes, contract_terms, fresh_class
from tensordiff.core.vjp import PRODUCTS
from tensordiff.trace.graph import Node, toposort

__all__ = [
    "MODES",
    "accumulate",
    "identity",
    "by_vector_jacobian_products",
    "gradient_writer",
]

MODES = ("auto", "optimal", "reverse", "forward")
NETWORK_FACTORS = 16
# The batched shortcut's bounds: output entries (cotangents in the batch), entries of the
# dense Jacobian per argument (the memory its arithmetic takes, whatever the structure),
# and entries of the batch of cotangents of the widest value of the graph.
BATCHED_OUTPUTS = 64
SMALL_JACOBIAN = 2**14
BATCHED_ENTRIES = 2**20
# How many factors a term may keep unmultiplied, per mode.
_LAZINESS = {"reverse": 1, "forward": 1, "optimal": NETWORK_FACTORS, "auto": NETWORK_FACTORS}


def accumulate(
    output: Node | None,
    output_shape,
    leaves: list[Node],
    mode: str,
    observer=None,
    numbers: bool = False,
    order: list[Node] | None = None,
) -> dict:
    """∂output/∂leaf for each leaf, as a sum of terms with the output's axes first.

    ``observer(node, parent, derivative, local, contribution)``, if given, sees each
    reverse-order step: the derivative reaching ``node``, ∂node/∂parent, and their
    contraction (all tuples of terms). ``numbers``: the caller found the Jacobians small
    enough to compute as numbers (:func:`by_vector_jacobian_products` with their shapes).
    ``order``: ``toposort(output)``, if the caller has it already.
    """
    found: dict[Node, tuple[Term, ...]] = {leaf: () for leaf in leaves}
    if output is None:
        return found  # a constant output: zero Jacobians
    if order is None:
        order = toposort(output)
    if numbers or by_vector_jacobian_products(mode, output_shape, observer):
        return _backpropagate(order, output_shape, found)
    if mode != "forward":
        return _reverse(order, output_shape, found, observer, _LAZINESS[mode])
    for leaf in leaves:
        found[leaf] = _forward(order, leaf, _LAZINESS[mode])
    return found


def by_vector_jacobian_products(
    mode: str, output_shape, observer=None, leaf_shapes=None, order: list[Node] = ()
) -> bool:
    """Whether :func:`accumulate` computes numbers by vector–Jacobian products (see the
    module docstring): nobody observing the steps, no outer trace, and a scalar output in
    reverse or auto order, or, given the ``leaf_shapes`` of a caller that reads numbers
    first and the ``order`` of the output's graph (``toposort(output)``, empty for a
    constant; its widest value bounds the batch), a small Jacobian in auto order."""
    if observer is not None or context.current().traces:
        return False
    outputs = math.prod(output_shape)
    if outputs == 1:
        return mode in ("reverse", "auto")
    return (
        mode == "auto"
        and leaf_shapes is not None
        and 1 < outputs <= BATCHED_OUTPUTS  # (no output entries: nothing to batch)
        and all(outputs * math.prod(shape) <= SMALL_JACOBIAN for shape in leaf_shapes)
        and outputs * _widest_value(order) <= BATCHED_ENTRIES
    )


def _widest_value(order: list[Node]) -> int:
    """The most entries of a value of the graph ``order`` (0 for none: a constant)."""
    return max((math.prod(node.shape) for node in order), default=0)


def _backpropagate(order: list[Node], output_shape, found: dict) -> dict:
    """Reverse accumulation by vector–Jacobian products: of a scalar output, or of a
    batch of cotangents (the rows of the identity) for a small Jacobian."""
    wanted = _depends_on(order, found)
    token = context.set_fields(named=False)  # the local Jacobians' factor names go unread
    try:
        _pull_back(order, wanted, output_shape, found, batched=math.prod(output_shape) != 1)
    finally:
        context.reset(token)
    return found


# Derivatives that are infinite or NaN (log at 0) are numbers to pass on here, not
# warnings, for every step at once.
@np.errstate(divide="ignore", invalid="ignore")
def _pull_back(order: list[Node], wanted: set, output_shape, found: dict, batched: bool) -> None:
    """The cotangent of each node of ``order`` pulled back to its parents in ``wanted``; a
    leaf's in ``found`` is its gradient. ``batched``: one cotangent per output entry, along
    a leading axis, so a leaf's is its dense Jacobian (the output's axes first)."""
    if batched:
        rows = math.prod(output_shape)
        seed = _identity_rows(rows).reshape((rows, *output_shape))
    else:
        seed = np.ones(order[0].shape)
    cotangents: dict[Node, np.ndarray] = {order[0]: seed}
    for node in order:
        cotangent = cotangents.pop(node, None)
        if cotangent is None:
            continue
        if node in found:
            if batched:
                found[node] = (_numbers_term(cotangent.reshape(output_shape + node.shape)),)
            else:
                found[node] = (_gradient_term(cotangent, output_shape),)
        for parent, local_jacobian in node.parents:
            if parent not in wanted:
                continue
            local = local_jacobian()
            if type(local) not in PRODUCTS:
                products = (
                    _vector_jacobian_product(cotangent, term, parent.shape, batched)
                    for term in _terms_of(local)
                )
            elif batched:
                products = (local.vector_products(cotangent),)
            else:
                products = (local.vector_product(cotangent),)
            for product in products:
                previous = cotangents.get(parent)
                cotangents[parent] = product if previous is None else previous + product


@functools.lru_cache(maxsize=BATCHED_OUTPUTS)
def _identity_rows(rows: int) -> np.ndarray:
    """``np.eye(rows)``, made once per size and read-only: the seed of every batched call
    with that many output entries (pull-backs make new arrays, never write into it)."""
    identity_matrix = np.eye(rows)
    identity_matrix.flags.writeable = False
    return identity_matrix


def _numbers_term(array: np.ndarray) -> Term:
    """``array`` as a term of one unnamed factor (what :func:`gradient_writer` reads; its
    formula is the structure's, worked out when read)."""
    axes, sizes = axis_classes(array.shape)
    classes = tuple(c for axis in axes for c in axis)
    return Term(((array.reshape([sizes[c] for c in classes]), classes),), axes, sizes)


def _vector_jacobian_product(
    cotangent: np.ndarray, local: Term, parent_shape, batched: bool = False
) -> np.ndarray:
    """``Σ cotangent[node axes] local[node axes, parent axes]``, shaped like the parent
    (after the cotangent's leading batch axis if ``batched``).

    The cotangent is split along the local Jacobian's composite axes, so its classes
    are the term's own: a delta between a node axis and a parent axis is a shared
    letter, and a delta between parent axes is written as a diagonal.
    """
    n_node = len(local.axes) - len(parent_shape)
    batch = (fresh_class(),) if batched else ()
    node_classes = batch + tuple(c for axis in local.axes[:n_node] for c in axis)
    parent_axes = ((batch,) if batched else ()) + local.axes[n_node:]
    parent_classes = [c for axis in parent_axes for c in axis]
    sizes = {**local.sizes, batch[0]: cotangent.shape[0]} if batched else local.sizes
    cotangent = cotangent.reshape([sizes[c] for c in node_classes])
    operands = [(cotangent, node_classes), *local.factors]
    present = {c for _, classes in operands for c in classes}
    keep = tuple(dict.fromkeys(c for c in parent_classes if c in present))
    if all(classes == keep for _, classes in operands):  # elementwise: no einsum needed
        paths.count([c for _, c in operands], keep, [np.shape(a) for a, _ in operands])
        product = operands[0][0]
        for factor, _ in operands[1:]:
            product = product * factor
    else:
        product = paths.einsum_classes(operands, keep)
    shape = cotangent.shape[:1] + tuple(parent_shape) if batched else tuple(parent_shape)
    if len(keep) == len(parent_classes):  # no delta, no broadcast among the parent's axes
        return product.reshape(shape)
    term = Term(((product, keep),), parent_axes, {c: sizes[c] for c in parent_classes})
    return dense.write_dense([term], shape, product.dtype)


def _gradient_term(gradient: np.ndarray, output_shape) -> Term:
    """The gradient as a term over the output's (size-1) axes and the argument's."""
    term = Term.dense(gradient, "∇")
    if not output_shape:
        return term
    return Term(term.factors, ((),) * len(output_shape) + term.axes, term.sizes, term.names)


def gradient_writer(shape, dtype, terms, out=None) -> np.ndarray:
    """The dense array of a gradient computed as numbers (a Tensor's writer, see
    :attr:`tensordiff.tensor.Tensor._writer`): its one term is one factor over the
    argument's axes, in order (:func:`_gradient_term`), so the array is that factor
    reshaped, copied (the user may write into it) or written into ``out``; no term (a
    constant output) is zeros."""
    if not terms:
        array = np.zeros(shape, dtype)
    else:
        ((array, _),) = terms[0].factors
        array = array.reshape(shape)
    if out is None:
        return np.array(array, dtype=dtype)
    out[...] = array
    return out


def _depends_on(order: list[Node], leaves) -> set[Node]:
    """Nodes of ``order`` (consumers first) that depend on any of ``leaves``."""
    wanted = set(leaves)
    for node in reversed(order):
        for parent, _ in node.parents:  # (a loop, not any() of a generator: every call)
            if parent in wanted:
                wanted.add(node)
                break
    return wanted


def _labels(role: str, shape) -> list:
    return [(role, k) for k in range(len(shape))]


def _reverse(order: list[Node], output_shape, found: dict, observer, max_factors) -> dict:
    wanted = _depends_on(order, found)
    out_labels = _labels("out", output_shape)
    pending: dict[Node, tuple[Term, ...]] = {order[0]: (identity(output_shape),)}
    for node in order:
        terms = pending.pop(node, ())
        if node in found:
            found[node] = terms
        if not terms:
            continue
        node_labels = _labels("node", node.shape)
        for parent, local_jacobian in node.parents:
            if parent not in wanted:
                continue
            parent_labels = _labels("parent", parent.shape)
            locals_ = _terms_of(local_jacobian())
            contributions = tuple(
                contract_terms(
                    [(term, out_labels + node_labels), (local, node_labels + parent_labels)],
                    out_labels + parent_labels,
                    max_factors,
                )
                for local in locals_
                for term in terms
            )
            if observer is not None:
                observer(node, parent, terms, locals_, contributions)
            pending[parent] = add_terms(pending.get(parent, ()) + contributions)
    return found


def _forward(order: list[Node], leaf: Node, max_factors) -> tuple[Term, ...]:
    wanted = _depends_on(order, [leaf])
    leaf_labels = _labels("leaf", leaf.shape)
    derivative: dict[Node, tuple[Term, ...]] = {leaf: (identity(leaf.shape),)}
    for node in reversed(order):  # inputs first
        if node is leaf or node not in wanted:
            continue
        node_labels = _labels("node", node.shape)
        terms: tuple[Term, ...] = ()
        for parent, local_jacobian in node.parents:
            if parent not in wanted:
                continue
            parent_labels = _labels("parent", parent.shape)
            terms += tuple(
                contract_terms(
                    [(local, node_labels + parent_labels), (term, parent_labels + leaf_labels)],
                    node_labels + leaf_labels,
                    max_factors,
                )
                for local in _terms_of(local_jacobian())
                for term in derivative[parent]
            )
        derivative[node] = add_terms(terms)
    return derivative.get(order[0], ())


def _terms_of(local: Term | tuple[Term, ...]) -> tuple[Term, ...]:
    """A rule's local Jacobian is one term or a sum of terms."""
    return (local,) if isinstance(local, Term) else local


def identity(shape: tuple[int, ...]) -> Term:
    """δ between two copies of ``shape``'s axes: the derivative of a value by itself."""
    axes, sizes = axis_classes(shape)
    return Term((), axes + axes, sizes)
