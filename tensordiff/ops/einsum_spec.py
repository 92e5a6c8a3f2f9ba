"""Parse every einsum spec NumPy accepts into explicit letters.

``'...ij,jk'`` becomes ``(['ABij', 'jk'], 'ABik')``-style lists with the ellipsis
spelled out as letters, right-aligned and broadcast like NumPy does, and the
implicit output (no ``->``) filled in. The interleaved form
``einsum(a, [0, 1], b, [1, 2], [0, 2])`` is accepted too.
"""

import functools
import string
from collections.abc import Sequence

from tensordiff.errors import ShapeError

__all__ = ["parse_einsum", "split_einsum_args"]


def split_einsum_args(args: Sequence) -> tuple[str, list]:
    """``(subscripts, operands)`` from the positional arguments of ``np.einsum``."""
    if args and isinstance(args[0], str):
        return args[0], list(args[1:])
    operands, sublists = list(args[0::2]), list(args[1::2])
    output = None
    if len(sublists) < len(operands):  # odd count: the last item is the output sublist
        output = operands.pop()
    symbols: dict = {}

    def letters(sublist) -> str:
        out = []
        for item in sublist:
            if item is Ellipsis:
                out.append("...")
            else:
                if item not in symbols:
                    symbols[item] = string.ascii_letters[len(symbols)]
                out.append(symbols[item])
        return "".join(out)

    spec = ",".join(letters(sublist) for sublist in sublists)
    if output is not None:
        spec += "->" + letters(output)
    return spec, operands


def parse_einsum(subscripts: str, shapes: Sequence[tuple[int, ...]]) -> tuple[list[str], str]:
    """Input letter strings and the output letter string, with no ellipsis left.

    >>> parse_einsum("ij,jk", [(2, 3), (3, 4)])
    (['ij', 'jk'], 'ik')
    >>> parse_einsum("...i,i->...", [(5, 2, 3), (3,)])
    (['ABi', 'i'], 'AB')
    """
    # every matmul and einsum of a traced call parses: the same few subscripts and shapes
    inputs, output = _parsed(subscripts, tuple(tuple(shape) for shape in shapes))
    return list(inputs), output


@functools.lru_cache(maxsize=1024)
def _parsed(subscripts: str, shapes: tuple[tuple[int, ...], ...]) -> tuple[tuple[str, ...], str]:
    spec = subscripts.replace(" ", "")
    bad = sorted({ch for ch in spec if not (ch in string.ascii_letters or ch in ".,->")})
    if bad:
        raise ShapeError(f"einsum subscripts {subscripts!r} contain invalid characters {bad}")
    lhs, arrow, rhs = spec.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ShapeError(
            f"einsum subscripts {subscripts!r} name {len(terms)} operands but"
            f" {len(shapes)} were given"
        )
    used = set(spec) & set(string.ascii_letters)
    spare = [ch for ch in string.ascii_uppercase + string.ascii_lowercase if ch not in used]
    ellipsis_ndims = []
    for term, shape in zip(terms, shapes, strict=True):
        explicit = len(term.replace("...", ""))
        if "..." in term:
            ellipsis_ndims.append(len(shape) - explicit)
        elif explicit != len(shape):
            raise ShapeError(
                f"einsum term {term!r} has {explicit} letters but its operand has shape {shape}"
            )
        if "." in term.replace("...", "") or term.count("...") > 1:
            raise ShapeError(f"einsum term {term!r} has a malformed ellipsis")
    if any(n < 0 for n in ellipsis_ndims):
        raise ShapeError(f"einsum subscripts {subscripts!r} have more letters than axes")
    width = max(ellipsis_ndims, default=0)
    broadcast = "".join(spare[:width])
    inputs = []
    for term, shape in zip(terms, shapes, strict=True):
        if "..." in term:
            n = len(shape) - len(term.replace("...", ""))
            term = term.replace("...", broadcast[width - n :])
        inputs.append(term)
    if arrow:
        if "..." not in rhs and width:
            raise ShapeError(
                f"einsum subscripts {subscripts!r}: the output has no '...' but the inputs"
                " have broadcast axes; add '...' to the output"
            )
        output = rhs.replace("...", broadcast)
    else:
        counts = {ch: lhs.count(ch) for ch in set(lhs) & set(string.ascii_letters)}
        output = broadcast + "".join(sorted(ch for ch, n in counts.items() if n == 1))
    _check(subscripts, inputs, output, shapes)
    return tuple(inputs), output


def _check(subscripts: str, inputs: list[str], output: str, shapes) -> None:
    letters = set("".join(inputs))
    for ch in output:
        if ch not in letters:
            raise ShapeError(f"einsum output letter {ch!r} in {subscripts!r} is in no input")
        if output.count(ch) > 1:
            raise ShapeError(f"einsum output letter {ch!r} repeats in {subscripts!r}")
    sizes: dict[str, int] = {}
    for term, shape in zip(inputs, shapes, strict=True):
        for ch, size in zip(term, shape, strict=True):
            known = sizes.get(ch, 1)
            if size != 1 and known != 1 and size != known:
                raise ShapeError(
                    f"einsum letter {ch!r} has sizes {known} and {size} in {subscripts!r}"
                    f" (shapes {[tuple(s) for s in shapes]})"
                )
            sizes[ch] = max(known, size)
