"""Depth without limits: a 500-layer elementwise chain, a 200-term sum and a 120-layer
residual chain (each value used twice per layer), in every mode, through grad and td.jit,
agree with JAX (NumPy's einsum takes at most 32 operands; a residual layer once doubled
the text of every expression after it)."""

import numpy as np
import pytest

import tensordiff as td
from tensordiff.core import paths

LAYERS, TERMS, RESIDUAL_LAYERS = 500, 200, 120
_weights = np.random.default_rng(13)
RESIDUAL = [_weights.normal(size=(3, 3)) / 3 for _ in range(RESIDUAL_LAYERS)]


def chain(xp, x):
    for _ in range(LAYERS):
        x = xp.sin(x) * 0.9 + 0.1
    return x


def many_terms(xp, x):
    total = 0.0
    for k in range(TERMS):
        total = total + xp.tanh(x * (k + 1) / TERMS)
    return total


def residual(xp, x, weights=RESIDUAL):
    for W in weights:
        x = x + xp.tanh(W @ x)
    return x


FUNCTIONS = {
    "500-layer chain": chain,
    "200-term sum": many_terms,
    "120-layer residual chain": residual,
}


@pytest.fixture(scope="module")
def x():
    return np.array([0.3, -0.7, 1.1])


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("mode", ["auto", "optimal", "reverse", "forward"])
def test_jacobian_of_a_deep_function_in_every_mode(jax, x, name, mode):
    build = FUNCTIONS[name]
    J = td.jacobian(lambda v: build(np, v), mode=mode)(x)
    want = jax.jacfwd(lambda v: build(jax.numpy, v))(x)
    np.testing.assert_allclose(np.asarray(J), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_grad_and_jit_of_a_deep_function(jax, x, name):
    build = FUNCTIONS[name]

    def f(v):
        return np.sum(build(np, v) ** 2)

    want_g = jax.grad(lambda v: jax.numpy.sum(build(jax.numpy, v) ** 2))(x)
    want_J = jax.jacfwd(lambda v: build(jax.numpy, v))(x)
    np.testing.assert_allclose(np.asarray(td.grad(f)(x)), want_g, rtol=1e-10, atol=1e-12)
    jg, jJ = td.jit(td.grad(f)), td.jit(td.jacobian(lambda v: build(np, v)))
    for _ in range(2):  # the recording, then a replay
        np.testing.assert_allclose(np.asarray(jg(x)), want_g, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(np.asarray(jJ(x)), want_J, rtol=1e-10, atol=1e-12)
    assert jg.cache_info().hits == 1 and jJ.cache_info().hits == 1


def test_a_product_of_many_factors_is_written_in_pieces_of_few_operands():
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(0.5, 1.5, size=3) for _ in range(100)]
    out = np.empty(3)
    paths.product_writer([(1,)] * 100, (1,), ((3,),) * 100)(arrays, out)
    np.testing.assert_allclose(out, np.prod(arrays, axis=0), rtol=1e-12)


def test_a_network_of_more_than_52_classes_is_contracted():
    """60 matrices in a chain, each with a class of its own summed inside it: 120 classes,
    more letters than np.einsum has; the product is the matrix power."""
    n, rng = 60, np.random.default_rng(1)
    slabs = [rng.uniform(size=(2, 2, 2)) for _ in range(n)]
    classes = [(k, k + 1, 1000 + k) for k in range(n)]
    got = paths.planned_product(classes, (0, n), ((2, 2, 2),) * n)(slabs)
    want = np.eye(2)
    for slab in slabs:
        want = want @ slab.sum(axis=2)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_hessian_of_a_30_layer_tanh_chain_agrees_with_jax(jax):
    """A Jacobian of a Jacobian through 30 matrix layers (the planner once took over ten
    minutes here, with opt_einsum's dynamic program on 33-operand networks)."""
    rng = np.random.default_rng(5)
    matrices = [rng.normal(size=(4, 4)) / 2 for _ in range(30)]

    def loss(xp, h):
        for W in matrices:
            h = xp.tanh(W @ h)
        return xp.sum(h**2)

    h = rng.normal(size=4)
    H = td.hessian(lambda v: loss(np, v))(h)
    want = jax.hessian(lambda v: loss(jax.numpy, v))(h)
    np.testing.assert_allclose(np.asarray(H), want, rtol=1e-9, atol=1e-12)


def test_hessian_of_a_residual_chain_agrees_with_jax(jax):
    """Second derivatives through 16 residual layers (tracing them once took 2^16 steps)."""
    h = np.array([0.3, -0.7, 1.1])

    def loss(xp, v):
        return xp.sum(residual(xp, v, RESIDUAL[:16]) ** 2)

    H = td.hessian(lambda v: loss(np, v))(h)
    want = jax.hessian(lambda v: loss(jax.numpy, v))(h)
    np.testing.assert_allclose(np.asarray(H), want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mode", ["auto", "reverse", "forward"])
def test_the_formula_of_a_residual_chain_grows_linearly_with_depth(x, mode):
    """Each layer uses its input twice; the formula names what it uses more than once
    (z, P₁[i,j], … in its legend) instead of writing it out twice, so doubling the depth
    about doubles the formula (written out, it would square it)."""
    lengths = [
        len(td.jacobian(lambda v, n=n: residual(np, v, RESIDUAL[:n]), mode=mode)(x).formula)
        for n in (30, 60, 120)
    ]
    assert lengths[1] < 2.5 * lengths[0] and lengths[2] < 2.5 * lengths[1], lengths
    assert lengths[2] < 1000 * RESIDUAL_LAYERS


@pytest.mark.parametrize("mode", ["optimal", "reverse", "forward"])
def test_a_200_layer_matrix_chain_agrees_with_the_closed_form(mode):
    rng = np.random.default_rng(6)
    matrices = [rng.normal(size=(5, 5)) / np.sqrt(5) for _ in range(200)]

    def f(h):
        for W in matrices:
            h = np.tanh(W @ h)
        return h

    h = want_h = rng.normal(size=5)
    want = np.eye(5)
    for W in matrices:
        want_h = np.tanh(W @ want_h)
        want = (1 - want_h**2)[:, None] * (W @ want)
    np.testing.assert_allclose(
        np.asarray(td.jacobian(f, mode=mode)(h)), want, rtol=1e-9, atol=1e-14
    )
