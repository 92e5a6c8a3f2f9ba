"""Nested lists, tuples and dicts of values ("trees", as JAX calls them): walk and rebuild.

Everything that is not a list, tuple or dict is a leaf; a named tuple is
rebuilt as its own type.

>>> list(leaves({"a": [1, (2, 3)], "b": 4}))
[1, 2, 3, 4]
>>> tree_map(lambda x: x * 10, {"a": [1, (2, 3)]})
{'a': [10, (20, 30)]}
"""

from collections.abc import Callable

__all__ = ["leaves", "tree_map", "rebuild"]


def leaves(tree, is_leaf: Callable | None = None):
    """Everything in ``tree`` that is not a list, tuple or dict (or that ``is_leaf``
    accepts), in order."""
    if is_leaf is not None and is_leaf(tree):
        yield tree
    elif isinstance(tree, dict):
        for value in tree.values():
            yield from leaves(value, is_leaf)
    elif isinstance(tree, (tuple, list)):
        for item in tree:
            yield from leaves(item, is_leaf)
    else:
        yield tree


def tree_map(leaf: Callable, tree, is_leaf: Callable | None = None):
    """``tree`` with ``leaf`` applied to each leaf (and to each node ``is_leaf`` accepts)."""
    if is_leaf is not None and is_leaf(tree):
        return leaf(tree)
    if isinstance(tree, dict):
        return {key: tree_map(leaf, value, is_leaf) for key, value in tree.items()}
    if isinstance(tree, (tuple, list)):
        return rebuild(tree, [tree_map(leaf, item, is_leaf) for item in tree])
    return leaf(tree)


def rebuild(like: tuple | list, items: list):
    """``items`` as a sequence of ``like``'s type (a named tuple stays one)."""
    return type(like)._make(items) if hasattr(like, "_make") else type(like)(items)
