"""Sums of terms: terms with the same delta pattern are merged into one.

Paths through a graph meet at a value (``x * x``, a shared intermediate) and
their contributions are added. Two terms with the same delta pattern become
one: by the distributive law when they share factors (the shared ones stay
lazy), otherwise by adding their evaluated cores.
"""

import math
from collections.abc import Sequence

import numpy as np

from tensordiff.core import paths, templates
from tensordiff.core.term import Factor, Term, align_to, fresh_class

__all__ = ["add_terms"]


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
        keep = list(term.core_classes())
        cores.append((term.core(keep), [position[c] for c in keep]))
        used.update(position[c] for c in keep)
        renaming = {c: (position[c],) for c in term.out_classes()}
        parts.append(templates.substitute(term.product_name(keep), renaming))
    order = [c for c in target if c in used]
    aligned_first, aligned_second = (align_to(core, classes, order) for core, classes in cores)
    total = aligned_first + aligned_second
    shape = tuple(first.sizes[c] for c in order)
    if total.shape != shape:  # a factor of size 1 along a class: the sum spans it
        total = np.broadcast_to(total, shape)
    sizes = {c: first.sizes[c] for c in target}
    return Term(((total, tuple(order)),), first.axes, sizes, (templates.sum_of(parts),))


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
    # The rest of ``second`` sums over its own classes: keep them apart from ``first``'s.
    taken = first.classes()
    for (_, classes), name in rest2:
        for c in [*classes, *templates.classes_in(name)]:
            if c not in mapping and c in taken:
                mapping[c] = fresh_class()
    renaming = {c: (d,) for c, d in mapping.items()}
    rest2 = [
        ((array, tuple(mapping.get(c, c) for c in classes)), templates.substitute(name, renaming))
        for (array, classes), name in rest2
    ]
    outside = {c for (_, classes), _ in common for c in classes} | set(first.out_classes())
    rests = rest1 + rest2
    boundary = [c for c in dict.fromkeys(c for (_, cl), _ in rests for c in cl) if c in outside]
    largest = max((np.size(array) for (array, _), _ in rests), default=1)
    if math.prod(first.sizes[c] for c in boundary) > largest:
        return None
    summed = _product([f for f, _ in rest1], boundary) + _product([f for f, _ in rest2], boundary)
    summed_name = templates.sum_of(
        templates.product(
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
    return align_to(paths.einsum_classes(factors, keep), keep, boundary)
