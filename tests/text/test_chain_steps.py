"""The chain rule as `td.explain` prints it agrees with itself, on the whole corpus.

Each step's left-hand side carries the function's own name and its output index;
a parent's first contribution is ``=`` and the later ones ``+=``; a δ the step
says it eliminated is gone from the line that follows; each intermediate is
listed once; and a structured result larger than the dense array says so.
"""

import re

import pytest
from expressions import CORPUS, X, function, p3

import tensordiff as td

# paths that meet again: a sum of two uses, a product of a function and its argument
STEPS = CORPUS + [
    ("np.sum(np.sin(x) * x) + np.sum(x * x)", "x", p3),
    ("np.tanh(X @ c) * (X @ c)", "X", X),
]


def _explained_as(name: str, source: str, argument: str):
    f = function(source, argument)
    named = {"loss": lambda value: f(value), "f": f}[name]
    named.__name__ = name  # the function's own name, as `def loss(...)` gives it
    return named


@pytest.mark.parametrize("name", ["loss", "f"])
@pytest.mark.parametrize(
    "source, argument, point", STEPS, ids=[f"{s} @{p.shape}" for s, _, p in STEPS]
)
def test_the_chain_steps_agree_with_themselves(name, source, argument, point):
    e = td.explain(_explained_as(name, source, argument))(point)
    out = ",".join(e.jacobian.out_indices)
    target = f"∂{name}[{out}]/" if out else f"∂{name}/"
    reached = set()
    for step in e.steps:
        assert step["contraction"].startswith(target), step["contraction"]
        lhs, assign = re.match(r"(.*?) (\+?=) ", step["contraction"]).groups()
        assert assign == ("+=" if lhs in reached else "="), step["contraction"]
        reached.add(lhs)
        for note in step["deltas"]:
            assert note.split(" eliminated")[0] not in step["result"], (note, step["result"])
    if name != "f":
        assert not re.search(r"∂f\b", str(e)), str(e)
    names = [item["name"] for item in e.intermediates]
    assert len(names) == len(set(names)), names
    larger = e.cost["stored_bytes"] > e.cost["dense_bytes"]
    assert ("more than the dense array" in str(e)) == larger
