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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tensordiff import names, planner
from tensordiff.errors import ShapeError

__all__ = ["Term", "fresh_class", "axis_classes", "contract", "add_terms", "write_dense"]

_class_ids = itertools.count()

# By default a term keeps its factors apart (lazy) so opt_einsum can order the whole
# product; past this many it is collapsed to one factor to keep planning cheap.
MAX_LAZY_FACTORS = 8


def fresh_class() -> int:
    """A class id no other term uses."""
    return next(_class_ids)


def axis_classes(shape: Sequence[int]) -> tuple[tuple[tuple[int, ...], ...], dict[int, int]]:
    """A fresh class per axis of ``shape`` (none for size-1 axes): ``(axes, sizes)``."""
    axes = tuple((fresh_class(),) if size != 1 else () for size in shape)
    sizes = {axis[0]: size for axis, size in zip(axes, shape, strict=True) if axis}
    return axes, sizes


Factor = tuple[np.ndarray, tuple[int, ...]]


@dataclass(frozen=True, slots=True, eq=False)
class Term:
    """Dense factors times deltas; see the module docstring."""

    factors: tuple[Factor, ...]
    axes: tuple[tuple[int, ...], ...]
    sizes: Mapping[int, int]
    names: tuple[str, ...] = ()  # a template per factor (see tensordiff.names); may be empty

    @property
    def stored_nbytes(self) -> int:
        return sum(array.nbytes for array, _ in self.factors)

    @classmethod
    def dense(cls, array: np.ndarray, name: str = "T") -> "Term":
        """A term with one factor holding ``array`` and no deltas."""
        axes, sizes = axis_classes(array.shape)
        factor = array.reshape([s for s in array.shape if s != 1])
        classes = tuple(c for axis in axes for c in axis)
        return cls(((factor, classes),), axes, sizes, (names.leaf(name, classes),))

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
        return names.product(self.factor_names(), summed)

    def out_classes(self) -> tuple[int, ...]:
        """Distinct classes on the axes, in order of first appearance."""
        return tuple(dict.fromkeys(c for axis in self.axes for c in axis))

    def factor_classes(self) -> set[int]:
        return {c for _, classes in self.factors for c in classes}

    def core(self, classes: Sequence[int]) -> np.ndarray:
        """The product of the factors as an array over ``classes``, other classes summed.

        ``classes`` must all occur in some factor; classes on no factor are constants
        and are added by the caller through broadcasting.
        """
        if not self.factors:
            return np.ones(())
        return planner.einsum_classes(self.factors, tuple(classes))

    def collapsed(self) -> "Term":
        """The same term with its factors multiplied into one."""
        in_factors = self.factor_classes()
        keep = tuple(c for c in self.out_classes() if c in in_factors)
        core = self.core(keep)
        return Term(((core, keep),), self.axes, self.sizes, (self.product_name(keep),))

    def structure_key(self) -> tuple:
        """Equal for terms whose delta pattern is the same up to renaming classes."""
        canonical = {c: n for n, c in enumerate(self.out_classes())}
        return tuple(tuple((canonical[c], self.sizes[c]) for c in axis) for axis in self.axes)


def _default_name(array, classes) -> str:
    if not classes and np.size(array) == 1 and isinstance(array, (np.ndarray, np.generic)):
        return f"{float(array):g}"
    return names.leaf("F", classes)


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
        tuple(names.substitute(n, {c: (d,) for c, d in mapping.items()}) for n in term.names),
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


def contract(
    operands: Sequence[tuple[Term, Sequence]],
    out_labels: Sequence,
    max_factors: int | None = MAX_LAZY_FACTORS,
) -> Term:
    """Contract labelled terms: shared labels are unified, and summed unless in ``out_labels``.

    Labels may be any hashables; the caller has checked that labels of equal name
    have equal sizes and that every output label occurs. A result with more than
    ``max_factors`` factors is multiplied out into one (None: never).
    """
    terms = [renamed(term) for term, _ in operands]
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
    for term in terms:
        for (array, factor_classes), name in zip(term.factors, term.factor_names(), strict=True):
            leaves = {
                c: classes.leaves((c,)) for c in names.classes_in(name) + list(factor_classes)
            }
            flat = tuple(c for original in factor_classes for c in leaves[original])
            if len(flat) != array.ndim:
                array = array.reshape([classes.sizes[c] for c in flat])
            factors.append((array, flat))
            moved = any(leaves[c] != [c] for c in leaves)
            factor_names.append(names.substitute(name, leaves) if moved else name)

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


def add_terms(terms: Sequence[Term]) -> tuple[Term, ...]:
    """A sum of terms with those of the same delta pattern merged into one."""
    groups: dict[tuple, list[Term]] = {}
    for term in terms:
        groups.setdefault(term.structure_key(), []).append(term)
    return tuple(group[0] if len(group) == 1 else _merge(group) for group in groups.values())


def _merge(group: list[Term]) -> Term:
    """Add terms of one delta pattern into one term."""
    total = group[0]
    for term in group[1:]:
        total = _factor_out_common(total, term) or _add_cores(total, term)
    return total


def _add_cores(first: Term, second: Term) -> Term:
    """Evaluate both terms over their axes' classes and add the arrays."""
    target = first.out_classes()
    cores, parts = [], []
    used: set[int] = set()
    for term in (first, second):
        position = dict(zip(term.out_classes(), target, strict=True))
        in_factors = term.factor_classes()
        keep = [c for c in term.out_classes() if c in in_factors]
        cores.append((term.core(keep), [position[c] for c in keep]))
        used.update(position[c] for c in keep)
        renaming = {c: (position[c],) for c in term.out_classes()}
        parts.append(names.substitute(term.product_name(keep), renaming))
    order = [c for c in target if c in used]
    total = sum(_align_to(core, classes, order) for core, classes in cores)
    total = np.broadcast_to(total, [first.sizes[c] for c in order])
    sizes = {c: first.sizes[c] for c in target}
    return Term(((total, tuple(order)),), first.axes, sizes, (names.sum_of(parts),))


def _factor_out_common(first: Term, second: Term) -> Term | None:
    """``common × (rest₁ + rest₂)`` when both terms share factors (the same arrays).

    Paths through a graph often differ in one small factor only (the two
    paths through ``x * x``, the second derivative of an elementwise function):
    adding those factors first keeps the big shared ones lazy, so the sum costs
    one contraction instead of two. None when nothing is shared or the
    differing parts would make a larger array than they hold.
    """
    mapping = dict(zip(second.out_classes(), first.out_classes(), strict=True))
    images = set(mapping.values())
    rest1 = list(zip(first.factors, first.factor_names(), strict=True))
    rest2, common = [], []
    for factor, name in zip(second.factors, second.factor_names(), strict=True):
        for k, ((array1, classes1), _) in enumerate(rest1):
            if array1 is factor[0] and _extend(mapping, images, factor[1], classes1):
                common.append(rest1.pop(k))
                break
        else:
            rest2.append((factor, name))
    if not common:
        return None
    renaming = {c: (d,) for c, d in mapping.items()}
    rest2 = [
        ((array, tuple(mapping.get(c, c) for c in classes)), names.substitute(name, renaming))
        for (array, classes), name in rest2
    ]
    outside = {c for (_, classes), _ in common for c in classes} | set(first.out_classes())
    rests = rest1 + rest2
    boundary = [c for c in dict.fromkeys(c for (_, cl), _ in rests for c in cl) if c in outside]
    largest = max((np.size(array) for (array, _), _ in rests), default=1)
    if math.prod(first.sizes[c] for c in boundary) > largest:
        return None
    summed = sum(_product([f for f, _ in rest], boundary) for rest in (rest1, rest2))
    summed_name = names.sum_of(
        names.product(
            [n for _, n in rest], [c for (_, cl), _ in rest for c in cl if c not in boundary]
        )
        for rest in (rest1, rest2)
    )
    return Term(
        tuple(f for f, _ in common) + ((summed, tuple(boundary)),),
        first.axes,
        first.sizes,
        tuple(n for _, n in common) + (summed_name,),
    )


def _extend(mapping: dict, images: set, classes2, classes1) -> bool:
    """Extend the class renaming second → first so that ``classes2`` maps onto ``classes1``."""
    if len(classes2) != len(classes1):
        return False
    trial: dict[int, int] = {}
    for c2, c1 in zip(classes2, classes1, strict=True):
        known = mapping.get(c2, trial.get(c2))
        if known is None:
            if c1 in images or c1 in trial.values():
                return False
            trial[c2] = c1
        elif known != c1:
            return False
    mapping.update(trial)
    images.update(trial.values())
    return True


def _product(factors: list[Factor], boundary: list[int]):
    """The product of ``factors`` over the ``boundary`` classes (others summed), aligned."""
    if not factors:
        return np.ones([1] * len(boundary))
    present = {c for _, classes in factors for c in classes}
    keep = [c for c in boundary if c in present]
    return _align_to(planner.einsum_classes(factors, keep), keep, boundary)


def _align_to(core: np.ndarray, classes: list[int], order: list[int]) -> np.ndarray:
    """``core`` over ``classes`` transposed to ``order`` with size-1 axes for the missing ones."""
    present = [c for c in order if c in classes]
    core = np.transpose(core, [classes.index(c) for c in present]) if present else core
    shape = [core.shape[present.index(c)] if c in classes else 1 for c in order]
    return core.reshape(shape)


def write_dense(terms: Sequence[Term], shape: tuple[int, ...], dtype) -> np.ndarray:
    """The dense array of a sum of terms, deltas written into diagonal views of zeros."""
    if len(terms) == 1 and _no_diagonal(terms[0]):
        return _write_plain(terms[0], shape, dtype)
    out = np.zeros(shape, dtype=dtype)
    for term in terms:
        view, view_classes = _class_view(out, term)
        in_factors = term.factor_classes()
        keep = [c for c in view_classes if c in in_factors]
        view += _align_to(term.core(keep), keep, list(view_classes))
    return out


def _write_plain(term: Term, shape: tuple[int, ...], dtype) -> np.ndarray:
    """One term without deltas: every entry is written, so no zero fill is needed."""
    classes = [c for axis in term.axes for c in axis]
    in_factors = term.factor_classes()
    keep = [c for c in classes if c in in_factors]
    core = term.core(keep)
    if keep == classes and all(core is not array for array, _ in term.factors):
        # A fresh product already in output order: hand it over instead of copying it
        # (it may be a transposed view of what BLAS wrote; the values are the same).
        return np.asarray(core, dtype=dtype).reshape(shape)
    out = np.empty(shape, dtype=dtype)
    view, view_classes = _class_view(out, term)
    np.copyto(view, _align_to(core, keep, list(view_classes)))
    return out


def _no_diagonal(term: Term) -> bool:
    flat = [c for axis in term.axes for c in axis]
    return len(flat) == len(set(flat))


def _class_view(out: np.ndarray, term: Term) -> tuple[np.ndarray, tuple[int, ...]]:
    """A writeable view of ``out`` with one axis per distinct class of ``term``."""
    flat = [c for axis in term.axes for c in axis]
    refined = out.reshape([term.sizes[c] for c in flat])  # out is contiguous: a view
    distinct = tuple(dict.fromkeys(flat))
    strides = [
        sum(stride for c2, stride in zip(flat, refined.strides, strict=True) if c2 == c)
        for c in distinct
    ]
    view = np.lib.stride_tricks.as_strided(
        refined, shape=[term.sizes[c] for c in distinct], strides=strides, writeable=True
    )
    return view, distinct
