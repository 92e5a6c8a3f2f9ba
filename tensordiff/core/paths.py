"""Plan contractions with opt_einsum once per (equation, shapes, memory limit) and run them.

Class ids (ints) are turned into einsum letters here, per call, so an equation
never needs more distinct letters than it has classes.

A product of any number of factors works: a single ``np.einsum`` call takes at
most 32 operands and 52 letters, so a longer product (a 500-layer elementwise
chain keeps 500 factors) is contracted in pieces of at most :data:`PIECE`
operands, each piece summing only the classes no other operand or the output
mentions (see :func:`in_pieces`).
"""

import collections
import contextlib
import functools
import math
import operator
from collections.abc import Callable, Sequence

import numpy as np
import opt_einsum

from tensordiff.core import context, memory
from tensordiff.core.execute import LoweredPath
from tensordiff.errors import JacobianTooLarge, format_bytes

__all__ = [
    "PIECE",
    "in_pieces",
    "einsum_classes",
    "planned_product",
    "product_writer",
    "equation_for",
    "compiled",
    "path_info",
    "metered",
    "dry_run",
    "count",
]


# Operands per einsum call: under NumPy's limit of 32, and with few enough classes per
# piece that its letters stay within the 52 that np.einsum accepts.
PIECE = 16
_LETTERS = 52
# opt_einsum's dynamic program is exact, but its time grows steeply with the number of
# operands (a chain of 33 matrices and vectors: ~4 s to plan, of 17: ~0.05 s); past this
# many operands the greedy order is planned instead, in time polynomial in the count.
DP_OPERANDS = 18
# Up to this many operands, opt_einsum's exhaustive search is also run (it takes about a
# millisecond for five; every plan is cached) and kept where it beats dp (_fewer_flops).
EXHAUSTIVE_OPERANDS = 5


@contextlib.contextmanager
def metered():
    """Count the FLOPs and the largest intermediate of every contraction run inside
    (in this thread or task: meters are context-local).

    >>> with metered() as meter:
    ...     _ = einsum_classes([(np.ones((2, 3)), (1, 2)), (np.ones(3), (2,))], (1,))
    >>> meter["flops"], meter["largest_intermediate"]
    (12, 2)
    """
    meter = {"flops": 0, "largest_intermediate": 0, "contractions": 0}
    with context.changed(meters=(*context.current().meters, meter)):
        yield meter


@contextlib.contextmanager
def dry_run():
    """Inside, contractions are planned (under the memory limit) and counted by the
    meters but not computed: each returns a read-only array of zeros of its result's
    shape that takes no memory. Exact for the counts because the term algebra never
    looks at a factor's values, only at shapes and classes.

    >>> with metered() as meter, dry_run():
    ...     product = einsum_classes([(np.ones((2, 3)), (1, 2)), (np.ones(3), (2,))], (1,))
    >>> meter["flops"], product.shape, product.strides
    (12, (2,), (0,))
    """
    with context.changed(dry_run=True):
        yield


def equation_for(operand_classes: Sequence[Sequence[int]], out_classes: Sequence[int]) -> str:
    """The einsum equation over letters for operands and output given as class ids.

    >>> equation_for([(7, 3), (3,)], (7,))
    'ab,b->a'
    """
    letters: dict[int, str] = {}
    for classes in [*operand_classes, out_classes]:
        for c in classes:
            if c not in letters:
                letters[c] = opt_einsum.get_symbol(len(letters))
    inputs = ",".join("".join(letters[c] for c in classes) for classes in operand_classes)
    return inputs + "->" + "".join(letters[c] for c in out_classes)


def compiled(equation: str, shapes: tuple[tuple[int, ...], ...]) -> LoweredPath:
    """``equation`` on ``shapes`` as a planned :class:`~tensordiff.core.execute.LoweredPath`.

    The order is opt_einsum's dynamic program ("dp"), the fewest FLOPs among
    orders whose intermediates fit the memory limit: its "auto" choice for up
    to four operands ("optimal") forms a 250-million-entry intermediate for
    ``ab,a,a,ac->bc`` at a=1000, b=c=500, where dp finds the single GEMM.
    Products of more than :data:`DP_OPERANDS` operands get the greedy order.
    """
    return _compiled(equation, shapes, _limit_entries())


def path_info(equation: str, shapes: tuple[tuple[int, ...], ...]):
    """``(path, PathInfo)`` of the order :func:`compiled` uses: FLOPs, largest intermediate.

    Raises JacobianTooLarge, before any arithmetic, when no order fits the memory limit.
    """
    return _path_info(equation, shapes, _limit_entries())


def _limit_entries() -> int:
    """The memory limit in float64 entries: intermediates are planned under it."""
    return memory.get_memory_limit() // 8


@functools.lru_cache(maxsize=4096)
def _compiled(equation: str, shapes: tuple[tuple[int, ...], ...], limit: int) -> LoweredPath:
    return LoweredPath(equation, shapes, _path_info(equation, shapes, limit)[0])


@functools.lru_cache(maxsize=4096)
def _path_info(equation: str, shapes: tuple[tuple[int, ...], ...], limit: int):
    scalars_first = _scalars_first(equation, shapes, limit)
    if scalars_first is not None:
        return scalars_first
    optimize = "dp" if len(shapes) <= DP_OPERANDS else "greedy"
    path, info = opt_einsum.contract_path(equation, *shapes, shapes=True, optimize=optimize)
    if len(shapes) <= EXHAUSTIVE_OPERANDS:
        path, info = _fewer_flops(equation, shapes, path, info)
    if info.largest_intermediate <= limit:
        return path, info
    try:  # the cheapest order that fits
        path, fitting = opt_einsum.contract_path(
            equation, *shapes, shapes=True, optimize=optimize, memory_limit=limit
        )
    except RuntimeError:  # the dynamic program found none
        fitting = info
    if fitting.largest_intermediate <= limit:  # (two operands have one order: not checked)
        return path, fitting
    raise JacobianTooLarge(
        f"every order of the contraction {equation} on shapes {list(shapes)} needs an"
        f" intermediate over the memory limit of {format_bytes(limit * 8)} (the cheapest"
        f" needs {info.largest_intermediate:,} entries).\n  Raise the limit with"
        " td.set_memory_limit(nbytes), or contract with fewer or smaller arguments."
    )


def _scalars_first(equation: str, shapes, limit: int):
    """``(path, info)`` multiplying the 0-d operands into the smallest other operand
    first, then the rest in the best order planned without them; None without 0-d
    operands or with fewer than two others.

    A gradient's term carries its scale factors (``−1``, ``1/B``) as 0-d operands; the
    dynamic program, given them too, took ``ab,cb,ac,ad->dc`` with two of them through
    a 32 × 128 × 10 outer product where, without them, it runs two GEMMs (43 µs
    against 19 µs for the MLP's first-layer gradient). Applied first, the scales cost
    one pass over the smallest operand: no more than over any intermediate the rest
    forms from it (more only than over an output smaller than every operand, a pass
    over at most that operand's entries).
    """
    inputs, output = equation.split("->")
    terms = inputs.split(",")
    scalars = [n for n, shape in enumerate(shapes) if shape == ()]
    others = [n for n, shape in enumerate(shapes) if shape != ()]
    if not scalars or len(others) < 2:
        return None
    smallest = min(others, key=lambda n: math.prod(shapes[n]))
    rest = [n for n in others if n != smallest] + [smallest]  # the order after the first step
    reduced = ",".join(terms[n] for n in rest) + "->" + output
    rest_path, _ = _path_info(reduced, tuple(shapes[n] for n in rest), limit)
    path = [tuple(sorted([*scalars, smallest])), *rest_path]
    return path, opt_einsum.contract_path(equation, *shapes, shapes=True, optimize=path)[1]


def _fewer_flops(equation: str, shapes, path, info):
    """dp's order, or opt_einsum's exhaustive one where that costs fewer FLOPs with no
    larger intermediate. dp can miss an elementwise product of two operands over the
    same classes: for the per-sample gradients ``ab,ab,cb,ac,ad->adc`` it forms the
    outer product ``ac,ad->acd`` and then multiplies it by the second ``ac`` (two
    passes over B·d·hidden entries), where multiplying the two ``ac`` first needs one."""
    exhaustive, other = opt_einsum.contract_path(equation, *shapes, shapes=True, optimize="optimal")
    if other.opt_cost < info.opt_cost and other.largest_intermediate <= info.largest_intermediate:
        return exhaustive, other
    return path, info


def einsum_classes(
    factors: Sequence[tuple[np.ndarray, Sequence[int]]], out_classes: Sequence[int]
) -> np.ndarray:
    """Contract ``factors`` (arrays with a class id per axis) to an array over ``out_classes``."""
    classes = [classes for _, classes in factors]
    arrays = [array for array, _ in factors]
    if not all(isinstance(array, (np.ndarray, np.generic)) for array in arrays):
        # Traced factors (a derivative inside a derivative, or td.jit recording):
        # NumPy calls on them are recorded, one einsum per piece.
        relabel = _relabelling(classes, out_classes)
        if relabel is not None:
            return relabel(arrays)
        classes, arrays = in_pieces(classes, out_classes, arrays, _traced_piece)
        return np.einsum(equation_for(classes, out_classes), *arrays)
    return planned_product(classes, out_classes, tuple(array.shape for array in arrays))(arrays)


def _traced_piece(piece_classes, keep, arrays):
    return np.einsum(equation_for(piece_classes, keep), *arrays)


def in_pieces(operand_classes: Sequence[Sequence[int]], out_classes: Sequence[int], operands, run):
    """``(classes, operands)`` with at most :data:`PIECE` operands, their product over
    ``out_classes`` unchanged: consecutive pieces are replaced by their product,
    ``run(piece_classes, keep, piece_operands)``, kept over the classes that other
    operands or the output still need. Linear in the number of operands.

    >>> classes, arrays = in_pieces([(1,)] * 40, (1,), [np.full(2, 2.0)] * 40, _traced_piece)
    >>> len(classes) <= PIECE, np.einsum(equation_for(classes, (1,)), *arrays)
    (True, array([1.09951163e+12, 1.09951163e+12]))
    """
    classes, operands = [tuple(c) for c in operand_classes], list(operands)
    while len(classes) > PIECE:
        # how many operands mention each class: a class is summed inside a piece only
        # when every operand mentioning it is in the piece and the output lacks it
        mentions = collections.Counter(c for cl in classes for c in set(cl))
        reduced, reduced_operands, start = [], [], 0
        while start < len(classes):
            end = _piece_end(classes, start)
            if end - start == 1:
                reduced.append(classes[start])
                reduced_operands.append(operands[start])
            else:
                inside = collections.Counter(c for cl in classes[start:end] for c in set(cl))
                keep = tuple(c for c in inside if c in out_classes or mentions[c] > inside[c])
                reduced.append(keep)
                reduced_operands.append(run(classes[start:end], keep, operands[start:end]))
            start = end
        classes, operands = reduced, reduced_operands
    return classes, operands


def _piece_end(classes: list, start: int) -> int:
    """The end of the piece starting at ``start``: at most PIECE operands and
    _LETTERS distinct classes (at least one operand)."""
    seen: set = set()
    end = start
    while end < len(classes) and end - start < PIECE:
        seen |= set(classes[end])
        if len(seen) > _LETTERS and end > start:
            break
        end += 1
    return end


def planned_product(
    operand_classes: Sequence[Sequence[int]], out_classes: Sequence[int], shapes
) -> Callable[[Sequence[np.ndarray]], np.ndarray]:
    """``arrays -> product over out_classes`` for operands of these classes and shapes,
    planned now; each run is counted by the meters."""
    relabel = _relabelling(operand_classes, out_classes)
    if relabel is not None:  # not arithmetic: nothing to count
        return relabel
    equation = equation_for(operand_classes, out_classes)
    run = compiled(equation, shapes)

    def contract(arrays):
        state = context.current()
        if state.meters:
            _count(equation, shapes)
        if state.dry_run:
            return _zeros_like_result(equation, arrays)
        return run(*arrays)

    return contract


def _relabelling(operand_classes, out_classes):
    """``arrays -> arrays[0]`` (or its transpose) when the contraction is just that."""
    if len(operand_classes) != 1:
        return None
    classes = tuple(operand_classes[0])
    if classes == tuple(out_classes):
        return operator.itemgetter(0)
    if len(set(classes)) == len(classes) and set(classes) == set(out_classes):
        permutation = [classes.index(c) for c in out_classes]
        return lambda arrays: np.transpose(arrays[0], permutation)
    return None


def product_writer(
    operand_classes: Sequence[Sequence[int]], out_classes: Sequence[int], shapes
) -> Callable[[Sequence[np.ndarray], np.ndarray], None]:
    """``(arrays, out) -> None`` writing the product (nothing summed) into ``out`` in one
    einsum pass, with no intermediate (with more than :data:`PIECE` factors, pieces of
    them are multiplied first, each over its own classes)."""
    sizes = {
        c: n
        for classes, shape in zip(operand_classes, shapes, strict=True)
        for c, n in zip(classes, shape, strict=True)
    }
    fetchers = [(shape, operator.itemgetter(n)) for n, shape in enumerate(shapes)]

    def planned_piece(piece_classes, keep, piece):
        # planned now; each later call fetches its operands and runs the plan
        product = planned_product(piece_classes, keep, tuple(shape for shape, _ in piece))
        fetch = [fetch for _, fetch in piece]
        shape = tuple(sizes[c] for c in keep)
        return shape, lambda arrays: product([get(arrays) for get in fetch])

    operand_classes, fetchers = _equal_classes_multiplied(operand_classes, fetchers, planned_piece)
    classes, fetchers = in_pieces(operand_classes, out_classes, fetchers, planned_piece)
    equation = equation_for(classes, out_classes)
    piece_shapes = tuple(shape for shape, _ in fetchers)

    def write(arrays, out):
        operands = [fetch(arrays) for _, fetch in fetchers]
        state = context.current()
        if state.meters:
            _count(equation, piece_shapes)
        if not state.dry_run:
            np.einsum(equation, *operands, out=out, casting="same_kind")

    return write


def _equal_classes_multiplied(operand_classes, fetchers, planned_piece):
    """Operands over the same classes multiplied first, one piece per group: elementwise
    and no larger than either, and the one einsum pass after then multiplies fewer
    operands per entry (three operands per entry took 2.5 times as long as two for the
    per-sample gradients ``ab,ab,ac->acb``)."""
    groups: dict[tuple, list[int]] = {}
    for n, classes in enumerate(operand_classes):
        groups.setdefault(tuple(classes), []).append(n)
    if all(len(members) == 1 for members in groups.values()):
        return operand_classes, fetchers
    merged_classes, merged = [], []
    for classes, members in groups.items():
        merged_classes.append(classes)
        if len(members) == 1:
            merged.append(fetchers[members[0]])
        else:
            piece = [fetchers[n] for n in members]
            merged.append(planned_piece([classes] * len(members), classes, piece))
    return merged_classes, merged


def _zeros_like_result(equation: str, arrays) -> np.ndarray:
    """Zeros of the shape and dtype ``np.einsum(equation, *arrays)`` has, in no memory."""
    sizes = {
        letter: n
        for term, array in zip(equation.split("->")[0].split(","), arrays, strict=True)
        for letter, n in zip(term, np.shape(array), strict=True)
    }
    shape = tuple(sizes[letter] for letter in equation.split("->")[1])
    dtype = np.result_type(*arrays)
    return np.broadcast_to(np.zeros((), dtype), shape)


def count(operand_classes: Sequence[Sequence[int]], out_classes: Sequence[int], shapes) -> None:
    """Count, on the running meters, a product computed without :func:`planned_product`."""
    if context.current().meters:
        _count(equation_for(operand_classes, out_classes), tuple(shapes))


def _count(equation: str, shapes: tuple[tuple[int, ...], ...]) -> None:
    """Add a contraction's cost to the meters that are counting."""
    info = path_info(equation, shapes)[1]
    for meter in context.current().meters:
        meter["flops"] += int(info.opt_cost)
        meter["largest_intermediate"] = max(
            meter["largest_intermediate"], int(info.largest_intermediate)
        )
        meter["contractions"] += 1
