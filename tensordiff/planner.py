"""Run contractions through opt_einsum, planning once per (equation, shapes).

Class ids (ints) are turned into einsum letters here, per call, so an equation
never needs more distinct letters than it has classes.
"""

import contextlib
import functools
from collections.abc import Sequence

import numpy as np
import opt_einsum

__all__ = ["einsum_classes", "product_into", "equation_for", "compiled", "path_info", "metered"]

# Cost meters that are counting now (see ``metered``); innermost last.
_meters: list[dict] = []


@contextlib.contextmanager
def metered():
    """Count the FLOPs and the largest intermediate of every contraction run inside.

    >>> with metered() as meter:
    ...     _ = einsum_classes([(np.ones((2, 3)), (1, 2)), (np.ones(3), (2,))], (1,))
    >>> meter["flops"], meter["largest_intermediate"]
    (12, 2)
    """
    meter = {"flops": 0, "largest_intermediate": 0, "contractions": 0}
    _meters.append(meter)
    try:
        yield meter
    finally:
        _meters.remove(meter)


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


@functools.lru_cache(maxsize=4096)
def compiled(equation: str, shapes: tuple[tuple[int, ...], ...]):
    """The opt_einsum expression for ``equation`` on ``shapes``, planned once.

    The path comes from opt_einsum's dynamic program ("dp"): its "auto" choice
    for up to four operands ("optimal") forms a 250-million-entry intermediate
    for ``ab,a,a,ac->bc`` at a=1000, b=c=500, where dp finds the single GEMM.
    """
    return opt_einsum.contract_expression(equation, *shapes, optimize="dp")


def einsum_classes(
    factors: Sequence[tuple[np.ndarray, Sequence[int]]], out_classes: Sequence[int]
) -> np.ndarray:
    """Contract ``factors`` (arrays with a class id per axis) to an array over ``out_classes``."""
    if len(factors) == 1:
        array, classes = factors[0]
        if tuple(classes) == tuple(out_classes):
            return array
        if len(set(classes)) == len(classes) and set(classes) == set(out_classes):
            return np.transpose(array, [tuple(classes).index(c) for c in out_classes])
    equation = equation_for([classes for _, classes in factors], out_classes)
    arrays = [array for array, _ in factors]
    if not all(isinstance(array, (np.ndarray, np.generic)) for array in arrays):
        # Traced factors (a derivative inside a derivative): np.einsum records them.
        return np.einsum(equation, *arrays)
    shapes = tuple(array.shape for array in arrays)
    _count(equation, shapes)
    return compiled(equation, shapes)(*arrays)


def product_into(
    factors: Sequence[tuple[np.ndarray, Sequence[int]]], out_classes: Sequence[int], out
) -> None:
    """Write the product of ``factors`` (nothing summed) into ``out`` in one einsum pass."""
    equation = equation_for([classes for _, classes in factors], out_classes)
    arrays = [array for array, _ in factors]
    _count(equation, tuple(array.shape for array in arrays))
    np.einsum(equation, *arrays, out=out, casting="same_kind")


def _count(equation: str, shapes: tuple[tuple[int, ...], ...]) -> None:
    """Add a contraction's cost to the meters that are counting."""
    if not _meters:
        return
    info = path_info(equation, shapes)[1]
    for meter in _meters:
        meter["flops"] += int(info.opt_cost)
        meter["largest_intermediate"] = max(
            meter["largest_intermediate"], int(info.largest_intermediate)
        )
        meter["contractions"] += 1


@functools.lru_cache(maxsize=1024)
def path_info(equation: str, shapes: tuple[tuple[int, ...], ...]):
    """``(path, PathInfo)`` of the order :func:`compiled` uses: FLOPs, largest intermediate."""
    return opt_einsum.contract_path(equation, *shapes, shapes=True, optimize="dp")
