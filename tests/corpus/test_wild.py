"""The wild corpus (tests/corpus/wild.py): every program either gives JAX's Jacobian (or
central differences' where JAX cannot run it) or raises the library's own error — never a
wrong number, never another library's error."""

import numpy as np
import pytest
from corpus.measure import agrees, input_for, reference
from corpus.wild import WILD

import tensordiff as td


def test_the_wild_corpus_has_at_least_two_hundred_programs():
    assert len(WILD) >= 200


@pytest.mark.parametrize("name", sorted(WILD))
def test_wild_program_is_right_or_refused_by_the_library(name, jax):
    f = WILD[name][0]
    x = input_for(name)
    try:
        ours = np.asarray(td.jacobian(lambda x: f(np, x))(x))
    except td.TensorDiffError:
        return  # refused, naming the call (the measure script lists which)
    theirs, source = reference(name)
    assert agrees(ours, theirs, source), (name, source)
