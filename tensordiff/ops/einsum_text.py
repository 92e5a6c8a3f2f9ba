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

from tensordiff.core.templates import grouped, juxtaposed, product, text, transposed
from tensordiff.text.notation import has_top_level_sum

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
    >>> einsum_written(["ab", ""], "b")("S", "2")
    '2 sum(S, axis=0)'
    >>> einsum_written(["ab", "b", ""], "")("S", "x", "1/3")
    '(1/3) sum(S x)'
    >>> einsum_written(["a", ""], "a")("1 − s", "2")
    '2 (1 − s)'
    >>> einsum_written(["a", "a", "ab"], "b")("u", "g", "M")
    'Mᵀ (u ⊙ g)'
    >>> einsum_written(["a", "ab", "b"], "ab")("u", "S", "v")
    'diag(u) S diag(v)'
    >>> einsum_written(["a", "ab", "b", "bc"], "c") is None  # a chain of three: no form here
    True
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
    parts = [_bracketed_sum(f(exprs)) for f in factors]  # 2 (1 − s), not 2 1 − s
    return text(product([*(grouped(exprs[n]) for n in scalars), *parts]))


def _bracketed_sum(expr: str) -> str:
    return f"({expr})" if has_top_level_sum(expr) else expr


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
    kept letters in the output's order, or None when it has no textbook form. Operands
    over the same letters are one ``⊙`` product first."""
    alike: dict[str, list[int]] = {}
    for n in operands:
        alike.setdefault(inputs[n], []).append(n)
    if len(alike) == 1:  # over the same letters: ⊙, or a dot product
        ((letters, same),) = alike.items()
        if len(same) == 2 and len(letters) == 1 and letters not in output:
            return "", _joined(same, " · ")
        made = letters, _hadamard(same)
    else:
        made = _matrix_product(
            [(letters, _hadamard(same)) for letters, same in alike.items()], output
        )
    return None if made is None else _arranged(*_reduced(*made, output), output)


def _reduced(letters: str, write: Callable, output: str) -> tuple[str, Callable] | tuple:
    """``write`` over ``letters`` summed over those the output lacks: ``sum(a)``, or
    ``sum(A, axis=0)`` for one axis of several."""
    summed = [n for n, c in enumerate(letters) if c not in output]
    if not summed:
        return letters, write
    if len(summed) == len(letters):
        return "", lambda exprs: f"sum({write(exprs)})"
    if len(summed) == 1:
        (axis,) = summed
        return letters.replace(letters[axis], ""), lambda exprs: f"sum({write(exprs)}, axis={axis})"
    return None, None


def _arranged(letters: str | None, write: Callable | None, output: str):
    """``write`` as an array over its letters in the output's order: itself, or its
    transpose; None for any other order."""
    kept = "".join(c for c in output if c in (letters or ""))
    if letters is None or len(kept) != len(letters):
        return None
    if letters == kept:
        return kept, write
    if len(kept) == 2:
        return kept, _transposed(write)
    return None


def _matrix_product(factors: list[tuple[str, Callable]], output: str):
    """``(letters, writer)`` for ``A b``, ``Aᵀ B``, ``A diag(b)``, ``diag(u) A diag(v)``: a
    matrix and one or two vectors or a second matrix, over the letters ``factors`` give;
    None for any other product."""
    factors = sorted(factors, key=lambda factor: -len(factor[0]))  # the matrix first
    (a, matrix), rest = factors[0], factors[1:]
    if len(a) != 2 or any(len(b) > 2 or len(set(a) & set(b)) != 1 for b, _ in rest):
        return None
    if len(rest) == 2:  # diag(u) A diag(v): vectors along both kept axes
        if any(len(b) != 1 for b, _ in rest):
            return None
        (u, left), (v, right) = sorted(rest, key=lambda factor: a.index(factor[0]))
        if (u, v) != (a[0], a[1]) or u not in output or v not in output:
            return None
        return a, lambda exprs: f"diag({left(exprs)}) {grouped(matrix(exprs))} diag({right(exprs)})"
    if len(rest) != 1:
        return None
    ((b, other),) = rest
    (letter,) = set(a) & set(b)
    if letter not in output:  # a matrix product: A's columns against b's rows
        left = matrix if a[1] == letter else _transposed(matrix)
        right = other if len(b) == 1 or b[0] == letter else _transposed(other)
        rows, columns = a.replace(letter, ""), b.replace(letter, "")
        return rows + columns, lambda exprs: juxtaposed(left(exprs), right(exprs))
    if len(b) == 1:  # b scales A's columns, or its rows
        if a[1] == letter:
            return a, lambda exprs: f"{grouped(matrix(exprs))} diag({other(exprs)})"
        return a, lambda exprs: f"diag({other(exprs)}) {grouped(matrix(exprs))}"
    return None


def _transposed(write: Callable) -> Callable:
    return lambda exprs: transposed(write(exprs))


def _hadamard(operands: list[int]) -> Callable:
    return _joined(operands, " ⊙ ")


def _joined(operands: list[int], operator: str) -> Callable:
    def write(exprs):
        if len(operands) == 1:
            return exprs[operands[0]]
        return operator.join(grouped(exprs[n]) for n in operands)

    return write


def _grouped(write: Callable) -> Callable:
    return lambda exprs: grouped(write(exprs))


def _outer(left: Callable, right: Callable) -> Callable:
    return lambda exprs: f"{grouped(left(exprs))} {transposed(right(exprs))}"
