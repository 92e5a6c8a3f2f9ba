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

__all__ = ["LoweredPath"]


class LoweredPath:
    """``equation`` on operands of ``shapes``, contracted pairwise along ``path``."""

    def __init__(self, equation: str, shapes: Sequence[tuple[int, ...]], path: Sequence[tuple]):
        _, info = opt_einsum.contract_path(
            equation, *shapes, shapes=True, optimize=[tuple(p) for p in path]
        )
        sizes = dict(info.size_dict)
        self.steps = []
        for positions, _, pair_equation, _, _ in info.contraction_list:
            inputs, output = pair_equation.split("->")
            self.steps.append((positions, _lower(inputs.split(","), output, sizes)))

    def __call__(self, *arrays):
        operands = list(arrays)
        for positions, run in self.steps:
            picked = [operands.pop(n) for n in positions]
            operands.append(run(*picked))
        return operands[0]


def _lower(inputs: list[str], output: str, sizes: dict) -> Callable:
    """The NumPy call computing ``inputs -> output`` for operands of these letters' sizes."""
    equation = _ascii(",".join(inputs) + "->" + output)
    whole = [n for n, term in enumerate(inputs) if term]
    if len(inputs) > 1 and len(whole) == 1 and inputs[whole[0]] == output:
        return _scaled(whole[0])  # an operand times 0-d ones (scale factors): no einsum
    if len(inputs) != 2 or any(len(set(term)) != len(term) for term in (*inputs, output)):
        return lambda *arrays: np.einsum(equation, *arrays)
    left, right = inputs
    every = set(left) | set(right)
    if every == set(output):
        return _broadcast_product(left, right, output)
    shared = set(left) & set(right)
    if every - set(output) == shared - set(output) and set(output) <= every:
        return _matmul(left, right, output, sizes)
    return lambda a, b: np.einsum(equation, a, b)


def _scaled(position: int) -> Callable:
    """The product of the operand at ``position`` and 0-d ones: the 0-d ones are
    multiplied together first, so the operand is passed over once."""

    def product(*arrays):
        scales = [a for n, a in enumerate(arrays) if n != position]
        return np.multiply(arrays[position], math.prod(scales[1:], start=scales[0]))

    return product


def _ascii(equation: str) -> str:
    """``equation`` over a-z, A-Z: a network of more than 52 classes has other symbols
    (opt_einsum's), which np.einsum refuses; one pair never has that many."""
    letters = dict.fromkeys(ch for ch in equation if ch not in ",->")
    rename = {ch: opt_einsum.get_symbol(n) for n, ch in enumerate(letters)}
    return "".join(rename.get(ch, ch) for ch in equation)


def _broadcast_product(left: str, right: str, output: str) -> Callable:
    """``a * b`` with both viewed over the output's letters (size 1 where absent).

    When one operand has every letter of the output, in another order, the product is
    made in that operand's order and handed back as a transposed view: reading it in
    its own order is contiguous, where writing the output's order would stride through
    it (a per-sample Jacobian ``dba,ab->abd`` took twice as long). When each operand
    lacks a letter of the output (an outer product in it), ``np.einsum`` runs it: its
    loops over the missing letters took two thirds of the time of broadcasting
    ``np.multiply`` (per-sample gradients ``ac,ad->adc``: 0.22 against 0.34 ms)."""
    for whole, other, whole_first in ((left, right, True), (right, left, False)):
        if len(whole) == len(output):
            return _in_order_of(whole, other, output, whole_first)
    equation = _ascii(f"{left},{right}->{output}")
    return lambda a, b: np.einsum(equation, a, b)


def _in_order_of(whole: str, other: str, output: str, whole_first: bool) -> Callable:
    """The product of an operand over every output letter (``whole``) and one over some,
    made in ``whole``'s order and viewed in the output's."""
    align = _aligner(other, whole)
    back = [whole.index(ch) for ch in output]

    def product(a, b):
        full, part = (a, b) if whole_first else (b, a)
        result = np.multiply(full, align(part))
        return result if whole == output else result.transpose(back)

    return product


def _aligner(term: str, output: str) -> Callable:
    order = [term.index(ch) for ch in output if ch in term]
    shape_of = [ch in term for ch in output]
    if order == sorted(order) and all(shape_of):
        return lambda x: x

    def align(x):
        x = x.transpose(order)
        sizes = iter(x.shape)
        return x.reshape([next(sizes) if present else 1 for present in shape_of])

    return align


def _matmul(left: str, right: str, output: str, sizes: dict) -> Callable:
    """The pair as one (batched) matrix product of permuted, reshaped views."""
    batch = [ch for ch in output if ch in left and ch in right]
    summed = [ch for ch in left if ch in right and ch not in output]
    free_a = [ch for ch in left if ch not in right]
    free_b = [ch for ch in right if ch not in left]

    def size(letters):
        return math.prod(sizes[ch] for ch in letters)

    shape_a = (size(free_a), size(summed))
    shape_b = (size(summed), size(free_b))
    if batch:  # a stack of products; without one, plain 2-D GEMM
        shape_a, shape_b = (size(batch), *shape_a), (size(batch), *shape_b)
    else:
        shape_a = _stacked(free_a, size, size(summed) * size(free_b)) + shape_a[1:]
    as_a = _as_matrix(left, batch + free_a + summed, shape_a, sizes)
    as_b = _as_matrix(right, batch + summed + free_b, shape_b, sizes)
    natural = batch + free_a + free_b
    full_shape = tuple(sizes[ch] for ch in natural)
    back = [natural.index(ch) for ch in output]
    if back == sorted(back):
        return lambda a, b: np.matmul(as_a(a), as_b(b)).reshape(full_shape)
    return lambda a, b: np.matmul(as_a(a), as_b(b)).reshape(full_shape).transpose(back)


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


def _as_matrix(term: str, order: list[str], shape: tuple, sizes: dict) -> Callable:
    """``x`` (over ``term``'s letters) permuted to ``order`` and reshaped to ``shape``;
    the permutation is skipped when it is the identity."""
    permutation = [term.index(ch) for ch in order]
    if permutation == sorted(permutation):
        return lambda x: x.reshape(shape)
    return lambda x: x.transpose(permutation).reshape(shape)
