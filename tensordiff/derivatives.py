"""``td.jacobian``, ``td.grad`` and ``td.chain``: derivatives as labelled tensors.

``f`` is traced on :class:`~tensordiff.trace.traced.Traced` arguments; the
recorded graph's local Jacobians are then contracted by
:mod:`tensordiff.chain_rule` in forward or reverse order.
"""

import functools
from collections.abc import Callable, Sequence

import numpy as np

from tensordiff import per_sample
from tensordiff.chain_rule import MODES
from tensordiff.core import trees
from tensordiff.core.labels import default_labels
from tensordiff.core.options import integer, is_integer
from tensordiff.differentiate import LabelSpec, NotScalar, differentiate, function_name
from tensordiff.errors import OptionError, ShapeError
from tensordiff.plan import plan
from tensordiff.tensor import Jacobian, Tensor, contract

__all__ = ["jacobian", "grad", "value_and_jacobian", "value_and_grad", "chain"]


def jacobian(
    f: Callable,
    argnums: int | Sequence[int] = 0,
    out: LabelSpec = None,
    wrt: LabelSpec | Sequence[LabelSpec] = None,
    mode: str = "auto",
    has_aux: bool = False,
    batch=None,
    batch_out=0,
) -> Callable:
    """The function computing the full Jacobian of ``f`` as a labelled tensor.

    The result has the output's axes first, then the argument's (the JAX
    convention), labelled ``out`` and ``wrt`` (defaults: ``i, j, k, ...``).
    With a tuple ``argnums`` it returns a tuple of Jacobians, and ``wrt`` may be
    a tuple of label specs, one per argument.

    Arguments and the output may be nested dicts, lists and tuples of arrays
    (pytrees, as in JAX): the result nests as ``jax.jacobian``'s, the output's
    structure outside, then the tuple over ``argnums``, then the argument's
    structure; each leaf's Jacobian gets labels of its own. With ``has_aux=True``,
    ``f`` returns ``(output, aux)`` and the call returns ``(jacobian, aux)``: ``aux``
    is not differentiated, and its traced values come back as plain arrays.

    ``batch=`` gives per-sample Jacobians, as ``jax.vmap(jax.jacobian(f_one), in_axes,
    out_axes)``, where ``f`` is written for the whole batch (``f = vmap(f_one)``).
    ``batch`` is ``in_axes``: an int is the sample axis of every differentiated argument
    (the others are passed whole); a tuple has one entry per positional argument, an
    axis or None (an argument shared by every sample, e.g. the parameters), or a dict /
    list / tuple of them matching that argument's nesting. ``batch_out`` (default 0) is
    ``out_axes``: the sample axis of ``f``'s output (a tree of them for a nested output).
    Each result keeps the output's axes, sample axis included, followed by the
    argument's axes without its sample axis: ``(B, *out_one, *in_one)`` for the defaults.
    For a batched argument it is the diagonal (:meth:`Tensor.diagonal`) of the full
    Jacobian, free because the two sample axes are joined by a Kronecker delta; if they
    are not (``f`` mixes samples, e.g. normalises over the batch), ``ShapeError`` says so.
    For a shared argument it is the full Jacobian itself. (Where this differs from
    ``jax.vmap``: an int ``batch`` leaves undifferentiated arguments whole, where
    ``in_axes=0`` would batch them too; keyword arguments are passed whole, where vmap
    batches them on axis 0; a negative ``batch_out`` counts from the end of ``f``'s
    output, where JAX counts from the end of the Jacobian.)

    ``mode`` is the order of the chain-rule contractions: ``"reverse"``
    (from the output, as backpropagation), ``"forward"`` (from the argument),
    ``"optimal"`` (the whole network of local Jacobians contracted in the order
    opt_einsum's dynamic program finds cheapest), or ``"auto"`` (the default:
    "optimal", which is never worse than the other two in FLOPs; for a scalar
    output, reverse order by vector–Jacobian products, backpropagation with no
    symbolic work, the formula worked out only when asked for; for a small
    Jacobian — at most 64 output entries and 2^14 entries per argument — the
    same, one cotangent per output entry in one batch, its structure (formula,
    sparsity, blocks) worked out when first read). Every order is
    planned under the memory limit (:func:`tensordiff.set_memory_limit`): the
    cheapest order whose intermediates fit is taken, and JacobianTooLarge is
    raised before the arithmetic if none does. All give the same tensor;
    :func:`tensordiff.plan` compares their cost. For repeated calls, wrap the
    result in :func:`tensordiff.jit`.

    >>> J = jacobian(lambda W, x: W @ x)(np.ones((2, 3)), np.arange(3.0))
    >>> J.out_indices, J.in_indices, J.shape
    (('i',), ('j', 'k'), (2, 2, 3))
    >>> np.asarray(J)[1, 1]
    array([0., 1., 2.])
    >>> X = np.arange(6.0).reshape(3, 2)
    >>> jacobian(lambda X: np.tanh(X @ np.ones((2, 4))), batch=0)(X).shape
    (3, 4, 2)
    >>> layer = lambda X, params: np.tanh(X @ params["W"] + params["b"])
    >>> params = {"W": np.ones((2, 4)), "b": np.zeros(4)}
    >>> dX, dparams = jacobian(layer, argnums=(0, 1), batch=(0, None))(X, params)
    >>> dX.shape, dparams["W"].shape, dparams["b"].shape     # sample, output, argument
    ((3, 4, 2), (3, 4, 2, 4), (3, 4, 4))
    >>> jacobian(lambda Xt: Xt ** 2, batch=1, batch_out=1)(X.T).shape   # samples in columns
    (2, 3, 2)
    >>> Js = jacobian(lambda p: {"y": p["a"] * p["b"]})({"a": np.ones(2), "b": np.ones(2)})
    >>> sorted(Js["y"]), Js["y"]["b"].indices
    (['a', 'b'], ('i', 'k'))
    """
    differentiated = _differentiator(
        f, argnums, out, wrt, mode, has_aux, batch, batch_out, numbers_read=True
    )

    @functools.wraps(f)
    def jacobian_of_f(*args, **kwargs):
        _, derivative, aux = differentiated(args, kwargs)
        return (derivative, aux) if has_aux else derivative

    return jacobian_of_f


def structured_jacobian(f: Callable, argnums: int, mode: str, has_aux: bool) -> Callable:
    """:func:`jacobian` whose result holds its structured terms from the start, for a
    caller that reads them (td.hessian): a small Jacobian computed as numbers first would
    work its structure out in a second traced call."""
    differentiated = _differentiator(f, argnums, None, None, mode, has_aux)

    @functools.wraps(f)
    def jacobian_of_f(*args, **kwargs):
        _, derivative, aux = differentiated(args, kwargs)
        return (derivative, aux) if has_aux else derivative

    return jacobian_of_f


def value_and_jacobian(
    f: Callable,
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    out: LabelSpec = None,
    wrt: LabelSpec | Sequence[LabelSpec] = None,
    mode: str = "auto",
    batch=None,
    batch_out=0,
) -> Callable:
    """Like :func:`jacobian`, returning ``(value, J)``: ``f``'s output from the same traced
    call (``f`` runs once), as plain arrays. With ``has_aux``: ``((value, aux), J)``.

    >>> value, J = value_and_jacobian(np.tanh)(np.zeros(2))
    >>> value, np.asarray(J)
    (array([0., 0.]), array([[1., 0.],
           [0., 1.]]))
    """
    differentiated = _differentiator(
        f, argnums, out, wrt, mode, has_aux, batch, batch_out, numbers_read=True
    )

    @functools.wraps(f)
    def value_and_jacobian_of_f(*args, **kwargs):
        value, derivative, aux = differentiated(args, kwargs)
        return ((value, aux) if has_aux else value), derivative

    return value_and_jacobian_of_f


def grad(
    f: Callable,
    argnums: int | Sequence[int] = 0,
    wrt=None,
    mode: str = "auto",
    has_aux: bool = False,
    batch=None,
) -> Callable:
    """The gradient of a scalar ``f``: a labelled tensor shaped like the argument (a tree
    of them, shaped like a nested argument). With ``has_aux=True``, ``f`` returns
    ``(loss, aux)`` and the call returns ``(gradient, aux)``.

    Per-sample gradients, as ``jax.vmap(jax.grad(loss_one), in_axes)``: ``f`` returns
    one loss per sample (shape ``(B,)``) and ``batch`` gives the arguments' sample axes
    as in :func:`jacobian`; each gradient has shape ``(B, *argument_one.shape)``.

    >>> g = grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
    >>> g.indices, np.asarray(g)
    (('i',), array([2., 4.]))
    >>> losses = lambda W, X: np.sum((X @ W) ** 2, axis=1)      # one loss per row of X
    >>> grad(losses, batch=(None, 0))(np.ones((3, 2)), np.ones((5, 3))).shape
    (5, 3, 2)
    """
    differentiated = _scalar(f, _differentiator(f, argnums, (), wrt, mode, has_aux, batch))

    @functools.wraps(f)
    def grad_of_f(*args, **kwargs):
        _, derivative, aux = differentiated(args, kwargs)
        return (derivative, aux) if has_aux else derivative

    return grad_of_f


def value_and_grad(
    f: Callable,
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    wrt=None,
    mode: str = "auto",
    batch=None,
) -> Callable:
    """``(f(x), ∇f(x))`` from one traced call of ``f``, as ``jax.value_and_grad``; with
    ``has_aux``: ``((loss, aux), gradient)``. ``batch``: per-sample gradients, as in
    :func:`grad` (the value is then the vector of losses).

    >>> loss, g = value_and_grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
    >>> float(loss), np.asarray(g)
    (5.0, array([2., 4.]))
    """
    differentiated = _scalar(f, _differentiator(f, argnums, (), wrt, mode, has_aux, batch))

    @functools.wraps(f)
    def value_and_grad_of_f(*args, **kwargs):
        value, derivative, aux = differentiated(args, kwargs)
        return ((value, aux) if has_aux else value), derivative

    return value_and_grad_of_f


def _differentiator(
    f, argnums, out, wrt, mode, has_aux, batch=None, batch_out=0, numbers_read=False
) -> Callable:
    """``(args, kwargs) -> (value, derivative, aux)``: the body every derivative function
    above shares, its options checked once. ``out=()`` asks for a scalar output (one
    scalar per sample with ``batch``). ``numbers_read``: the caller gets the Jacobians
    to read as it likes, so a small one may be computed as numbers first (see
    :func:`~tensordiff.differentiate.differentiate`); not per sample, whose diagonal
    is read off the structure."""
    if mode not in MODES:
        raise OptionError(f"mode must be one of {MODES}, got {mode!r}")
    single = not isinstance(argnums, (Sequence, np.ndarray))
    positions = (integer(argnums, "argnums"),) if single else tuple(argnums)
    if single:
        wrt_specs = (wrt,)
    elif wrt is None:
        wrt_specs = (None,) * len(positions)
    elif isinstance(wrt, str) or len(wrt) != len(positions):
        raise ShapeError(
            f"with argnums={positions}, wrt must be a tuple of {len(positions)} label specs"
            f" (one per argument), got {wrt!r}"
        )
    else:
        wrt_specs = tuple(wrt)
    if batch is not None and not (is_integer(batch) or isinstance(batch, tuple)):
        raise OptionError(
            f"batch= takes an int or a tuple with one entry per positional argument (as"
            f" jax.vmap's in_axes), got {batch!r}"
        )
    per_sample.check_spec(batch, "batch=")
    per_sample.check_spec(batch_out, "batch_out=")
    losses = out == () and batch is not None  # td.grad of one loss per sample
    traced_out = None if losses else out
    numbers_read = numbers_read and batch is None
    # the argument shapes of the last call whose Jacobians were computed as numbers: the
    # next call with the same shapes is traced for numbers at once (the structure of f
    # rarely changes between calls; if it does, f is traced again)
    numbers_before = [None]

    def differentiated(args, kwargs):
        shapes = _array_shapes(args, positions) if numbers_read else None
        call, table = differentiate(
            f,
            positions,
            args,
            kwargs,
            traced_out,
            wrt_specs,
            mode,
            pytrees=True,
            has_aux=has_aux,
            numbers_read=numbers_read,
            trace_numbers=shapes is not None and shapes == numbers_before[0],
        )
        if shapes is not None:
            numbers_before[0] = shapes if call.by_numbers else None
        if losses and not (
            trees.is_leaf_node(call.output_skeleton) and len(call.output_shape) == 1
        ):
            raise ShapeError(
                f"td.grad with batch= needs {function_name(f)} to return one loss per sample"
                f" (shape (B,)), but it returned {_returned(call)}; use td.jacobian(...,"
                " batch=...) for other outputs"
            )
        if batch is None:
            _attach_cost_reports(f, call, table, args, kwargs, has_aux)
        if batch is not None:
            table = per_sample.per_sample_table(call, table, batch, batch_out, args)
        rows = [row[0] if single else tuple(row) for row in table]
        return call.value, trees.unflatten(call.output_skeleton, rows), call.aux

    return differentiated


def _array_shapes(args, positions) -> tuple | None:
    """The shapes of the arguments at ``positions`` if each is a NumPy array, else None
    (also for positions not yet checked: trace_call refuses them)."""
    if not all(
        type(p) is int and -len(args) <= p < len(args) and type(args[p]) is np.ndarray
        for p in positions
    ):
        return None
    return tuple(args[p].shape for p in positions)


def _returned(call) -> str:
    if trees.is_leaf_node(call.output_skeleton):
        return f"shape {call.output_shape}"
    return f"a {type(call.value).__name__}"


def _scalar(f, differentiated) -> Callable:
    """``differentiated``, with td.grad's error for an output that is not a scalar."""

    def of_scalar(args, kwargs):
        try:
            return differentiated(args, kwargs)
        except NotScalar as error:
            raise ShapeError(
                f"td.grad needs {getattr(f, '__name__', 'f')} to return a scalar, but it returned"
                f" {error.returned}; use td.jacobian for array outputs, or reduce the output"
                " (e.g. np.sum) first"
            ) from None

    return of_scalar


def chain(outer: Jacobian, inner: Jacobian) -> Jacobian:
    """∂A/∂C from ∂A/∂B and ∂B/∂C: contract over B's labels.

    ``inner``'s output axes are matched to ``outer``'s input axes by position and
    shape; its input labels are renamed if they clash with ``outer``'s.

    >>> dA = jacobian(lambda b: 2.0 * b)(np.ones(2))
    >>> dB = jacobian(lambda c: np.tanh(c))(np.zeros(2))
    >>> np.asarray(chain(dA, dB))
    array([[2., 0.],
           [0., 2.]])
    """
    for name, j in (("first", outer), ("second", inner)):
        if not isinstance(j, Jacobian):
            raise ShapeError(
                f"td.chain takes two Jacobians (from td.jacobian), but the {name} argument is a"
                f" {type(j).__name__}"
            )
    b_shape = outer.shape[len(outer.out_indices) :]
    inner_out_shape = inner.shape[: len(inner.out_indices)]
    if b_shape != inner_out_shape:
        raise ShapeError(
            f"td.chain: the first Jacobian is with respect to shape {b_shape}"
            f" (labels {outer.in_indices}) but the second is of shape {inner_out_shape}"
            f" (labels {inner.out_indices}); they must be the same intermediate"
        )
    taken = set(outer.indices)
    in_labels = tuple(label if label not in taken else None for label in inner.in_indices)
    fresh = iter(default_labels(in_labels.count(None), avoid=taken | set(inner.in_indices)))
    in_labels = tuple(label if label is not None else next(fresh) for label in in_labels)
    renamed = inner.relabel(outer.in_indices + in_labels)
    result = contract(outer, renamed, out=outer.out_indices + in_labels)
    return Jacobian._from_tensor(result, len(outer.out_indices), outer.numerator, inner.denominator)


def _attach_cost_reports(f, call, table, args, kwargs, has_aux) -> None:
    """Give each Jacobian in ``table`` its ``J.plan()``: the cost report of this very call,
    made when asked for. A leaf of a nested output or argument (or an output with aux)
    is reported as ``f`` seen as a function of that one array to that one array."""
    simple = not has_aux and trees.is_leaf_node(call.output_skeleton)
    for o, row in enumerate(table):
        for position, jacobians in zip(call.positions, row, strict=True):
            if isinstance(jacobians, Jacobian):  # an array argument (no tree to walk)
                found = [jacobians]
                whole = True
            else:
                found = list(trees.leaves(jacobians, is_leaf=_is_tensor))
                whole = trees.is_leaf_node(call.input_skeletons[position])
            for leaf, derivative in enumerate(found):
                if not isinstance(derivative, Jacobian):
                    continue
                if simple and whole:
                    source = functools.partial(_cost_report, f, position, args, kwargs)
                else:
                    where = (o, position, leaf)
                    source = functools.partial(_leaf_cost_report, f, where, args, kwargs, has_aux)
                derivative._source = source


def _is_tensor(node) -> bool:
    return isinstance(node, Tensor)


def _cost_report(f, position: int, args, kwargs):
    return plan(f, position)(*args, **kwargs)


def _leaf_cost_report(f, where, args, kwargs, has_aux):
    """td.plan of output leaf ``o`` of ``f`` with respect to leaf ``leaf`` of its argument
    ``position`` (``where``), the other leaves and arguments held at their values."""
    o, position, leaf = where
    values, skeleton = trees.flatten(args[position], is_leaf=_is_tensor)

    def one_leaf_to_one_leaf(array):
        changed = list(args)
        changed[position] = trees.unflatten(skeleton, values[:leaf] + [array] + values[leaf + 1 :])
        result = f(*changed, **kwargs)
        output = result[0] if has_aux else result
        return list(trees.leaves(output, is_leaf=_is_tensor))[o]

    one_leaf_to_one_leaf.__name__ = function_name(f)
    return plan(one_leaf_to_one_leaf)(values[leaf])
