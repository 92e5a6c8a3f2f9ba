"""Running a planned contraction: each pairwise step lowered once to its cheapest NumPy call.

opt_einsum finds the order; executing it through ``contract_expression`` costs
tens of microseconds of Python per step (parsing, ``tensordot`` re-deriving its
permutations), which on a chain of small matrices is more than the arithmetic.
Here every step is lowered when the plan is made, from the shapes alone:

* a product with nothing summed (a diagonal scaling, an outer product) is one
  broadcast ``np.multiply`` of views;
* a contraction whose letters are each shared-and-summed, shared-and-kept
  (batch) or private-and-kept is one ``np.matmul`` of permuted, reshaped views;
* anything else (a letter summed inside one operand, a repeated letter) is
  ``np.einsum`` of the pair.

>>> step = LoweredPath("ab,b,bc->ac", [(2, 3), (3,), (3, 4)], [(0, 1), (0, 1)])
>>> a, d, b = np.ones((2, 3)), np.arange(3.0), np.ones((3, 4))
>>> np.allclose(step(a, d, b), np.einsum("ab,b,bc->ac", a, d, b))
True
"""

import math
from collections.abc import Callable, Sequence

import numpy as np
import opt_einsum

from tensordiff.core.codegen import Code

__all__ = ["LoweredPath"]


class LoweredPath:
    """``equation`` on operands of ``shapes``, contracted pairwise along ``path``: one
    generated function (its text is :attr:`source`) making the lowered calls in order."""

    def __init__(self, equation: str, shapes: Sequence[tuple[int, ...]], path: Sequence[tuple]):
        _, info = opt_einsum.contract_path(
            equation, *shapes, shapes=True, optimize=[tuple(p) for p in path]
        )
        sizes = dict(info.size_dict)
        code = Code(np=np)
        parameters = [f"x{n}" for n in range(len(shapes))]
        operands = list(zip(parameters, map(tuple, shapes), strict=True))
        for number, (positions, _, pair_equation, _, _) in enumerate(info.contraction_list):
            inputs, output = pair_equation.split("->")
            picked = [operands.pop(n) for n in positions]
            call = _lower(code, inputs.split(","), output, sizes, picked)
            code.line(f"t{number} = {call}")
            operands.append((f"t{number}", tuple(sizes[ch] for ch in output)))
        self.source = code.source("contract", parameters, operands[0][0])
        self._run = code.function("contract", parameters, operands[0][0])

    def __call__(self, *arrays):
        return self._run(*arrays)


def _lower(code: Code, inputs: list[str], output: str, sizes: dict, operands: list) -> str:
    """The NumPy call computing ``inputs -> output`` on ``operands`` (their names in the
    generated code and their shapes), as an expression of ``code``."""
    names = [name for name, _ in operands]
    equation = _ascii(",".join(inputs) + "->" + output)
    whole = [n for n, term in enumerate(inputs) if term]
    if len(inputs) > 1 and len(whole) == 1 and inputs[whole[0]] == output:
        # an operand times 0-d ones (scale factors), multiplied together first, so the
        # operand is passed over once
        scales = " * ".join(name for n, name in enumerate(names) if n != whole[0])
        return f"np.multiply({names[whole[0]]}, {scales})"
    if len(inputs) != 2 or any(len(set(term)) != len(term) for term in (*inputs, output)):
        return f"np.einsum({code.constant(equation)}, {', '.join(names)})"
    left, right = inputs
    every = set(left) | set(right)
    if every == set(output):
        return _broadcast_product(code, left, right, output, operands)
    shared = set(left) & set(right)
    if every - set(output) == shared - set(output) and set(output) <= every:
        return _matmul(left, right, output, sizes, names)
    return f"np.einsum({code.constant(equation)}, {', '.join(names)})"


def _ascii(equation: str) -> str:
    """``equation`` over a-z, A-Z: a network of more than 52 classes has other symbols
    (opt_einsum's), which np.einsum refuses; one pair never has that many."""
    letters = dict.fromkeys(ch for ch in equation if ch not in ",->")
    rename = {ch: opt_einsum.get_symbol(n) for n, ch in enumerate(letters)}
    return "".join(rename.get(ch, ch) for ch in equation)


def _broadcast_product(code: Code, left: str, right: str, output: str, operands: list) -> str:
    """``a * b`` with both viewed over the output's letters (size 1 where absent).

    When one operand has every letter of the output, in another order, the product is
    made in that operand's order and handed back as a transposed view: reading it in
    its own order is contiguous, where writing the output's order would stride through
    it (a per-sample Jacobian ``dba,ab->abd`` took twice as long). When each operand
    lacks a letter of the output (an outer product in it), ``np.einsum`` runs it: its
    loops over the missing letters took two thirds of the time of broadcasting
    ``np.multiply`` (per-sample gradients ``ac,ad->adc``: 0.22 against 0.34 ms)."""
    (a, a_shape), (b, b_shape) = operands
    for whole, full, other, (part, part_shape) in (
        (left, a, right, (b, b_shape)),
        (right, b, left, (a, a_shape)),
    ):
        if len(whole) == len(output):
            product = f"np.multiply({full}, {_aligned(part, other, part_shape, whole)})"
            if whole == output:
                return product
            return f"{product}.transpose({tuple(whole.index(ch) for ch in output)})"
    return f"np.einsum({code.constant(_ascii(f'{left},{right}->{output}'))}, {a}, {b})"


def _aligned(name: str, term: str, shape: tuple, output: str) -> str:
    """``name`` (over ``term``'s letters, of ``shape``) as a view over ``output``'s
    letters, size 1 where it has none."""
    order = tuple(term.index(ch) for ch in output if ch in term)
    if list(order) == sorted(order) and all(ch in term for ch in output):
        return name
    sizes = iter(shape[n] for n in order)
    aligned_shape = tuple(next(sizes) if ch in term else 1 for ch in output)
    if list(order) == sorted(order):
        return f"{name}.reshape({aligned_shape})"
    return f"{name}.transpose({order}).reshape({aligned_shape})"


def _matmul(left: str, right: str, output: str, sizes: dict, names: list) -> str:
    """The pair as one (batched) matrix product of permuted, reshaped views.

    Which operand comes first decides the product's orientation, ``X Y`` or ``(Yᵀ Xᵀ)ᵀ``
    (the same numbers). See :func:`_swapped` for the choice."""
    batch = [ch for ch in output if ch in left and ch in right]
    summed = [ch for ch in left if ch in right and ch not in output]
    free_a = [ch for ch in left if ch not in right]
    free_b = [ch for ch in right if ch not in left]

    def size(letters):
        return math.prod(sizes[ch] for ch in letters)

    if _swapped(batch, free_a, free_b, output, size):
        left, right, names = right, left, names[::-1]
        summed, free_a, free_b = [ch for ch in left if ch in summed], free_b, free_a

    shape_a = (size(free_a), size(summed))
    shape_b = (size(summed), size(free_b))
    if batch:  # a stack of products; without one, plain 2-D GEMM
        shape_a, shape_b = (size(batch), *shape_a), (size(batch), *shape_b)
    else:
        shape_a = _stacked(free_a, size, size(summed) * size(free_b)) + shape_a[1:]
    as_a = _as_matrix(names[0], left, batch + free_a + summed, shape_a)
    as_b = _as_matrix(names[1], right, batch + summed + free_b, shape_b)
    natural = batch + free_a + free_b
    full_shape = tuple(sizes[ch] for ch in natural)
    back = tuple(natural.index(ch) for ch in output)
    product = f"np.matmul({as_a}, {as_b}).reshape({full_shape})"
    return product if list(back) == sorted(back) else f"{product}.transpose({back})"


# OpenBLAS (one thread, this machine's Zen kernels) multiplies a tall, narrow product
# faster in the other orientation: 2000×200 times 200×10 took 0.39 ms as X Y and 0.28 ms
# as (Yᵀ Xᵀ)ᵀ, with either operand a transposed view or not (0.66–0.87× for 2000–4000
# rows and 5–50 columns). Below about 2000 rows the better orientation depends on the
# layouts and sizes (1000 × 100 × 10 was 1.44× slower turned), so it is left alone.
TALL_ROWS = 2000
TALL_RATIO = 8


def _swapped(batch: list, free_a: list, free_b: list, output: str, size: Callable) -> bool:
    """Whether the product is computed with the operands swapped: a tall, narrow 2-D
    product turned wide (see TALL_ROWS), and otherwise the orientation whose result is
    already in the output's order, so that later steps read a contiguous array rather than
    stride through a transposed view."""
    if not batch:
        rows, columns = size(free_a), size(free_b)
        if rows >= TALL_ROWS and columns * TALL_RATIO <= rows:
            return True
        if columns >= TALL_ROWS and rows * TALL_RATIO <= columns:
            return False
    in_order, turned = batch + free_a + free_b, batch + free_b + free_a
    return in_order != list(output) and turned == list(output)


# OpenBLAS runs a GEMM on several threads once M·N·K exceeds 4 · 65536. On cores shared
# with other processes a threaded GEMM of moderate size waits for its helper threads to
# be scheduled: 512×64×256 (the per-sample Jacobians of benchmarks/per_sample.py) took
# 0.2–0.4 ms while a core was free and 12–24 ms on two loaded ones, where a stack of
# GEMMs each under the threshold (np.matmul runs a stack one GEMM at a time) took 0.5 ms
# in both. Products up to STACKED_UP_TO (33 MFLOP, a few ms on one core) are therefore
# run as such a stack; larger ones keep OpenBLAS's threads, where they pay off.
THREADED_ABOVE = 4 * 65536
STACKED_UP_TO = 2**24


def _stacked(free_a: list[str], size: Callable, columns: int) -> tuple[int, ...]:
    """The rows of the left operand of a 2-D product (M·N·K for N·K = ``columns``), split
    as ``(stack, rows)`` over its leading free letters when that keeps each product of
    the stack single-threaded, else ``(M,)``."""
    rows = size(free_a)
    if not THREADED_ABOVE < rows * columns <= STACKED_UP_TO:
        return (rows,)
    for split in range(1, len(free_a)):
        rest = size(free_a[split:])
        if rest * columns <= THREADED_ABOVE:
            return (rows,) if rest < 8 else (size(free_a[:split]), rest)
    return (rows,)


def _as_matrix(name: str, term: str, order: list[str], shape: tuple) -> str:
    """``name`` (over ``term``'s letters) permuted to ``order`` and reshaped to ``shape``;
    the permutation is skipped when it is the identity."""
    permutation = tuple(term.index(ch) for ch in order)
    if list(permutation) == sorted(permutation):
        return f"{name}.reshape({shape})"
    return f"{name}.transpose({permutation}).reshape({shape})"
