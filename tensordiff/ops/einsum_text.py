"""How an einsum's value reads: as the textbook writes the product it is.

``einsum('ij,j->i', M, x)`` is ``M x``, ``einsum('a,a,b,->b', s, s, s, −1)`` is
``−(s · s) s`` and ``einsum('a,,->', v, −1, 1/3)`` is ``−(1/3) sum(v)``. Such einsums
are written by users, and by the derivative rules themselves: a second derivative
traces the first one's own einsums, and a spec string is no index notation.

The spec is split into independent parts (operands that share no letter), each written
as a product a textbook knows (``⊙`` of operands over the same letters, ``·`` of two
vectors, ``sum(a)``, ``A b``, ``Aᵀ B``, ``A diag(b)``); the parts' product is the
numbers in front, the scalars, then at most two arrays (``u vᵀ``). A spec with no such
form (a diagonal ``ii``, a partial sum, a third-order product) keeps the einsum call,
which is true, only not textbook.
"""

import functools
from collections.abc import Callable, Sequence

from tensordiff.core.templates import grouped, product, text, transposed

__all__ = ["einsum_written"]


def einsum_written(inputs: Sequence[str], output: str) -> Callable | None:
    """A writer of the value of ``einsum(inputs -> output, ...)`` from its operands'
    texts, or None when the spec has no textbook form.

    >>> einsum_written(["ij", "j"], "i")("M", "x")
    'M x'
    >>> einsum_written(["a", "a", "b", ""], "b")("s", "s", "s", "−1")
    '−(s · s) s'
    >>> einsum_written(["a", "", ""], "")("v", "−1", "1/3")
    '−(1/3) sum(v)'
    >>> einsum_written(["ab", "b", "c", ""], "ac")("K", "s", "s", "−1")
    '−(K s) sᵀ'
    >>> einsum_written(["ii"], "i") is None
    True
    """
    if any(len(set(letters)) != len(letters) for letters in inputs):
        return None  # a diagonal: no product of whole operands
    scalars = [n for n, letters in enumerate(inputs) if not letters]
    parts = []
    for operands in _independent(inputs):
        written = _part(inputs, operands, output)
        if written is None:
            return None
        parts.append(written)
    arrays = [(kept, write) for kept, write in parts if kept]
    factors = [_grouped(write) for kept, write in parts if not kept]  # (s · s) s
    if len(arrays) == 1 and arrays[0][0] == output:
        factors.append(arrays[0][1])
    elif len(arrays) == 2 and len(output) == 2 and arrays[0][0] + arrays[1][0] == output:
        factors.append(_outer(arrays[0][1], arrays[1][1]))  # u vᵀ
    elif arrays:
        return None
    return functools.partial(_written, scalars, factors)


def _written(scalars: list[int], factors: list[Callable], *exprs: str) -> str:
    """The product of the scalar operands and the parts' texts, numbers folded in front (a
    number times ``A b`` or ``a ⊙ b`` scales the whole product: no bracket needed)."""
    return text(product([*(grouped(exprs[n]) for n in scalars), *(f(exprs) for f in factors)]))


def _independent(inputs: Sequence[str]) -> list[list[int]]:
    """The array operands in groups that share no letter with each other, in order."""
    groups: list[tuple[set[str], list[int]]] = []
    for n, letters in enumerate(inputs):
        if not letters:
            continue
        joined = [g for g in groups if g[0] & set(letters)]
        merged = (
            set(letters).union(*(g[0] for g in joined)),
            sorted([n, *(m for g in joined for m in g[1])]),
        )
        groups = [g for g in groups if g not in joined] + [merged]
    return sorted((operands for _, operands in groups), key=min)


def _part(inputs: Sequence[str], operands: list[int], output: str):
    """``(kept letters, writer)`` for the product of ``operands`` (sharing letters), its
    kept letters in the output's order, or None when it has no textbook form."""
    letters = [inputs[n] for n in operands]
    kept = "".join(c for c in output if any(c in s for s in letters))
    summed = {c for s in letters for c in s} - set(output)
    if all(s == letters[0] for s in letters):  # over the same letters: ⊙, ·, sum
        if not summed:
            return _arranged(letters[0], kept, _hadamard(operands))
        if kept:
            return None  # a sum over some axes only
        if len(operands) == 2 and len(letters[0]) == 1:
            return kept, _joined(operands, " · ")
        return kept, _summed(_hadamard(operands))
    if len(operands) == 2:
        return _matrix_product(inputs, operands, kept, summed)
    return None


def _arranged(letters: str, kept: str, write: Callable):
    """``write`` over ``letters`` as an array over ``kept``: itself, or its transpose."""
    if letters == kept:
        return kept, write
    if len(kept) == 2 and letters == kept[::-1]:
        return kept, lambda exprs: transposed(write(exprs))
    return None


def _matrix_product(inputs: Sequence[str], operands: list[int], kept: str, summed: set[str]):
    """``A b``, ``Aᵀ B``, ``A diag(b)`` for two operands of at most two letters sharing one."""
    first, second = operands
    a, b = inputs[first], inputs[second]
    if len(a) < len(b):
        (first, a), (second, b) = (second, b), (first, a)  # the matrix first
    shared = set(a) & set(b)
    if len(a) != 2 or len(shared) != 1 or len(b) > 2:
        return None
    (letter,) = shared
    if letter in summed:  # a matrix product: A's columns against b's rows
        rows = a.replace(letter, "")
        columns = b.replace(letter, "")
        if rows + columns != kept:
            return None
        left = _oriented(first, a[1] == letter)
        right = _oriented(second, b[0] == letter) if len(b) == 2 else _plain(second)
        return kept, lambda exprs: f"{grouped(left(exprs))} {grouped(right(exprs))}"
    if len(b) == 1 and a == kept:  # b scales A's columns, or its rows
        if a[1] == letter:
            return kept, lambda exprs: f"{grouped(exprs[first])} diag({exprs[second]})"
        return kept, lambda exprs: f"diag({exprs[second]}) {grouped(exprs[first])}"
    return None


def _oriented(n: int, upright: bool) -> Callable:
    """Operand ``n`` as written, or transposed."""
    return _plain(n) if upright else lambda exprs: transposed(exprs[n])


def _plain(n: int) -> Callable:
    return lambda exprs: exprs[n]


def _hadamard(operands: list[int]) -> Callable:
    return _joined(operands, " ⊙ ")


def _joined(operands: list[int], operator: str) -> Callable:
    def write(exprs):
        if len(operands) == 1:
            return exprs[operands[0]]
        return operator.join(grouped(exprs[n]) for n in operands)

    return write


def _summed(write: Callable) -> Callable:
    return lambda exprs: f"sum({write(exprs)})"


def _grouped(write: Callable) -> Callable:
    return lambda exprs: grouped(write(exprs))


def _outer(left: Callable, right: Callable) -> Callable:
    return lambda exprs: f"{grouped(left(exprs))} {transposed(right(exprs))}"
