"""Nested lists, tuples and dicts of values ("pytrees", as JAX calls them): walk and rebuild.

The containers are those of ``jax.tree_util``: a dict (walked in sorted key
order, as JAX does), a list, a tuple (a named tuple is rebuilt as its own type)
and ``None``, a container with no leaves. Everything else is a leaf.

>>> list(leaves({"b": 4, "a": [1, (2, 3)], "c": None}))
[1, 2, 3, 4]
>>> tree_map(lambda x: x * 10, {"a": [1, (2, 3)], "n": None})
{'a': [10, (20, 30)], 'n': None}
>>> values, skeleton = flatten({"x": 1.0, "y": [2.0]})
>>> values, unflatten(skeleton, [5, 6])
([1.0, 2.0], {'x': 5, 'y': [6]})
"""

from collections.abc import Callable

__all__ = [
    "leaves",
    "leaves_with_paths",
    "tree_map",
    "rebuild",
    "flatten",
    "unflatten",
    "structure",
    "is_leaf_node",
    "keys",
]


def is_leaf_node(tree) -> bool:
    """True for a leaf: anything but a dict, list, tuple or None."""
    return not (tree is None or isinstance(tree, (dict, list, tuple)))


def leaves(tree, is_leaf: Callable | None = None):
    """Everything in ``tree`` that is a leaf (or that ``is_leaf`` accepts), in order."""
    return (leaf for _, leaf in leaves_with_paths(tree, is_leaf))


def leaves_with_paths(tree, is_leaf: Callable | None = None, prefix: tuple = ()):
    """``(path, leaf)`` for each leaf, the path being the keys and positions leading to it.

    >>> list(leaves_with_paths({"a": [1, 2]}))
    [(('a', 0), 1), (('a', 1), 2)]
    """
    if is_leaf is not None and is_leaf(tree):
        yield prefix, tree
    elif isinstance(tree, dict):
        for key in keys(tree):
            yield from leaves_with_paths(tree[key], is_leaf, (*prefix, key))
    elif isinstance(tree, (tuple, list)):
        for n, item in enumerate(tree):
            yield from leaves_with_paths(item, is_leaf, (*prefix, n))
    elif tree is not None:
        yield prefix, tree


def tree_map(leaf: Callable, tree, is_leaf: Callable | None = None):
    """``tree`` with ``leaf`` applied to each leaf (and to each node ``is_leaf`` accepts)."""
    if is_leaf is not None and is_leaf(tree):
        return leaf(tree)
    if isinstance(tree, dict):
        return {key: tree_map(leaf, tree[key], is_leaf) for key in keys(tree)}
    if isinstance(tree, (tuple, list)):
        return rebuild(tree, [tree_map(leaf, item, is_leaf) for item in tree])
    return None if tree is None else leaf(tree)


def rebuild(like: tuple | list, items: list):
    """``items`` as a sequence of ``like``'s type (a named tuple stays one)."""
    return type(like)._make(items) if hasattr(like, "_make") else type(like)(items)


class _Slot:
    """Where a leaf was, in the skeleton :func:`flatten` returns."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "*"


_SLOT = _Slot()


def flatten(tree, is_leaf: Callable | None = None) -> tuple[list, object]:
    """``(leaves, skeleton)``: the leaves in order, and the tree with each leaf replaced
    by a slot, which :func:`unflatten` fills again."""
    if is_leaf is not None and is_leaf(tree):  # one leaf (an array argument): no walk
        return [tree], _SLOT
    found: list = []

    def take(value):
        found.append(value)
        return _SLOT

    return found, tree_map(take, tree, is_leaf)


def unflatten(skeleton, values) -> object:
    """The tree of ``skeleton`` with its slots filled by ``values``, in order."""
    if skeleton is _SLOT:  # one leaf
        return next(iter(values))
    fill = iter(values)
    return tree_map(lambda slot: next(fill), skeleton, is_leaf=lambda node: node is _SLOT)


def structure(tree) -> tuple:
    """A hashable key of ``tree``'s containers (types, dict keys, lengths), leaves left out.

    >>> structure({"a": [1, 2]}) == structure({"a": [3, 4]}), structure((1,)) == structure([1])
    (True, False)
    """
    if isinstance(tree, dict):
        return (dict, tuple((key, structure(tree[key])) for key in keys(tree)))
    if isinstance(tree, (tuple, list)):
        return (type(tree), tuple(structure(item) for item in tree))
    return (None,) if tree is None else ()


def keys(tree: dict) -> list:
    """A dict's keys in sorted order (JAX's), or as inserted when they do not sort."""
    try:
        return sorted(tree)
    except TypeError:
        return list(tree)
