"""``td.jacobian``, ``td.grad`` and ``td.chain``: derivatives as labelled tensors.

``f`` is traced on :class:`~tensordiff.trace.traced.Traced` arguments; the
recorded graph's local Jacobians are then contracted by
:mod:`tensordiff.accumulate` in forward or reverse order.
"""

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tensordiff.accumulate import MODES, accumulate
from tensordiff.contraction import contract
from tensordiff.dtypes import as_real_array
from tensordiff.errors import OptionError, ShapeError
from tensordiff.labels import default_labels, parse_labels
from tensordiff.tensor import Jacobian, Tensor
from tensordiff.trace.embed import dense_value
from tensordiff.trace.graph import Node, Trace, next_level, running
from tensordiff.trace.naming import parameter_names, visible_arrays
from tensordiff.trace.traced import Traced

__all__ = ["jacobian", "grad", "chain"]

LabelSpec = str | Sequence[str] | None


def jacobian(
    f: Callable,
    argnums: int | Sequence[int] = 0,
    out: LabelSpec = None,
    wrt: LabelSpec | Sequence[LabelSpec] = None,
    mode: str = "auto",
) -> Callable:
    """The function computing the full Jacobian of ``f`` as a labelled tensor.

    The result has the output's axes first, then the argument's (the JAX
    convention), labelled ``out`` and ``wrt`` (defaults: ``i, j, k, ...``).
    With a tuple ``argnums`` it returns a tuple of Jacobians, and ``wrt`` may be
    a tuple of label specs, one per argument.

    ``mode`` is the order of the chain-rule contractions: ``"reverse"``
    (from the output, as backpropagation), ``"forward"`` (from the argument),
    ``"optimal"`` (the whole network of local Jacobians contracted in the order
    opt_einsum's dynamic program finds cheapest), or ``"auto"`` (the default:
    "optimal", which is never worse than the other two in FLOPs). Every order is
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
    """
    if mode not in MODES:
        raise OptionError(f"mode must be one of {MODES}, got {mode!r}")
    single = isinstance(argnums, (int, np.integer))
    positions = (int(argnums),) if single else tuple(argnums)
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

    @functools.wraps(f)
    def jacobian_of_f(*args, **kwargs):
        call_args = args
        call = trace_call(f, positions, args, kwargs)
        output_shape, output_node, output_dtype = call.output_shape, call.output, call.dtype
        leaves, names, args = call.leaves, call.names, call.args
        if out == () and output_shape:
            raise _NotScalar(output_shape)
        out_labels = _labels(out, len(output_shape), "the output", ())
        terms_by_leaf = accumulate(output_node, output_shape, leaves, mode)
        jacobians = []
        for leaf, position, spec in zip(leaves, positions, wrt_specs, strict=True):
            in_labels = _labels(spec, len(leaf.shape), f"argument {position}", out_labels)
            clash = set(in_labels) & set(out_labels)
            if clash:
                raise ShapeError(
                    f"labels {sorted(clash)} are used for both the output {out_labels} and"
                    f" argument {position} {in_labels}; choose distinct labels"
                )
            dtype = np.result_type(output_dtype, args[position].dtype)
            tensor = Tensor._from_terms(
                terms_by_leaf[leaf], out_labels + in_labels, output_shape + leaf.shape, dtype
            )
            jacobian = Jacobian._from_tensor(
                tensor, len(out_labels), _function_name(f), names[position]
            )
            jacobian._source = functools.partial(_cost_report, f, position, call_args, kwargs)
            jacobians.append(jacobian)
        return jacobians[0] if single else tuple(jacobians)

    return jacobian_of_f


@dataclass
class TracedCall:
    """One traced call of ``f``: its output node and the nodes of the traced arguments."""

    output: Node | None  # None for a constant output
    output_shape: tuple[int, ...]
    dtype: np.dtype
    leaves: list[Node]
    names: list[str]  # the positional parameters' names
    args: list  # the arguments, traced ones replaced by their Traced values


def trace_call(f: Callable, positions: Sequence[int], args, kwargs) -> TracedCall:
    """Call ``f`` with the arguments at ``positions`` traced, and record the graph."""
    for position in positions:
        if not -len(args) <= position < len(args):
            raise ShapeError(
                f"argnums {position} is out of range: {getattr(f, '__name__', 'f')} was"
                f" called with {len(args)} positional arguments"
            )
    args = list(args)
    names = parameter_names(f, len(args))
    trace = Trace(next_level(), visible_arrays(f, args, names))
    leaves = []
    for position in positions:
        value = _argument(args[position], position)
        node = Node("input", value.shape, expr=names[position])
        args[position] = Traced(value, node, trace)
        leaves.append(node)
    with running(trace):
        result = f(*args, **kwargs)
    output_shape, output_node, output_dtype = _output_of(result, trace)
    return TracedCall(output_node, output_shape, output_dtype, leaves, names, args)


def grad(f: Callable, argnums: int | Sequence[int] = 0, wrt=None, mode: str = "auto") -> Callable:
    """The gradient of a scalar ``f``: a labelled tensor shaped like the argument.

    >>> g = grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
    >>> g.indices, np.asarray(g)
    (('i',), array([2., 4.]))
    """
    jacobian_of_f = jacobian(f, argnums=argnums, out=(), wrt=wrt, mode=mode)

    @functools.wraps(f)
    def grad_of_f(*args, **kwargs):
        try:
            return jacobian_of_f(*args, **kwargs)
        except _NotScalar as error:
            raise ShapeError(
                f"td.grad needs {getattr(f, '__name__', 'f')} to return a scalar, but it returned"
                f" shape {error.shape}; use td.jacobian for array outputs, or reduce the output"
                " (e.g. np.sum) first"
            ) from None

    return grad_of_f


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


def _cost_report(f, position: int, args, kwargs):
    from tensordiff.plan import plan  # plan builds on jacobian

    return plan(f, position)(*args, **kwargs)


def _function_name(f) -> str:
    name = getattr(f, "__name__", "")
    return name if name.isidentifier() else "f"


class _NotScalar(ShapeError):
    def __init__(self, shape):
        super().__init__(f"the output has shape {shape}, not ()")
        self.shape = shape


def _labels(spec: LabelSpec, ndim: int, what: str, avoid) -> tuple[str, ...]:
    if spec is None:
        return default_labels(ndim, avoid=avoid)
    return parse_labels(spec, ndim, what)


def _argument(value, position: int):
    """An argument as a float array; a traced value of an enclosing trace is kept."""
    if type(value) is Traced:
        if value.dtype.kind != "f":
            raise ShapeError(f"argument {position} is a traced {value.dtype} value")
        return value
    return as_real_array(value, f"argument {position}")


def _output_of(result, trace: Trace):
    """Shape, node (None for a constant) and dtype of ``f``'s result."""
    if isinstance(result, Tensor):
        result = dense_value(result)  # f returned a derivative: differentiate through it
    if type(result) is Traced and result.trace is trace:
        return result.shape, result.node, result.dtype
    if type(result) is Traced:
        if result.trace.level > trace.level:
            raise ShapeError("f returned a traced value from a derivative call inside it")
        return result.shape, None, result.dtype  # a value of an enclosing trace: constant here
    if isinstance(result, (tuple, list, dict)):
        raise ShapeError(
            f"f returned a {type(result).__name__}; td.jacobian needs a single array output."
            " Differentiate each output separately, or stack constants outside f"
        )
    constant = as_real_array(result, "the output of f")
    return constant.shape, None, constant.dtype
