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
    >>> einsum_written(["a", "ab", "b", "bc"], "c")("u", "S", "v", "T")
    'Tᵀ diag(v) Sᵀ u'
    >>> einsum_written(["abc", "b"], "ac") is None  # three letters: no matrix product
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
    factors = [write for kept, write in parts if not kept]
    scalar_parts = len(factors)  # (s · s), sum(v): the arrays' product follows them
    if len(arrays) == 1 and arrays[0][0] == output:
        factors.append(arrays[0][1])
    elif len(arrays) == 2 and len(output) == 2 and arrays[0][0] + arrays[1][0] == output:
        factors.append(_outer(arrays[0][1], arrays[1][1]))  # u vᵀ
    elif arrays:
        return None
    return functools.partial(_written, scalars, scalar_parts, factors)


def _written(scalars: list[int], scalar_parts: int, factors: list[Callable], *exprs: str) -> str:
    """The product of the scalar operands and the parts' texts, numbers folded in front (a
    number times ``A b`` or ``a ⊙ b`` scales the whole product: no bracket needed)."""
    parts = [_bracketed_sum(f(exprs)) for f in factors]  # 2 (1 − s), not 2 1 − s
    if len(parts) + len(scalars) > 1:  # (s · s) s: a scalar product is one factor
        parts = [grouped(part) for part in parts[:scalar_parts]] + parts[scalar_parts:]
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
        made = _chain([(letters, _hadamard(same)) for letters, same in alike.items()], output)
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


def _chain(factors: list[tuple[str, Callable]], output: str):
    """``(letters, writer)`` for a chain of matrix products: matrices linked by shared
    letters into one path (``A B``, ``Aᵀ B``), a vector on a letter inside it or kept at
    its end as a diagonal (``A diag(b)``, ``diag(u) A diag(v)``), one on a summed end as
    the product's first row or last column (``uᵀ A``, ``A b``); the letters are the
    result's axes. None for any other product (three letters, a tree, a cycle).

    >>> letters, write = _chain([("a", _at(0)), ("ab", _at(1)), ("bc", _at(2))], "ac")
    >>> letters, write(["v", "S", "T"])
    ('ac', 'diag(v) S T')
    >>> letters, write = _chain([("b", _at(0)), ("ab", _at(1)), ("cb", _at(2))], "ac")
    >>> letters, write(["v", "S", "T"])
    ('ac', 'S diag(v) Tᵀ')
    """
    if any(len(letters) > 2 for letters, _ in factors):
        return None
    matrices = [(letters, write) for letters, write in factors if len(letters) == 2]
    vectors = {letters: write for letters, write in factors if len(letters) == 1}
    path = _path(matrices)
    if path is None:
        return None
    letters, pieces = path
    if set(vectors) - set(letters):
        return None  # a vector on no letter of the path: no product of these
    summed_vector = [c in vectors and c not in output for c in (letters[0], letters[-1])]
    if summed_vector == [True, False]:  # Mᵀ u, not uᵀ M: a vector is a column
        letters, pieces = letters[::-1], [_transposed(write) for write in pieces[::-1]]
    ends = {0: letters[0], len(letters) - 1: letters[-1]}
    # the result's axes: the ends no vector sums away (a sum over one is left to _reduced)
    kept = [c for c in ends.values() if c in output or c not in vectors]
    written = []
    for n, letter in enumerate(letters):
        vector = vectors.get(letter)
        if vector is not None:
            inside = n not in ends or letter in output
            written.append(_diagonal(vector) if inside else vector if n else _transposed(vector))
        if n < len(pieces):
            written.append(pieces[n])
    return "".join(kept), lambda exprs: juxtaposed(*(write(exprs) for write in written))


def _path(matrices: list[tuple[str, Callable]]):
    """The letters along a path of matrices (each linking two letters, in order) and each
    matrix as written along it (transposed where it runs backwards); None unless the
    matrices make one path. No matrix: the one letter of a vector's path, found later."""
    if not matrices:
        return None
    remaining = list(matrices)
    letters, pieces = list(remaining[0][0]), [remaining.pop(0)[1]]
    while remaining:
        for n, (pair, write) in enumerate(remaining):
            if pair[0] == letters[-1] and pair[1] not in letters:  # onward: A[k,l]
                letters.append(pair[1])
                pieces.append(write)
            elif pair[1] == letters[-1] and pair[0] not in letters:  # onward, transposed
                letters.append(pair[0])
                pieces.append(_transposed(write))
            elif pair[1] == letters[0] and pair[0] not in letters:  # before: A[j,k]
                letters.insert(0, pair[0])
                pieces.insert(0, write)
            elif pair[0] == letters[0] and pair[1] not in letters:  # before, transposed
                letters.insert(0, pair[1])
                pieces.insert(0, _transposed(write))
            else:
                continue
            remaining.pop(n)
            break
        else:
            return None  # a branch or a cycle: no chain
    return "".join(letters), pieces


def _at(n: int) -> Callable:
    """The writer of operand ``n`` as it is."""
    return lambda exprs: exprs[n]


def _diagonal(write: Callable) -> Callable:
    return lambda exprs: f"diag({write(exprs)})"


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


def _outer(left: Callable, right: Callable) -> Callable:
    return lambda exprs: f"{grouped(left(exprs))} {transposed(right(exprs))}"
