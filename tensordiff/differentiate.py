"""One differentiated call: trace ``f``, run the chain rule, label the Jacobians.

The steps every derivative takes, composed here once: :func:`trace_call` runs
``f`` on traced arguments and records the graph; the chain rule
(:mod:`tensordiff.chain_rule`) contracts its local Jacobians in the chosen
order; :func:`differentiate` puts labels on the results. ``td.jacobian``,
``td.plan`` and ``td.explain`` are thin layers over these steps.
"""

import copy
import dataclasses
import functools
import inspect
import linecache
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import tensordiff.ops  # noqa: F401  (fills the registry of rules the traces consult)
from tensordiff.chain_rule import accumulate, by_vector_jacobian_products, gradient_writer
from tensordiff.core import context, trees
from tensordiff.core.dtypes import as_real_array, refuse_out_of_core
from tensordiff.core.labels import labels_for
from tensordiff.core.options import integer
from tensordiff.core.term import Term
from tensordiff.errors import (
    OptionError,
    ShapeError,
    TensorDiffError,
    TraceLeakError,
    UnsupportedDTypeError,
)
from tensordiff.ops.scipy_linalg import routing_note
from tensordiff.ops.scipy_special import numpy_instead
from tensordiff.tensor import Jacobian, Tensor
from tensordiff.trace.densify import dense_value
from tensordiff.trace.graph import Node, toposort
from tensordiff.trace.traced import Trace, Traced, TracedConversion, next_level, running
from tensordiff.trace.variables import parameter_names, visible_arrays

__all__ = [
    "TracedCall",
    "TracedOutput",
    "trace_call",
    "differentiate",
    "function_name",
    "NotScalar",
]

LabelSpec = str | Sequence[str] | None


@dataclass
class TracedOutput:
    """One array of ``f``'s output (a leaf of its output tree)."""

    shape: tuple[int, ...]
    node: Node | None  # None for a constant output
    dtype: np.dtype
    name: str  # how formulas write it: ``f``, or ``f.loss`` for a leaf of a dict output


@dataclass
class TracedCall:
    """One traced call of ``f``: its outputs and the traced leaves of its arguments.

    With ``pytrees`` (see :func:`trace_call`) an argument or the output may be a nested
    dict / list / tuple; each array in it is a leaf, and the skeletons rebuild the
    nesting (:func:`tensordiff.core.trees.unflatten`).
    """

    outputs: list[TracedOutput]  # one per leaf of f's output, in tree order
    output_skeleton: object  # f's output with each leaf replaced by a slot
    inputs: dict[int, list[Traced]]  # position -> the traced leaves of that argument
    input_skeletons: dict[int, object]  # position -> the argument with leaves as slots
    positions: list[int]  # the traced positions, as given (in range, repeats kept)
    names: list[str]  # the positional parameters' names
    args: list  # the arguments, traced ones replaced by their Traced values
    value: object  # f's output, traced values replaced by their numbers
    aux: object = None  # with has_aux: the auxiliary data, likewise
    by_numbers: bool = False  # the chain rule computed every Jacobian as numbers

    # A single array in and out (what td.explain and td.plan handle): the old view.
    @property
    def output(self) -> Node | None:
        return self.outputs[0].node

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.outputs[0].shape

    @property
    def dtype(self) -> np.dtype:
        return self.outputs[0].dtype

    @property
    def leaves(self) -> list[Node]:
        return [self.inputs[position][0].node for position in self.positions]


def trace_call(
    f: Callable,
    positions: Sequence[int],
    args,
    kwargs,
    pytrees: bool = False,
    has_aux: bool = False,
    numbers_only: bool = False,
) -> TracedCall:
    """Call ``f`` with the arguments at ``positions`` traced, and record the graph.

    A position given twice (``argnums=(0, 0)``, or ``(0, -2)`` of two arguments) is one
    traced argument with its leaves, listed once for each time it was given. With
    ``pytrees``, arguments and the output may be nested dicts, lists and tuples of arrays
    (as in JAX); without, each must be one array. With ``has_aux``, ``f`` returns
    ``(output, aux)``; ``aux`` is kept, not differentiated. ``numbers_only``: the graph
    is only backpropagated as numbers (see :class:`~tensordiff.trace.traced.Trace`).
    """
    positions = [integer(position, "argnums") for position in positions]
    for position in positions:
        if not -len(args) <= position < len(args):
            raise ShapeError(
                f"argnums {position} is out of range: {getattr(f, '__name__', 'f')} was"
                f" called with {len(args)} positional arguments"
            )
    positions = [position % len(args) for position in positions]
    args = list(args)
    names = parameter_names(f, len(args))
    # the arrays f sees, named when a constant is first looked up (the arguments as given)
    named = functools.partial(visible_arrays, f, list(args), names)
    trace = Trace(next_level(), named, numbers_only)
    inputs, skeletons = {}, {}
    for position in dict.fromkeys(positions):
        found, skeletons[position] = _flatten(args[position], pytrees, f"argument {position}")
        inputs[position] = []
        for path, leaf in found:
            place = _path_text(path)  # "" for an array argument, ".W1" in a dict
            value = _argument(leaf, f"argument {position}{place}")
            node = Node("input", value.shape, expr=names[position] + place)
            inputs[position].append(Traced(value, node, trace))
        # f gets traced values of its own: a write into an argument (x += 1) rebinds the
        # one f holds, and the input kept here stays the variable differentiated by
        given = [Traced(leaf.value, leaf.node, trace) for leaf in inputs[position]]
        args[position] = trees.unflatten(skeletons[position], given)
    with running(trace):
        try:
            result = f(*args, **kwargs)
            if has_aux:
                result, aux = _pair(result, f)
            if result is None:  # a missing return, or a NumPy call that gave up (np.bmat)
                raise ShapeError(
                    f"{function_name(f)} returned None; a derivative needs an array (or a"
                    " nested dict/list/tuple of arrays) as its output"
                )
            found, output_skeleton = _flatten(result, pytrees, "the output of f")
            outputs = [
                TracedOutput(*_output_of(value, trace), function_name(f) + _path_text(path))
                for path, value in found
            ]
        except (TypeError, ValueError, TraceLeakError) as error:
            _raise_library_error(error)
            raise
        finally:
            trace.close()  # a traced value kept beyond this call raises on any use
    return TracedCall(
        outputs,
        output_skeleton,
        inputs,
        skeletons,
        positions,
        names,
        args,
        value=_numbers(result, trace),
        aux=_numbers(aux, trace) if has_aux else None,
    )


def _flatten(tree, pytrees: bool, what: str) -> tuple[list, object]:
    """``([(path, leaf), ...], skeleton)`` of an argument or output; without ``trees`` the
    whole value is one leaf (a container is refused later, as a value)."""
    if not pytrees or type(tree) is np.ndarray or type(tree) is Traced:
        _, skeleton = trees.flatten(tree, is_leaf=lambda _: True)  # one array: one leaf
        return [((), tree)], skeleton
    refuse_out_of_core(tree, what)  # before looking inside: an xarray object is no tree
    found = list(trees.leaves_with_paths(tree, is_leaf=_is_tensor))
    for path, leaf in found:
        if dataclasses.is_dataclass(leaf) and not isinstance(leaf, type):
            raise UnsupportedDTypeError(
                f"{what}{_path_text(path)} is a dataclass ({type(leaf).__name__}); tensordiff"
                " differentiates nested dicts, lists and tuples of arrays. Pass"
                " dataclasses.asdict(value) (and rebuild the dataclass inside f), or a"
                " named tuple"
            )
    _, skeleton = trees.flatten(tree, is_leaf=_is_tensor)
    return found, skeleton


def _is_tensor(value) -> bool:
    return isinstance(value, Tensor)


def _path_text(path: tuple) -> str:
    """A leaf's place in its tree as formulas write it: ``.W1``, ``[0]``, ``.layers[1].b``."""
    if not path:  # an array argument or output (every call has one or two)
        return ""
    return "".join(
        f".{key}" if isinstance(key, str) and key.isidentifier() else f"[{key!r}]" for key in path
    )


def _pair(result, f):
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise ShapeError(
            f"with has_aux=True, {getattr(f, '__name__', 'f')} must return a pair"
            f" (output, aux), but it returned {_describe(result)}"
        )
    return result


def _describe(value) -> str:
    if isinstance(value, (tuple, list, dict)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__} of shape {np.shape(value)}"


def _numbers(tree, trace: Trace):
    """``tree`` with this trace's values replaced by their numbers (new arrays, so a
    returned argument is never the user's own array); other values are kept."""
    # (a module function, not a closure calling itself: that would be a reference cycle
    # holding the trace until the garbage collector runs)
    return trees.tree_map(functools.partial(_number, trace), tree, is_leaf=_is_tensor)


def _number(trace: Trace, value):
    """One leaf of :func:`_numbers`."""
    if type(value) is Traced and value._trace is trace:
        value = value.value
        return value.copy() if isinstance(value, np.ndarray) else value
    if isinstance(value, Tensor):  # a derivative taken inside f: its factors too
        unwrapped = copy.copy(value)
        unwrapped.terms = tuple(
            Term(
                tuple((_number(trace, array), classes) for array, classes in term.factors),
                term.axes,
                term.sizes,
                term.names,
            )
            for term in value.terms
        )
        return unwrapped
    return value


def _raise_library_error(error: Exception) -> None:
    """Raise the library's error behind ``error``, if another library's code replaced it.

    NumPy turns the TraceLeakError of ``buf[i] = t`` into "setting an array element with
    a sequence"; JAX refuses a traced value as "not a valid JAX type". Each becomes the
    library's error naming the user's line and what to write instead.
    """
    scipy_function = _scipy_function(error.__traceback__)
    if scipy_function and (isinstance(error, TraceLeakError) or "Traced" in str(error)):
        raise TraceLeakError(
            f"{scipy_function} received a traced value at `{_user_line(error.__traceback__)}`;"
            " it converts its argument to a plain array or writes into it, which would drop"
            f" the derivative{routing_note(scipy_function)}. Write"
            f" {numpy_instead(scipy_function)} instead"
        ) from None
    cause = error
    while cause is not None and not isinstance(cause, TensorDiffError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, TracedConversion):  # its work, telling NumPy's converters, is done
        raise TraceLeakError(str(cause)) from None
    if cause is error:
        return
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


def _scipy_function(tb) -> str:
    """``scipy.special.logsumexp``: the public scipy function the user's code called, if
    the error arose inside one: the outermost scipy frame that is a public function's own
    (scipy's decorators, such as ``cho_factor``'s batching wrapper, run first)."""
    while tb is not None:
        frame = tb.tb_frame
        module = frame.f_globals.get("__name__", "")
        if module.startswith("scipy."):
            public = ".".join(p for p in module.split(".") if not p.startswith("_"))
            name = frame.f_code.co_name
            found = getattr(sys.modules.get(public), name, None)
            if callable(found) and getattr(inspect.unwrap(found), "__code__", None) is frame.f_code:
                return f"{public}.{name}"
        tb = tb.tb_next
    return ""


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
    pytrees: bool = False,
    has_aux: bool = False,
    numbers_read: bool = False,
    trace_numbers: bool = False,
) -> tuple[TracedCall, list[list]]:
    """The traced call of ``f`` and its Jacobians: ``table[o][k]`` is ∂(output leaf o)/
    ∂args[positions[k]], a tree of Jacobians shaped like that argument (a single
    Jacobian for an array argument).

    Labels: ``out`` and ``wrt[k]`` (defaults: distinct letters; with trees, every leaf
    of the output and of one argument gets its own). ``out=()`` demands a single scalar
    output (NotScalar otherwise). ``observer`` sees each step of the chain rule (see
    :func:`tensordiff.chain_rule.accumulate`). ``numbers_read``: the caller reads the
    Jacobians' numbers first (td.jacobian), so a small one is computed as numbers and
    its structure worked out when another part of it is read. ``trace_numbers``: such a
    call is expected (the last one with these shapes was one), so ``f`` is traced for
    numbers at once, and traced again if its Jacobians turn out too large for them.
    """
    # A gradient backpropagated as numbers (its formula traced again if read) records each
    # call by its pull-back; a meter counting the contractions needs the terms themselves.
    state = context.current()
    expected = trace_numbers and numbers_read and mode == "auto" and observer is None
    numbers_traced = not state.meters and (
        (out == () and by_vector_jacobian_products(mode, (), observer))
        or (expected and not state.traces)
    )
    call = trace_call(f, positions, args, kwargs, pytrees, has_aux, numbers_traced)
    # each output's graph, walked once for both the size test and the chain rule
    orders = [None if o.node is None else toposort(o.node) for o in call.outputs]
    call.by_numbers = numbers_read and _by_numbers(call, mode, observer, orders)
    if numbers_traced and out != () and not call.by_numbers:
        call = trace_call(f, positions, args, kwargs, pytrees, has_aux)  # (a pull-back has no term)
        orders = [None if o.node is None else toposort(o.node) for o in call.outputs]
    single_output = trees.is_leaf_node(call.output_skeleton)
    if out == () and not (single_output and call.outputs[0].shape == ()):
        raise NotScalar(
            f"shape {call.outputs[0].shape}" if single_output else _describe(call.value)
        )
    if out not in (None, ()) and not single_output:
        raise OptionError(
            f"out= labels one array, but f returned {_describe(call.value)}; leave out= unset"
            " (each leaf gets its own labels) and relabel single Jacobians with J.relabel"
        )
    out_labels = []
    for output in call.outputs:
        taken = [label for labels in out_labels for label in labels]
        out_labels.append(labels_for(out, len(output.shape), "the output", avoid=taken))
    every_out = {label for labels in out_labels for label in labels}
    in_labels = []  # per entry of positions: a repeated argnums may be labelled apart
    for position, spec in zip(call.positions, wrt, strict=True):
        leaves = call.inputs[position]
        if spec is not None and not trees.is_leaf_node(call.input_skeletons[position]):
            raise OptionError(
                f"wrt= labels one array, but argument {position} is a"
                f" {type(args[position]).__name__}; leave wrt= unset (each leaf gets its own"
                " labels) and relabel single Jacobians with J.relabel"
            )
        labels_of = []
        for leaf in leaves:
            taken = every_out.union(*labels_of)
            labels = labels_for(spec, len(leaf.shape), f"argument {position}", avoid=taken)
            clash = set(labels) & every_out
            if clash:
                raise ShapeError(
                    f"labels {sorted(clash)} are used for both the output and"
                    f" argument {position} {labels}; choose distinct labels"
                )
            labels_of.append(labels)
        in_labels.append(labels_of)
    # a repeated argnums is differentiated once
    nodes = list(dict.fromkeys(leaf.node for p in call.positions for leaf in call.inputs[p]))
    table = []
    for o, (output, labels, order) in enumerate(zip(call.outputs, out_labels, orders, strict=True)):
        numbers = call.by_numbers  # (every output small, the caller reading numbers first)
        numbers_only = numbers or by_vector_jacobian_products(mode, output.shape, observer)
        terms_by_leaf = accumulate(output.node, output.shape, nodes, mode, observer, numbers, order)
        row = []
        for k, (position, labels_of) in enumerate(zip(call.positions, in_labels, strict=True)):
            jacobians = [
                _jacobian(terms_by_leaf[leaf.node], output, labels, leaf, leaf_labels)
                for leaf, leaf_labels in zip(call.inputs[position], labels_of, strict=True)
            ]
            if numbers_only:  # the structure, for formulas, is recomputed if asked for
                for j, jacobian in enumerate(jacobians):
                    jacobian._writer = functools.partial(
                        gradient_writer, jacobian.shape, jacobian.dtype
                    )
                    jacobian._structure = functools.partial(
                        _structured_terms, f, positions, args, kwargs, out, wrt,
                        pytrees, has_aux, (o, k, j), (mode, numbers_read, trace_numbers),
                    )  # fmt: skip
                    # a gradient shows its one factor; a Jacobian's terms are its structure
                    jacobian._numbers_only = out != ()
            row.append(trees.unflatten(call.input_skeletons[position], jacobians))
        table.append(row)
    return call, table


def _by_numbers(call: TracedCall, mode: str, observer, orders: list) -> bool:
    """Whether the chain rule computes every Jacobian of ``call`` as numbers, its
    caller reading numbers first (see :func:`differentiate`); ``orders``: each output's
    graph, toposorted (None for a constant output)."""
    shapes = [leaf.shape for p in call.positions for leaf in call.inputs[p]]
    return all(
        by_vector_jacobian_products(mode, output.shape, observer, shapes, order or ())
        for output, order in zip(call.outputs, orders, strict=True)
    )


def _structured_terms(
    f, positions, args, kwargs, out, wrt, pytrees, has_aux, where, how
) -> tuple[tuple, np.ndarray]:
    """The structured terms of one Jacobian (output leaf, argument, argument leaf) of a
    call whose chain rule computed numbers — the same call in mode "optimal" — and the
    numbers the call, made again as it was (``how``: mode, numbers_read, trace_numbers),
    gives now: equal to the first call's when its arguments are as they were."""
    o, k, j = where
    mode, numbers_read, trace_numbers = how

    def jacobian(*options):
        table = differentiate(f, positions, args, kwargs, out, wrt, *options)[1]
        return list(trees.leaves(table[o][k]))[j]

    structured = jacobian("optimal", None, pytrees, has_aux)
    again = jacobian(mode, None, pytrees, has_aux, numbers_read, trace_numbers)
    return structured.terms, np.asarray(again)


def _jacobian(terms, output: TracedOutput, out_labels, leaf: Traced, in_labels) -> Jacobian:
    dtype = output.dtype
    if dtype != leaf.dtype or not dtype.isnative:  # (result_type gives the native byte order)
        dtype = np.result_type(dtype, leaf.dtype)
    indices, shape = out_labels + in_labels, output.shape + leaf.shape
    n_out, names = len(out_labels), (output.name, leaf.node.expr)
    return Jacobian._of_terms(terms, indices, n_out, shape, dtype, *names)


def function_name(f) -> str:
    name = getattr(f, "__name__", "")
    return name if name.isidentifier() else "f"


class NotScalar(ShapeError):
    """f returned an array (or a tree) where a scalar was asked for (td.grad)."""

    def __init__(self, returned: str):
        super().__init__(f"the output is {returned}, not a scalar")
        self.returned = returned


def _argument(value, what: str):
    """An argument as a float array; a traced value of an enclosing trace is kept."""
    if type(value) is Traced:
        if value.dtype.kind != "f":
            raise ShapeError(f"{what} is a traced {value.dtype} value")
        return value
    return as_real_array(value, what)


def _output_of(result, trace: Trace):
    """Shape, node (None for a constant) and dtype of ``f``'s result."""
    if isinstance(result, Tensor):
        result = dense_value(result)  # f returned a derivative: differentiate through it
    if type(result) is Traced and result._trace is trace:
        result.check_current("the value f returned")
        return result.shape, result.node, result.dtype
    if type(result) is Traced:
        if result._trace.level > trace.level:
            raise ShapeError("f returned a traced value from a derivative call inside it")
        return result.shape, None, result.dtype  # a value of an enclosing trace: constant here
    if isinstance(result, (tuple, list, dict)):
        raise ShapeError(
            f"f returned a {type(result).__name__}; td.explain and td.plan need a single array"
            " output (td.jacobian and td.grad take nested ones). Explain each output"
            " separately"
        )
    constant = as_real_array(result, "the output of f")
    return constant.shape, None, constant.dtype
