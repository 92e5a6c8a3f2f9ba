"""Plan contractions with opt_einsum once per (equation, shapes, memory limit) and run them.

Class ids (ints) are turned into einsum letters here, per call, so an equation
never needs more distinct letters than it has classes.
"""

import contextlib
import functools
import operator
from collections.abc import Callable, Sequence

import numpy as np
import opt_einsum

from tensordiff.core import context, memory
from tensordiff.core.execute import LoweredPath
from tensordiff.errors import JacobianTooLarge, format_bytes

__all__ = [
    "einsum_classes",
    "planned_product",
    "product_writer",
    "equation_for",
    "compiled",
    "path_info",
    "metered",
]


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
    path, info = opt_einsum.contract_path(equation, *shapes, shapes=True, optimize="dp")
    if info.largest_intermediate <= limit:
        return path, info
    try:  # the cheapest order that fits
        path, fitting = opt_einsum.contract_path(
            equation, *shapes, shapes=True, optimize="dp", memory_limit=limit
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


def einsum_classes(
    factors: Sequence[tuple[np.ndarray, Sequence[int]]], out_classes: Sequence[int]
) -> np.ndarray:
    """Contract ``factors`` (arrays with a class id per axis) to an array over ``out_classes``."""
    classes = [classes for _, classes in factors]
    arrays = [array for array, _ in factors]
    if not all(isinstance(array, (np.ndarray, np.generic)) for array in arrays):
        # Traced factors (a derivative inside a derivative, or td.jit recording):
        # NumPy calls on them are recorded.
        relabel = _relabelling(classes, out_classes)
        if relabel is not None:
            return relabel(arrays)
        return np.einsum(equation_for(classes, out_classes), *arrays)
    return planned_product(classes, out_classes, tuple(array.shape for array in arrays))(arrays)


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
        if context.current().meters:
            _count(equation, shapes)
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
    einsum pass, with no intermediate."""
    equation = equation_for(operand_classes, out_classes)

    def write(arrays, out):
        if context.current().meters:
            _count(equation, shapes)
        np.einsum(equation, *arrays, out=out, casting="same_kind")

    return write


def _count(equation: str, shapes: tuple[tuple[int, ...], ...]) -> None:
    """Add a contraction's cost to the meters that are counting."""
    info = path_info(equation, shapes)[1]
    for meter in context.current().meters:
        meter["flops"] += int(info.opt_cost)
        meter["largest_intermediate"] = max(
            meter["largest_intermediate"], int(info.largest_intermediate)
        )
        meter["contractions"] += 1
