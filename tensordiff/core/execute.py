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


def _ascii(equation: str) -> str:
    """``equation`` over a-z, A-Z: a network of more than 52 classes has other symbols
    (opt_einsum's), which np.einsum refuses; one pair never has that many."""
    letters = dict.fromkeys(ch for ch in equation if ch not in ",->")
    rename = {ch: opt_einsum.get_symbol(n) for n, ch in enumerate(letters)}
    return "".join(rename.get(ch, ch) for ch in equation)


def _broadcast_product(left: str, right: str, output: str) -> Callable:
    """``a * b`` with both viewed over the output's letters (size 1 where absent)."""
    align_a, align_b = _aligner(left, output), _aligner(right, output)
    return lambda a, b: np.multiply(align_a(a), align_b(b))


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
    as_a = _as_matrix(left, batch + free_a + summed, shape_a, sizes)
    as_b = _as_matrix(right, batch + summed + free_b, shape_b, sizes)
    natural = batch + free_a + free_b
    full_shape = tuple(sizes[ch] for ch in natural)
    back = [natural.index(ch) for ch in output]
    if back == sorted(back):
        return lambda a, b: np.matmul(as_a(a), as_b(b)).reshape(full_shape)
    return lambda a, b: np.matmul(as_a(a), as_b(b)).reshape(full_shape).transpose(back)


def _as_matrix(term: str, order: list[str], shape: tuple, sizes: dict) -> Callable:
    """``x`` (over ``term``'s letters) permuted to ``order`` and reshaped to ``shape``;
    the permutation is skipped when it is the identity."""
    permutation = [term.index(ch) for ch in order]
    if permutation == sorted(permutation):
        return lambda x: x.reshape(shape)
    return lambda x: x.transpose(permutation).reshape(shape)
