"""One differentiated call: trace ``f``, run the chain rule, label the Jacobians.

The steps every derivative takes, composed here once: :func:`trace_call` runs
``f`` on traced arguments and records the graph; the chain rule
(:mod:`tensordiff.chain_rule`) contracts its local Jacobians in the chosen
order; :func:`differentiate` puts labels on the results. ``td.jacobian``,
``td.plan`` and ``td.explain`` are thin layers over these steps.
"""

import functools
import linecache
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import tensordiff.ops  # noqa: F401  (fills the registry of rules the traces consult)
from tensordiff.chain_rule import accumulate, by_vector_jacobian_products
from tensordiff.core.dtypes import as_real_array
from tensordiff.core.labels import labels_for
from tensordiff.core.options import integer
from tensordiff.errors import ShapeError, TensorDiffError, TraceLeakError
from tensordiff.tensor import Jacobian, Tensor
from tensordiff.trace.densify import dense_value
from tensordiff.trace.graph import Node
from tensordiff.trace.traced import Trace, Traced, next_level, running
from tensordiff.trace.variables import parameter_names, visible_arrays

__all__ = ["TracedCall", "trace_call", "differentiate", "function_name", "NotScalar"]

LabelSpec = str | Sequence[str] | None


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
    """Call ``f`` with the arguments at ``positions`` traced, and record the graph.

    A position given twice (``argnums=(0, 0)``, or ``(0, -2)`` of two arguments) is one
    traced argument with one leaf, listed once for each time it was given.
    """
    positions = [integer(position, "argnums") for position in positions]
    for position in positions:
        if not -len(args) <= position < len(args):
            raise ShapeError(
                f"argnums {position} is out of range: {getattr(f, '__name__', 'f')} was"
                f" called with {len(args)} positional arguments"
            )
    args = list(args)
    names = parameter_names(f, len(args))
    trace = Trace(next_level(), visible_arrays(f, args, names))
    leaf_of = {}
    for position in dict.fromkeys(position % len(args) for position in positions):
        value = _argument(args[position], position)
        leaf_of[position] = Node("input", value.shape, expr=names[position])
        args[position] = Traced(value, leaf_of[position], trace)
    with running(trace):
        try:
            result = f(*args, **kwargs)
            output_shape, output_node, output_dtype = _output_of(result, trace)
        except (TypeError, ValueError) as error:
            _raise_library_error(error)
            raise
        finally:
            trace.close()  # a traced value kept beyond this call raises on any use
    leaves = [leaf_of[position % len(args)] for position in positions]
    return TracedCall(output_node, output_shape, output_dtype, leaves, names, args)


def _raise_library_error(error: Exception) -> None:
    """Raise the library's error behind ``error``, if another library's code replaced it.

    NumPy turns the TraceLeakError of ``buf[i] = t`` into "setting an array element with
    a sequence"; JAX refuses a traced value as "not a valid JAX type". Each becomes the
    library's error naming the user's line and what to write instead.
    """
    if isinstance(error, TensorDiffError):
        return
    cause = error.__cause__ or error.__context__
    while cause is not None and not isinstance(cause, TensorDiffError):
        cause = cause.__cause__ or cause.__context__
    if cause is not None:
        raise cause from None
    library = _raising_library(error.__traceback__)
    if library and library not in ("numpy", "tensordiff") and "Traced" in str(error):
        line = _user_line(error.__traceback__)
        function = re.search(r"\b(?:jnp|jax\.numpy|torch)\.(\w+)\(", line)
        instead = f" (numpy.{function.group(1)})" if function else ""
        raise TraceLeakError(
            f"a {library} function received a traced value at `{line}`; tensordiff traces"
            f" NumPy code only. Use the NumPy function{instead} inside the differentiated"
            f" function ({type(error).__name__}: {error})"
        ) from None


def _raising_library(tb) -> str:
    """The top-level package of the frame that raised (the innermost of ``tb``)."""
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return "" if tb is None else tb.tb_frame.f_globals.get("__name__", "").partition(".")[0]


def _user_line(tb) -> str:
    """The source text of the innermost frame of ``tb`` outside any installed package."""
    line = ""
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if not module.startswith(("tensordiff", "numpy", "jax", "torch", "scipy")):
            code = tb.tb_frame.f_code
            line = linecache.getline(code.co_filename, tb.tb_lineno).strip() or line
        tb = tb.tb_next
    return line or "f"


def differentiate(
    f: Callable,
    positions: Sequence[int],
    args: Sequence,
    kwargs: dict,
    out: LabelSpec,
    wrt: Sequence[LabelSpec],
    mode: str,
    observer=None,
) -> tuple[TracedCall, list[Jacobian]]:
    """The traced call of ``f`` and ∂f/∂args[n] for each ``n`` in ``positions``, labelled
    ``out`` and ``wrt[k]`` (defaults: distinct letters). ``out=()`` demands a scalar
    output (NotScalar otherwise). ``observer`` sees each step of the chain rule (see
    :func:`tensordiff.chain_rule.accumulate`)."""
    call = trace_call(f, positions, args, kwargs)
    if out == () and call.output_shape:
        raise NotScalar(call.output_shape)
    out_labels = labels_for(out, len(call.output_shape), "the output")
    in_labels = []
    for leaf, position, spec in zip(call.leaves, positions, wrt, strict=True):
        labels = labels_for(spec, len(leaf.shape), f"argument {position}", avoid=out_labels)
        clash = set(labels) & set(out_labels)
        if clash:
            raise ShapeError(
                f"labels {sorted(clash)} are used for both the output {out_labels} and"
                f" argument {position} {labels}; choose distinct labels"
            )
        in_labels.append(labels)
    leaves = list(dict.fromkeys(call.leaves))  # a repeated argnums is differentiated once
    numbers_only = by_vector_jacobian_products(mode, call.output_shape, observer)
    terms_by_leaf = accumulate(call.output, call.output_shape, leaves, mode, observer)
    jacobians = []
    for n, (leaf, position, labels) in enumerate(
        zip(call.leaves, positions, in_labels, strict=True)
    ):
        dtype = np.result_type(call.dtype, call.args[position].dtype)
        tensor = Tensor._from_terms(
            terms_by_leaf[leaf], out_labels + labels, call.output_shape + leaf.shape, dtype
        )
        jacobian = Jacobian._from_tensor(
            tensor, len(out_labels), function_name(f), call.names[position]
        )
        if numbers_only:  # the structure, for formulas, is recomputed if asked for
            jacobian._structure = functools.partial(
                _structured_terms, f, positions, args, kwargs, out, wrt, n
            )
        jacobians.append(jacobian)
    return call, jacobians


def _structured_terms(f, positions, args, kwargs, out, wrt, n) -> tuple:
    """The structured terms of the n-th Jacobian of a call whose chain rule computed numbers."""
    return differentiate(f, positions, args, kwargs, out, wrt, "optimal")[1][n].terms


def function_name(f) -> str:
    name = getattr(f, "__name__", "")
    return name if name.isidentifier() else "f"


class NotScalar(ShapeError):
    """f returned an array where a scalar was asked for (td.grad)."""

    def __init__(self, shape):
        super().__init__(f"the output has shape {shape}, not ()")
        self.shape = shape


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
    if type(result) is Traced and result._trace is trace:
        return result.shape, result.node, result.dtype
    if type(result) is Traced:
        if result._trace.level > trace.level:
            raise ShapeError("f returned a traced value from a derivative call inside it")
        return result.shape, None, result.dtype  # a value of an enclosing trace: constant here
    if isinstance(result, (tuple, list, dict)):
        raise ShapeError(
            f"f returned a {type(result).__name__}; td.jacobian needs a single array output."
            " Differentiate each output separately, or stack constants outside f"
        )
    constant = as_real_array(result, "the output of f")
    return constant.shape, None, constant.dtype
