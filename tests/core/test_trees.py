"""tensordiff's pytrees walk dicts, lists, tuples, named tuples and None as jax.tree_util."""

import collections

import numpy as np
import pytest

from tensordiff.core import trees

Point = collections.namedtuple("Point", "x y")

TREES = [
    {"b": 1, "a": [2, (3, None)], "c": {"z": 4, "y": 5}},
    [None, (), {}, [6]],
    Point(x=[1, 2], y={"k": 3}),
    (1,),
    7,
    None,
    {"w": np.ones(2), "v": (np.zeros(1), None)},
]


@pytest.mark.parametrize("tree", TREES, ids=range(len(TREES)))
def test_leaves_and_rebuilding_match_jax(tree, jax):
    ours = list(trees.leaves(tree))
    theirs = jax.tree_util.tree_leaves(tree)
    assert len(ours) == len(theirs)
    assert all(a is b for a, b in zip(ours, theirs, strict=True))
    values, skeleton = trees.flatten(tree)
    rebuilt = trees.unflatten(skeleton, [f"leaf{n}" for n in range(len(values))])
    expected = jax.tree_util.tree_unflatten(
        jax.tree_util.tree_structure(tree), [f"leaf{n}" for n in range(len(values))]
    )
    assert rebuilt == expected and type(rebuilt) is type(expected)


def test_structure_tells_apart_what_jax_does(jax):
    pairs = [({"a": 1}, {"b": 1}), ([1], (1,)), ((1, 2), (1, (2,))), ([None], [1])]
    for first, second in pairs:
        assert (trees.structure(first) == trees.structure(second)) == (
            jax.tree_util.tree_structure(first) == jax.tree_util.tree_structure(second)
        )
