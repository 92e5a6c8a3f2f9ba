"""Every program of the corpus (tests/corpus/programs.py), unchanged NumPy code, has the
Jacobian JAX computes for the same code on jax.numpy."""

import zlib

import numpy as np
import pytest
from corpus.programs import PROGRAMS

import tensordiff as td


def test_the_corpus_has_at_least_a_hundred_programs():
    assert len(PROGRAMS) >= 100


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_matches_jax(name, jax):
    f, shape, low, high = PROGRAMS[name]
    x = np.random.default_rng(zlib.crc32(name.encode())).uniform(low, high, size=shape)
    ours = np.asarray(td.jacobian(lambda x: f(np, x))(x))
    theirs = np.asarray(jax.jacobian(lambda x: f(jax.numpy, x))(jax.numpy.asarray(x)))
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-11)
