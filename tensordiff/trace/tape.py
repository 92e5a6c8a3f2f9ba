"""A tape of NumPy calls: what :func:`tensordiff.jit` records once and replays.

While ``td.jit`` records, every array argument of the jitted function is a
:class:`~tensordiff.trace.traced.Traced` value of a :class:`Tape`, the
outermost trace level. The derivative traces run above it as usual; whenever a
NumPy call reaches the tape's level (the function's own arithmetic, and every
rule, contraction and sum that builds the Jacobian's factors) it is not
differentiated but computed and appended to the tape as a step. Replaying the
steps on new arguments recomputes exactly the arrays the recording computed,
without running any Python of the function or of tensordiff's chain rule.

Every result of a step is traced, even a Python ``bool`` from ``np.allclose``:
turning one into a Python value (``if``, ``float()``) raises TraceLeakError,
which stops the recording, so a data-dependent branch is never replayed.

>>> from tensordiff.trace.traced import running
>>> tape = Tape(1)
>>> x = tape.input(np.array([1.0, 2.0]), "x")
>>> with running(tape):
...     y = np.exp(x) + 1.0
>>> program = tape.program([tape.slot_of(y)])
>>> program.run([np.zeros(2)])
[array([2., 2.])]
"""

import functools
import itertools
import math
import operator
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from tensordiff.core import paths, trees
from tensordiff.errors import TraceLeakError
from tensordiff.trace import views
from tensordiff.trace.graph import Node
from tensordiff.trace.registry import qualified_name
from tensordiff.trace.traced import Trace, Traced

__all__ = ["Tape", "Slot", "Program", "ShapeChanged", "SHAPE_ONLY"]

# Functions whose results depend on shapes and dtypes only: not recorded, their
# Python results (ints, tuples) are safe to use in control flow.
SHAPE_ONLY = frozenset({np.shape, np.ndim, np.size, np.result_type})


# Functions that only reshape their first argument (a view with a new shape).
_RESHAPES = frozenset({np.reshape, np.ravel})


def _is_identity(function, args, kwargs, result) -> bool:
    """Whether the call gives its first argument back unchanged (as a view)."""
    if function in _RESHAPES:
        return np.shape(result) == args[0].shape
    if function is np.transpose:
        axes = args[1] if len(args) > 1 else kwargs.get("axes")
        return axes is not None and list(axes) == list(range(len(args[0].shape)))
    return False


def _step_key(step) -> tuple:
    """A hashable stand-in for a step: equal keys compute the same value (NumPy calls
    are pure); constant arrays count by identity, other constants by their repr."""
    function, args, kwargs = step

    def key(x):
        if isinstance(x, Slot):
            return x
        if isinstance(x, np.ndarray):
            return ("array", id(x))
        if isinstance(x, dict):
            return ("dict", tuple((k, key(v)) for k, v in x.items()))
        if isinstance(x, (list, tuple)):
            return (type(x).__name__, tuple(key(item) for item in x))
        return (type(x), repr(x))  # repr tells -0.0 from 0.0, which == does not

    return (function, key(list(args)), key(kwargs))


class Slot(NamedTuple):
    """Where a value lives on the tape: the result of step ``index``, item ``path``."""

    index: int
    path: tuple[int, ...] = ()


class Tape(Trace):
    """A trace level whose NumPy calls are recorded as steps instead of differentiated."""

    __slots__ = ("steps", "_slots", "_seen", "_shapes", "_kept")

    def __init__(self, level: int):
        super().__init__(level)
        self.steps: list[tuple | None] = []  # None marks an input
        self._slots: dict[Node, Slot] = {}
        self._seen: dict[tuple, Slot] = {}  # a step's key -> its slot, to record it once
        self._shapes: dict[int, tuple] = {}  # a step's index -> the shape it gave
        self._kept: list = []  # arguments replaced by folded ones, kept for their ids

    def input(self, value, name: str) -> Traced:
        """The traced stand-in for an argument; its slot is the argument's position."""
        self.steps.append(None)
        traced = self._traced(value, Slot(len(self.steps) - 1), "input", expr=name)
        views.of_argument(traced)  # a write into it would have to change the caller's array
        return traced

    def slot_of(self, x: Traced) -> Slot:
        return self._slots[x.node]

    def apply(self, function: Callable, args: Sequence, kwargs: dict):
        """``function(*args, **kwargs)`` on the values, recorded as a step."""
        name = qualified_name(function)
        if function in SHAPE_ONLY:
            return function(*self._values(args), **self._values(kwargs))
        if kwargs.get("out") is not None:
            raise TraceLeakError(f"numpy.{name} with out= writes in place; it cannot be replayed")
        step = (function, self._template(args), self._template(kwargs))
        key = _step_key(step)  # of the call as made: a folded constant is a new array
        if function is np.einsum and args and isinstance(args[0], str):
            folded = _constants_folded(args, self)
            if folded != tuple(args):
                self._kept.append(args)  # the key counts constants by id: keep them alive
                args = folded
                step = (function, self._template(args), step[2])
        function = _replayable(function, args, kwargs)
        step = (function, *step[1:])
        result = function(*self._values(args), **self._values(kwargs))
        if result is None:  # np.copyto, np.put, ufunc.at, ...: it wrote into an argument
            raise TraceLeakError(f"numpy.{name} writes into an argument; it cannot be replayed")
        first = args[0] if args else None
        if type(first) is Traced and _is_identity(function, args, kwargs, result):
            # Replays as the value itself: a new traced value (code may tell values
            # apart by identity) on the same slot, and no step.
            return self._traced(result, self._slots[first.node], name)
        if key in self._seen:  # computed before: the same slot
            return self._wrap(result, self._seen[key], name)
        self.steps.append(step)
        self._seen[key] = Slot(len(self.steps) - 1)
        if function in _DTYPE_FOLLOWS_VALUES:
            self._shapes[len(self.steps) - 1] = _Layout.of(result)
        elif not isinstance(result, (tuple, list)):
            self._shapes[len(self.steps) - 1] = np.shape(result)
        return self._wrap(result, Slot(len(self.steps) - 1), name)

    def program(self, outputs: Sequence[Slot]) -> "Program":
        """The steps that ``outputs`` need, ready to replay."""
        needed = {slot.index for slot in outputs}
        for index in range(len(self.steps) - 1, -1, -1):
            if index in needed and self.steps[index] is not None:
                _, args, kwargs = self.steps[index]
                needed.update(leaf.index for leaf in _leaves((args, kwargs)) if type(leaf) is Slot)
        n_inputs = sum(step is None for step in self.steps)
        steps = [
            (index, *self.steps[index], self._shapes.get(index))
            for index in sorted(needed)
            if self.steps[index] is not None
        ]
        return Program(n_inputs, len(self.steps), steps, tuple(outputs))

    # ---- values and templates --------------------------------------------------------
    def _traced(self, value, slot: Slot, op: str, expr: str = "") -> Traced:
        value = np.asarray(value)
        node = Node(op, value.shape, expr=expr)
        self._slots[node] = slot
        return Traced(value, node, self)

    def _wrap(self, result, slot: Slot, name: str):
        if isinstance(result, (np.ndarray, np.generic, bool, int, float, complex)):
            return self._traced(result, slot, name)
        if isinstance(result, (tuple, list)):
            items = [
                self._wrap(item, Slot(slot.index, (*slot.path, n)), name)
                for n, item in enumerate(result)
            ]
            return trees.rebuild(result, items)
        return result  # None, strings, dtypes: not data

    def _values(self, tree):
        return trees.tree_map(
            lambda x: x.value if type(x) is Traced and x._trace is self else x, tree, _is_slot
        )

    def _template(self, tree):
        return trees.tree_map(
            lambda x: self._slots[x.node] if type(x) is Traced and x._trace is self else x,
            tree,
            _is_slot,
        )


class ShapeChanged(Exception):
    """A replayed step gave another shape (or dtype) than when recorded: it depends on the
    values."""


# Functions whose result's dtype follows the values: np.linalg.eig is real for a real
# spectrum and complex otherwise. Their steps check shapes and dtypes item by item.
_DTYPE_FOLLOWS_VALUES = frozenset({np.linalg.eig, np.linalg.eigvals})


class _Layout(tuple):
    """The shapes and dtypes of a step's result, item by item for a tuple of arrays."""

    @classmethod
    def of(cls, result) -> "_Layout":
        items = result if isinstance(result, (tuple, list)) else (result,)
        return cls((np.shape(item), np.result_type(item)) for item in items)


class Program:
    """Recorded steps, replayed on new inputs: ``run(inputs) -> values of outputs``.

    Every step's shape is checked against the recording: a shape that depends on
    the values (a boolean mask, ``np.nonzero``) raises ShapeChanged rather than
    feeding later steps planned for another shape; so does a dtype that depends on them
    (``np.linalg.eig`` of a matrix whose spectrum is complex).
    """

    def __init__(self, n_inputs: int, n_values: int, steps: list, outputs: tuple[Slot, ...]):
        self.n_inputs = n_inputs
        self.steps = [
            (index, _step(function, args, kwargs), shape)
            for index, function, args, kwargs, shape in steps
        ]
        self._n_values = n_values
        self.outputs = outputs
        straight = _straight_line(n_inputs, steps, outputs)
        if straight is not None:
            self.run = straight

    def __len__(self) -> int:
        return len(self.steps)

    def run(self, inputs: Sequence) -> list:
        values = list(inputs) + [None] * (self._n_values - self.n_inputs)
        for index, step, shape in self.steps:
            value = step(values)
            if shape is not None and getattr(value, "shape", ()) != shape:
                if type(shape) is not _Layout or _Layout.of(value) != shape:
                    raise ShapeChanged(
                        f"a step recorded with {shape} gave {getattr(value, 'shape', ())}"
                        if type(shape) is not _Layout
                        else f"a step recorded as {shape} gave {_Layout.of(value)}"
                    )
            values[index] = value
        return [_fetch(values, slot) for slot in self.outputs]


def _straight_line(n_inputs: int, steps: list, outputs: tuple[Slot, ...]):
    """:meth:`Program.run` as one generated function, a straight line of the recorded
    calls on local variables (``v3 = c4(v0, c5)``: values and constants), each followed
    by its shape check; None when a step's arguments are not plain (nested containers
    other than tuples, lists and dicts), which the stepwise run serves.

    Per step it saves the loop, a closure's frame and the list of values: ~0.3 µs,
    of a replay's ~1 µs per step beyond the NumPy call itself.
    """
    namespace = {"_changed": _changed, "_Layout": _Layout}
    names = (f"c{n}" for n in itertools.count())

    def constant(value) -> str:
        name = next(names)
        namespace[name] = value
        return name

    def expression(template) -> str | None:
        if type(template) is Slot:
            return f"v{template.index}" + "".join(f"[{n}]" for n in template.path)
        if not _has_slots(template):
            return constant(template)
        items = template.values() if type(template) is dict else template
        parts = [expression(item) for item in items]
        if None in parts:
            return None
        if type(template) is tuple:
            return f"({', '.join(parts)},)"
        if type(template) is list:
            return f"[{', '.join(parts)}]"
        if type(template) is dict and all(type(key) is str for key in template):
            entries = zip(template, parts, strict=True)
            return "{" + ", ".join(f"{key!r}: {part}" for key, part in entries) + "}"
        return None  # a named tuple or another container holding values: stepwise

    lines = ["def run(inputs):", f"    ({''.join(f'v{n}, ' for n in range(n_inputs))}) = inputs"]
    for index, function, args, kwargs, shape in steps:
        function, kwargs = _options_bound(function, kwargs)
        parts = [expression(arg) for arg in args]
        parts += [f"**{expression(kwargs)}"] if kwargs else []
        if None in parts or any(part == "**None" for part in parts):
            return None
        lines.append(f"    v{index} = {constant(function)}({', '.join(parts)})")
        if type(shape) is _Layout:
            lines.append(f"    if _Layout.of(v{index}) != {constant(shape)}:")
        elif shape is not None:
            lines.append(f"    if getattr(v{index}, 'shape', ()) != {constant(shape)}:")
        if shape is not None:
            lines.append(f"        _changed({constant(shape)}, v{index})")
    lines.append(f"    return [{', '.join(expression(slot) for slot in outputs)}]")
    exec("\n".join(lines), namespace)  # noqa: S102  (our own text: names and constants)
    return namespace["run"]


def _changed(shape, value):
    """Raise ShapeChanged: a replayed step gave another shape or layout than ``shape``."""
    if type(shape) is _Layout:
        raise ShapeChanged(f"a step recorded as {shape} gave {_Layout.of(value)}")
    raise ShapeChanged(f"a step recorded with {shape} gave {getattr(value, 'shape', ())}")


def _step(function: Callable, args, kwargs: dict) -> Callable[[list], object]:
    """The step as one call on the tape's values, its templates filled."""
    function, kwargs = _options_bound(function, kwargs)
    if not kwargs and all(_is_slot(a) and not a.path or not _has_slots(a) for a in args):
        return _flat_step(function, list(args))
    fill_args = _filler(list(args))
    if not kwargs:
        return lambda values: function(*fill_args(values))
    fill_kwargs = _filler(kwargs)
    return lambda values: function(*fill_args(values), **fill_kwargs(values))


def _options_bound(function: Callable, kwargs: dict) -> tuple[Callable, dict]:
    """Keyword arguments that are options only (``axis=1``), bound to the function once."""
    if kwargs and not _has_slots(kwargs):
        return functools.partial(function, **kwargs), {}
    return function, kwargs


def _flat_step(function: Callable, args: list) -> Callable[[list], object]:
    """A step whose arguments are whole values of the tape or constants: the most
    common kind, filled without walking templates (a replay is this per step)."""
    filled = [(n, a.index) for n, a in enumerate(args) if _is_slot(a)]
    if len(filled) == len(args) == 1:
        ((_, only),) = filled
        return lambda values: function(values[only])
    if len(filled) == len(args) == 2:
        first, second = (index for _, index in filled)
        return lambda values: function(values[first], values[second])

    def call(values):
        arguments = args.copy()
        for position, index in filled:
            arguments[position] = values[index]
        return function(*arguments)

    return call


def _fetch(values: list, slot: Slot):
    value = values[slot.index]
    for n in slot.path:
        value = value[n]
    return value


def _filler(template) -> Callable[[list], object]:
    """A function of the tape's values that fills the slots of ``template``."""
    if isinstance(template, Slot):
        if not template.path:
            index = template.index
            return operator.itemgetter(index)
        return lambda values: _fetch(values, template)
    if not _has_slots(template):
        return lambda values: template
    if isinstance(template, dict):
        parts = {key: _filler(value) for key, value in template.items()}
        return lambda values: {key: part(values) for key, part in parts.items()}
    if isinstance(template, (tuple, list)):
        parts = [_filler(item) for item in template]
        return lambda values: trees.rebuild(template, [part(values) for part in parts])
    return lambda values: template


def _has_slots(tree) -> bool:
    return any(type(leaf) is Slot for leaf in _leaves(tree))


def _leaves(tree):
    """Everything in ``tree`` that is not a list, tuple or dict (a Slot is a leaf)."""
    return trees.leaves(tree, _is_slot)


def _is_slot(x) -> bool:
    return type(x) is Slot


def _constants_folded(args: Sequence, tape: Tape) -> tuple:
    """An einsum's arguments with its constant operands contracted once, now.

    A recorded einsum often multiplies the replayed values by constants: a gather's
    one-hot selection (32 × 32 × 10 entries to pick 32 labels), a scale. Every letter
    that no replayed operand and not the output carries is summed inside the constants'
    own product, so that product is computed at recording time and the replay contracts
    only what changes (``abc,bd,->bd`` becomes ``b,bd->bd``). Folding is skipped where
    the constants' product would be larger than the constants themselves.
    """
    equation, *operands = args
    equation = equation.replace(" ", "")
    if "->" not in equation or "." in equation:
        return tuple(args)
    inputs, output = equation.split("->")
    terms = inputs.split(",")
    replayed = [type(x) is Traced and x._trace is tape for x in operands]
    if len(terms) != len(operands) or all(replayed) or not any(replayed):
        return tuple(args)
    constant_terms = [t for t, r in zip(terms, replayed, strict=True) if not r]
    constants = [np.asarray(x) for x, r in zip(operands, replayed, strict=True) if not r]
    wanted = set(output).union(*(t for t, r in zip(terms, replayed, strict=True) if r))
    sizes = {
        c: n
        for t, x in zip(constant_terms, constants, strict=True)
        for c, n in zip(t, x.shape, strict=True)
    }
    kept = "".join(dict.fromkeys(c for t in constant_terms for c in t if c in wanted))
    if len(constants) == 1 and kept == constant_terms[0]:
        return tuple(args)  # nothing to sum or multiply out
    if math.prod(sizes[c] for c in kept) > sum(x.size for x in constants):
        return tuple(args)
    folded = np.einsum(",".join(constant_terms) + "->" + kept, *constants, optimize=True)
    rest = [(t, x) for t, x, r in zip(terms, operands, replayed, strict=True) if r]
    new_inputs = ",".join([kept, *(t for t, _ in rest)])
    return (f"{new_inputs}->{output}", folded, *(x for _, x in rest))


# Reductions NumPy implements as a ufunc's ``reduce`` (for an ndarray, ``np.sum(x, axis=1)``
# is ``np.add.reduce(x, axis=1)`` after ~1.3 µs of Python wrappers): a replay calls it
# directly. Only for an ndarray and the options both spell alike; the default axis differs.
_UFUNC_REDUCTIONS = {
    np.sum: np.add.reduce,
    np.prod: np.multiply.reduce,
    np.max: np.maximum.reduce,
    np.amax: np.maximum.reduce,
    np.min: np.minimum.reduce,
    np.amin: np.minimum.reduce,
}


def _replayable(function: Callable, args: Sequence, kwargs: dict) -> Callable:
    """``function``, or a faster equivalent: an einsum runs on its planned opt_einsum
    path, a sum or an extreme of an ndarray is its ufunc's reduce."""
    if function is np.einsum and args and isinstance(args[0], str):
        shapes = tuple(np.shape(x.value if type(x) is Traced else x) for x in args[1:])
        expression = paths.compiled(args[0].replace(" ", ""), shapes)
        return lambda equation, *arrays, **options: expression(*arrays)
    reduce = _UFUNC_REDUCTIONS.get(function)
    if (
        reduce is not None
        and len(args) == 1
        and type(args[0]) is Traced
        and type(args[0].value) is np.ndarray
        and set(kwargs) <= {"axis", "keepdims"}
    ):
        return functools.partial(reduce, axis=None)  # a recorded axis= overrides it
    return function
