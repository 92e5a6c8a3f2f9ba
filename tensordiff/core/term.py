"""A term: a product of dense factors and Kronecker deltas, with axes made of classes.

This is the structure that keeps Jacobians cheap. Every axis of a term is a
*composite* of index classes, major to minor: an axis of size 6 may be the
single class ``(c,)`` or the pair ``(a, b)`` of sizes 2 and 3 (which is how
reshapes stay structured). A class that occurs on two axes is a Kronecker
delta between them; a class that occurs in no factor is constant along that
axis (broadcast); a class that occurs in factors but on no axis is summed.
Classes of size 1 are never stored: an axis of size 1 is the empty composite.

So ``∂(W x)/∂W`` with labels ``V[i] / W[j,k]`` is the term with axes
``((a,), (a,), (b,))`` and the single factor ``x`` over ``(b,)``: O(n) numbers
for an array of m·m·n entries.

Terms are immutable. Class ids are ints from one global counter, so two terms
never share a class by accident; :func:`contract` unifies classes explicitly.
"""

import itertools
import math
import operator
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tensordiff.core import paths, templates
from tensordiff.errors import ShapeError

__all__ = [
    "Term",
    "Factor",
    "squeezed",
    "fresh_class",
    "axis_classes",
    "contract_terms",
    "align_to",
    "diagonal",
    "joined",
]

# Process-wide on purpose: ids must differ across threads too, and next() on an
# itertools.count is atomic under the GIL, so concurrent callers never share one.
_class_ids = itertools.count()

# By default a term keeps its factors apart (lazy) so opt_einsum can order the whole
# product; past this many it is collapsed to one factor to keep planning cheap.
MAX_LAZY_FACTORS = 8


_reserving = threading.Lock()


def fresh_class() -> int:
    """A class id no other term uses."""
    return next(_class_ids)


def reserve_classes_up_to(largest: int) -> None:
    """Make :func:`fresh_class` return ids above ``largest`` from now on."""
    global _class_ids
    with _reserving:
        current = next(_class_ids)
        if current <= largest:
            _class_ids = itertools.count(largest + 1)


def _loaded(factors, axes, sizes, names, intermediates=()) -> "Term":
    """A term unpickled here. Its ids come from the counter of the process that made it,
    so this process's counter first moves past them: a fresh class (a block's new axis,
    a renamed copy) must never be one of the term's own. The intermediates its names use
    are entered in this process's table (see :func:`templates.exported`)."""
    names = tuple(templates.imported(names, intermediates))
    ids = [c for axis in axes for c in axis]
    ids += [c for _, classes in factors for c in classes]
    ids += [c for name in names for c in templates.classes_in(name)]
    reserve_classes_up_to(max([*ids, *sizes], default=-1))
    return Term(factors, axes, sizes, names)


def axis_classes(shape: Sequence[int]) -> tuple[tuple[tuple[int, ...], ...], dict[int, int]]:
    """A fresh class per axis of ``shape`` (none for size-1 axes): ``(axes, sizes)``."""
    axes = tuple((fresh_class(),) if size != 1 else () for size in shape)
    sizes = {axis[0]: size for axis, size in zip(axes, shape, strict=True) if axis}
    return axes, sizes


Factor = tuple[np.ndarray, tuple[int, ...]]


def squeezed(array, classes: Sequence[int | None]) -> Factor:
    """A factor from ``array`` whose axes carry ``classes``, its size-1 axes dropped (a class
    of size 1 is never stored; their entries in ``classes`` may be None).

    >>> array, classes = squeezed(np.ones((2, 1, 3)), (7, None, 8))
    >>> array.shape, classes
    ((2, 3), (7, 8))
    """
    shape = np.shape(array)
    keep = [n for n, size in enumerate(shape) if size != 1]
    # Always a new view, even with nothing to drop: sums factor out only factors that are
    # the very same object (see tensordiff.core.sums), and two rules' factors are not.
    return array.reshape([shape[n] for n in keep]), tuple(classes[n] for n in keep)


@dataclass(frozen=True, slots=True, eq=False)
class Term:
    """Dense factors times deltas; see the module docstring."""

    factors: tuple[Factor, ...]
    axes: tuple[tuple[int, ...], ...]
    sizes: Mapping[int, int]
    # a name template per factor (see tensordiff.core.templates); may be empty
    names: tuple[str, ...] = ()

    @property
    def stored_nbytes(self) -> int:
        return sum(array.nbytes for array, _ in self.factors)

    def __reduce__(self):
        names, intermediates = templates.exported(self.names)
        return _loaded, (self.factors, self.axes, dict(self.sizes), tuple(names), intermediates)

    @classmethod
    def dense(cls, array: np.ndarray, name: str = "T") -> "Term":
        """A term with one factor holding ``array`` and no deltas."""
        shape = np.shape(array)
        axes, sizes = axis_classes(shape)
        classes = tuple(axis[0] for axis in axes if axis)  # (a size-1 axis has none)
        # what squeezed() makes, the classes known already: a new view, size-1 axes dropped
        factor = (array.reshape([size for size in shape if size != 1]), classes)
        return cls((factor,), axes, sizes, (templates.leaf(name, classes),))

    def factor_names(self) -> tuple[str, ...]:
        """A name template per factor; factors nobody named are called F."""
        if len(self.names) == len(self.factors):
            return self.names
        return tuple(_default_name(array, classes) for array, classes in self.factors)

    def product_name(self, keep: Sequence[int]) -> str:
        """The template of the product of the factors, classes not in ``keep`` summed."""
        summed = [
            c for c in dict.fromkeys(c for _, cl in self.factors for c in cl) if c not in keep
        ]
        return templates.product(self.factor_names(), summed)

    def out_classes(self) -> tuple[int, ...]:
        """Distinct classes on the axes, in order of first appearance."""
        return tuple(dict.fromkeys(c for axis in self.axes for c in axis))

    def classes(self) -> set[int]:
        """Every class the term uses: on its axes and in its factors."""
        return set(self.sizes).union(*(classes for _, classes in self.factors))

    def factor_classes(self) -> set[int]:
        return {c for _, classes in self.factors for c in classes}

    def core_classes(self) -> tuple[int, ...]:
        """The classes on the axes that some factor mentions, in axis order: what the
        product of the factors is evaluated over (the other axes are deltas or constant)."""
        in_factors = self.factor_classes()
        return tuple(c for c in self.out_classes() if c in in_factors)

    def core(self, classes: Sequence[int]) -> np.ndarray:
        """The product of the factors as an array over ``classes``, other classes summed.

        ``classes`` must all occur in some factor; classes on no factor are constants
        and are added by the caller through broadcasting.
        """
        if not self.factors:
            return np.ones(())
        return paths.einsum_classes(self.factors, tuple(classes))

    def collapsed(self) -> "Term":
        """The same term with its factors multiplied into one."""
        keep = self.core_classes()
        core = self.core(keep)
        return Term(((core, keep),), self.axes, self.sizes, (self.product_name(keep),))

    def structure_key(self) -> tuple:
        """Equal for terms whose delta pattern is the same up to renaming classes."""
        canonical = {c: n for n, c in enumerate(self.out_classes())}
        return tuple(tuple((canonical[c], self.sizes[c]) for c in axis) for axis in self.axes)


def _default_name(array, classes) -> str:
    if not classes and np.size(array) == 1 and isinstance(array, (np.ndarray, np.generic)):
        return templates.number(array)
    return templates.leaf("F", classes)


def _classes_of(terms: Sequence[Term]) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for term in terms:
        sizes.update(term.sizes)
    return sizes


def renamed(term: Term) -> Term:
    """A copy of ``term`` with fresh class ids (to contract a tensor with itself)."""
    mapping = {c: fresh_class() for c in term.sizes}
    for _, classes in term.factors:
        for c in classes:
            if c not in mapping:  # summed classes are not always listed in sizes
                mapping[c] = fresh_class()
    return Term(
        tuple((array, tuple(mapping[c] for c in classes)) for array, classes in term.factors),
        tuple(tuple(mapping[c] for c in axis) for axis in term.axes),
        {mapping[c]: size for c, size in term.sizes.items()},
        tuple(templates.substitute(n, {c: (d,) for c, d in mapping.items()}) for n in term.names),
    )


class _Classes:
    """Union-find over class ids, plus splits of a class into finer classes."""

    def __init__(self, sizes: dict[int, int]):
        self.sizes = sizes
        self.parent: dict[int, int] = {}
        self.splits: dict[int, tuple[int, int]] = {}

    def find(self, c: int) -> int:
        root = c
        while root in self.parent:
            root = self.parent[root]
        while c != root:  # path compression
            self.parent[c], c = root, self.parent[c]
        return root

    def leaves(self, composite: Sequence[int]) -> list[int]:
        if not self.splits:  # the common case: no reshape to line up
            return [self.find(c) for c in composite]
        out: list[int] = []
        stack = list(reversed(composite))
        while stack:
            c = self.find(stack.pop())
            if c in self.splits:
                stack.extend(reversed(self.splits[c]))
            else:
                out.append(c)
        return out

    def split(self, c: int, major: int) -> None:
        size = self.sizes[c]
        first, second = fresh_class(), fresh_class()
        self.sizes[first], self.sizes[second] = major, size // major
        self.splits[c] = (first, second)

    def align(self, a: Sequence[int], b: Sequence[int]) -> bool:
        """Unify two composites of equal total size; False if a split was needed first."""
        a, b = self.leaves(a), self.leaves(b)
        # Lengths differ until the splits below make the two piece lists match.
        for x, y in zip(a, b, strict=False):
            sx, sy = self.sizes[x], self.sizes[y]
            if sx == sy:
                continue
            small, large = (x, y) if sx < sy else (y, x)
            if self.sizes[large] % self.sizes[small]:
                raise ShapeError(
                    "cannot line up two axis layouts of the same size"
                    f" ({[self.sizes[c] for c in a]} against {[self.sizes[c] for c in b]});"
                    " materialise one side with np.asarray first"
                )
            self.split(large, self.sizes[small])
            return False
        for x, y in zip(a, b, strict=True):
            x, y = self.find(x), self.find(y)
            if x != y:
                self.parent[y] = x
        return True


def contract_terms(
    operands: Sequence[tuple[Term, Sequence]],
    out_labels: Sequence,
    max_factors: int | None = MAX_LAZY_FACTORS,
) -> Term:
    """Contract labelled terms: shared labels are unified, and summed unless in ``out_labels``.

    Labels may be any hashables; the caller has checked that labels of equal name
    have equal sizes and that every output label occurs. A result with more than
    ``max_factors`` factors is multiplied out into one (None: never).
    """
    terms, seen = [], set()
    for term, _ in operands:
        if term.classes() & seen:  # the same term twice, or terms that share a class
            term = renamed(term)
        seen |= term.classes()
        terms.append(term)
    classes = _Classes(_classes_of(terms))
    by_label: dict = {}
    for term, (_, labels) in zip(terms, operands, strict=True):
        for label, axis in zip(labels, term.axes, strict=True):
            by_label.setdefault(label, []).append(axis)

    settled = False
    while not settled:
        settled = all(
            classes.align(composites[0], other)
            for composites in by_label.values()
            for other in composites[1:]
        )

    factors: list[Factor] = []
    factor_names: list[str] = []
    # Only classes on the contracted axes were unified or split; a factor (and its
    # name, whose other classes are summed inside it) away from them is kept as is.
    changed = set(classes.parent) | set(classes.splits)
    for term in terms:
        for (array, factor_classes), name in zip(term.factors, term.factor_names(), strict=True):
            if changed.isdisjoint(factor_classes):
                factors.append((array, tuple(factor_classes)))
                factor_names.append(name)
                continue
            leaves = {
                c: classes.leaves((c,)) for c in templates.classes_in(name) + list(factor_classes)
            }
            flat = tuple(c for original in factor_classes for c in leaves[original])
            if len(flat) != array.ndim:
                array = array.reshape([classes.sizes[c] for c in flat])
            factors.append((array, flat))
            moved = any(leaves[c] != [c] for c in leaves)
            factor_names.append(templates.substitute(name, leaves) if moved else name)

    axes = tuple(tuple(classes.leaves(by_label[label][0])) for label in out_labels)
    on_axes = {c for axis in axes for c in axis}
    in_factors = {c for _, flat in factors for c in flat}
    every = {
        c for composites in by_label.values() for axis in composites for c in classes.leaves(axis)
    }
    # A class summed away that no factor mentions is a sum of ones: its size.
    multiplicity = math.prod(classes.sizes[c] for c in every - on_axes - in_factors)
    if multiplicity != 1:
        factors.append((np.asarray(float(multiplicity)), ()))
        factor_names.append(f"{multiplicity}")
    sizes = {c: classes.sizes[c] for c in on_axes | in_factors}
    result = Term(tuple(factors), axes, sizes, tuple(factor_names))
    if max_factors is not None and len(factors) > max_factors:
        result = result.collapsed()
    return result


def align_to(core: np.ndarray, classes: list[int], order: list[int]) -> np.ndarray:
    """``core`` over ``classes`` transposed to ``order`` with size-1 axes for the missing ones."""
    if len(classes) == len(order) and all(map(operator.eq, classes, order)):
        return core  # already aligned: the common case of a dense write
    present = [c for c in order if c in classes]
    core = np.transpose(core, [classes.index(c) for c in present]) if present else core
    shape = [core.shape[present.index(c)] if c in classes else 1 for c in order]
    return core.reshape(shape)


def joined(term: Term, axis1: int, axis2: int) -> bool:
    """True when the two axes carry the same classes: a delta joins them, so every entry
    off their diagonal is zero.

    >>> joined(Term((), ((0,), (0,), (1,)), {0: 2, 1: 3}), 0, 1)
    True
    """
    return term.axes[axis1] == term.axes[axis2]


def diagonal(term: Term, axis1: int, axis2: int) -> Term:
    """The term of ``np.diagonal(dense, 0, axis1, axis2)``: the two axes (of equal size)
    become one, put last.

    Where the two axes are joined by a delta this only drops one of them; otherwise the
    two classes are unified, and a factor holding both is cut to its diagonal.

    >>> t = Term(((np.arange(4.0).reshape(2, 2), (0, 1)),), ((0,), (1,)), {0: 2, 1: 2})
    >>> d = diagonal(t, 0, 1)
    >>> d.axes == ((0,),), d.factors[0][0]
    (True, array([0., 3.]))
    """
    labels = list(range(len(term.axes)))
    labels[axis2] = axis1  # one label on both axes: contracting unifies their classes
    out = [label for n, label in enumerate(labels) if n not in (axis1, axis2)] + [axis1]
    joined = contract_terms([(term, labels)], out, max_factors=None)
    factors = tuple(_diagonal_factor(array, classes) for array, classes in joined.factors)
    return Term(factors, joined.axes, joined.sizes, joined.names)


def _diagonal_factor(array, classes: tuple[int, ...]) -> Factor:
    """A factor whose classes may repeat, as one over each class once (its diagonal)."""
    distinct = tuple(dict.fromkeys(classes))
    if len(distinct) == len(classes):
        return array, classes
    position = {c: n for n, c in enumerate(distinct)}  # einsum's sublists take small ints
    return np.einsum(array, [position[c] for c in classes], list(range(len(distinct)))), distinct
