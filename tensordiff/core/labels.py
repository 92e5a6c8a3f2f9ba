"""Label handling: parse user label specs and make default labels.

A label spec is either a string of one-letter labels (``"ij"``) or a sequence
of names (``("row", "col")``). Labels of one tensor are distinct.
"""

import functools
from collections.abc import Iterable, Sequence

from tensordiff.errors import ShapeError

__all__ = ["parse_labels", "default_labels", "labels_for"]

# Default labels follow the textbook habit: i, j, k, ... then a, b, ... then l2, l3, ...
_DEFAULT_ALPHABET = "ijklmnpqrstuvwxyzabcdefgh"


def parse_labels(spec: str | Sequence[str], ndim: int, what: str = "tensor") -> tuple[str, ...]:
    """Turn a label spec into a tuple of ``ndim`` distinct labels.

    >>> parse_labels("ij", 2)
    ('i', 'j')
    >>> parse_labels(("row", "col"), 2)
    ('row', 'col')
    """
    if isinstance(spec, str):
        labels = tuple(spec)
    elif isinstance(spec, Iterable):
        labels = tuple(spec)
        bad = [label for label in labels if not isinstance(label, str) or not label]
        if bad:
            raise ShapeError(f"labels of {what} must be non-empty strings, got {bad!r}")
    else:
        raise ShapeError(
            f"labels of {what} must be a string like 'ij' or a sequence of names, got {spec!r}"
        )
    if len(labels) != ndim:
        raise ShapeError(
            f"{what} has {ndim} axes but {len(labels)} labels {labels!r} were given;"
            f" give exactly one label per axis"
        )
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ShapeError(
            f"labels of {what} must be distinct, but {repeated} repeat in {labels!r};"
            " a repeated label (a diagonal) is written with td.contract instead"
        )
    return labels


def default_labels(count: int, avoid: Iterable[str] = ()) -> tuple[str, ...]:
    """The first ``count`` default labels not in ``avoid``.

    >>> default_labels(3)
    ('i', 'j', 'k')
    >>> default_labels(2, avoid=("i",))
    ('j', 'k')
    """
    return _first_free(count, frozenset(avoid))


# Every derivative call labels its output and arguments, almost always with the same few
# counts and taken labels: the answer is looked up, not searched for, on later calls.
@functools.lru_cache(maxsize=1024)
def _first_free(count: int, taken: frozenset) -> tuple[str, ...]:
    """:func:`default_labels` (a tuple of strings, so sharing it is safe)."""
    taken = set(taken)
    labels: list[str] = []
    candidates = iter(_DEFAULT_ALPHABET)
    extra = 2
    while len(labels) < count:
        label = next(candidates, None)
        if label is None:
            label, extra = f"l{extra}", extra + 1
        if label not in taken:
            labels.append(label)
            taken.add(label)
    return tuple(labels)


def labels_for(spec, ndim: int, what: str, avoid: Iterable[str] = ()) -> tuple[str, ...]:
    """The labels ``spec`` gives (checked), or the defaults avoiding ``avoid`` if it is None.

    >>> labels_for(None, 2, "x", avoid=("i",)), labels_for("ab", 2, "x")
    (('j', 'k'), ('a', 'b'))
    """
    if spec is None:
        return default_labels(ndim, avoid=avoid)
    if type(spec) is tuple and not spec and not ndim:  # a scalar's (td.grad's out=())
        return ()
    return parse_labels(spec, ndim, what)
