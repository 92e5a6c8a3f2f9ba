"""td.jacobian of a small problem computed as numbers (one batch of vector–Jacobian
products, see tensordiff.chain_rule): JAX's Jacobian, and everything but the numbers
(formula, sparsity, blocks, sparse matrix, repr) the structured path's, worked out when
read. Each batched product of tensordiff.core.vjp is reached by one of the functions."""

import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tensordiff as td
from tensordiff.chain_rule import BATCHED_ENTRIES, BATCHED_OUTPUTS

jax.config.update("jax_enable_x64", True)

A = np.random.default_rng(11).normal(size=(3, 4))
INDEX = np.array([0, 2, 2])
COLUMNS = np.array([1, 1, 0])

# each written once against a NumPy-like namespace n, a function of Z (3×4)
FUNCTIONS = {
    "ufuncs (elementwise)": lambda n: lambda Z: n.sin(Z) * Z + n.tanh(Z) ** 2,
    "broadcast operand summed back": lambda n: lambda Z: n.exp(Z[:1] - A) * Z[:, :1],
    "matrix times vector (einsum)": lambda n: lambda Z: n.tanh(Z @ A[0] + 1.0),
    "matrix times matrix": lambda n: lambda Z: Z @ A.T @ Z,
    "sum and mean along axes (spread)": lambda n: lambda Z: n.sum(Z**2, axis=0) * n.mean(Z, axis=0),
    "max along an axis with ties": lambda n: lambda Z: n.max(n.round(Z), axis=1) * Z[:, 0],
    "gather with repeats (index)": lambda n: lambda Z: Z[INDEX, COLUMNS] ** 3 + Z[INDEX].sum(0)[:3],
    "softmax and log-softmax": lambda n: (
        lambda Z: (
            n.exp(Z - n.max(Z, axis=1, keepdims=True))
            / n.sum(n.exp(Z - n.max(Z, axis=1, keepdims=True)), axis=1, keepdims=True)
            + (Z - n.log(n.sum(n.exp(Z), axis=-1, keepdims=True)))
        )
    ),
    "full rules (dot, where, concatenate)": lambda n: (
        lambda Z: (
            n.where(Z[:, :3] > 0, n.dot(Z, A.T), 1.0)
            * n.concatenate([Z[:, :3], Z[:, 1:]], axis=1)[:, :3]
        )
    ),
    "a delta among the argument's axes (trace)": lambda n: lambda Z: n.trace(Z[:, :3]) * Z[0],
    "a list as a constant operand (convolve)": lambda n: (
        lambda Z: n.convolve(Z[0], [1.0, 0.5, 0.25] if n is np else n.array([1.0, 0.5, 0.25]))
    ),
}


def _jax(function, Z):
    return jax.jacrev(function(jnp))(Z)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_small_jacobian_is_jaxs_and_reads_as_the_structured_one(name, rng):
    Z = rng.normal(size=(3, 4))
    Z[0, :2] = 0.75  # ties for max and round
    function = FUNCTIONS[name]
    jacobian = td.jacobian(function(np))
    expected = _jax(function, Z)
    for _ in range(2):  # the second call is traced for numbers from the start
        J = jacobian(Z)
        assert J._numbers_only  # the numbers path was taken
        np.testing.assert_allclose(np.asarray(J), expected, rtol=1e-12, atol=1e-14)
    structured = td.jacobian(function(np), mode="optimal")(Z)
    assert not structured._numbers_only
    np.testing.assert_allclose(np.asarray(structured), expected, rtol=1e-12, atol=1e-14)
    assert J.formula == structured.formula
    assert not J._numbers_only  # (reading the formula worked the structure out)
    assert (J.nnz, repr(J)) == (structured.nnz, repr(structured))
    np.testing.assert_allclose(np.asarray(J), expected, rtol=1e-12, atol=1e-14)


def test_everything_but_the_numbers_reads_the_structure(rng):
    """Sparsity, the sparse matrix, blocks, the diagonal and pickling see the δ of
    ∂tanh(W x + b)/∂W, not the dense numbers."""
    W, x, b = rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=4)
    f = lambda W: np.tanh(W @ x + b)  # noqa: E731
    structured = td.jacobian(f, mode="optimal")(W)
    readers = {
        "nnz": lambda J: J.nnz,
        "stored bytes": lambda J: J.stored_nbytes,
        "sparse matrix": lambda J: J.to_scipy_sparse().toarray(),
        "block": lambda J: J[1:3].stored_nbytes,
        "block's numbers": lambda J: np.asarray(J[1:3]),
        "diagonal": lambda J: np.asarray(J.diagonal(0, 1)),
        "pickled": lambda J: pickle.loads(pickle.dumps(J)).stored_nbytes,
    }
    for name, read in readers.items():
        J = td.jacobian(f)(W)
        assert J._numbers_only, name
        got, want = read(J), read(structured)
        assert not J._numbers_only, name
        np.testing.assert_allclose(
            np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=1e-12, err_msg=name
        )
    assert td.jacobian(f)(W).nnz == 4 * 3  # δ[i,j] (1 − V²)[i] x[k]: one row of W per output


def test_float32_argnums_and_trees_keep_dtype_and_shapes(rng):
    x, y = rng.normal(size=3).astype(np.float32), rng.normal(size=(2, 3))
    dx, dy = td.jacobian(lambda x, y: y @ np.sin(x), argnums=(0, 1))(x, y)
    assert (dx.dtype, dy.dtype) == (np.float64, np.float64)  # the output is float64
    want_x, want_y = jax.jacrev(lambda x, y: y @ jnp.sin(x), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(np.asarray(dx), want_x, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(dy), want_y, rtol=1e-12)
    J32 = td.jacobian(lambda x: np.sin(x) * x)(x)
    assert J32._numbers_only and np.asarray(J32).dtype == np.float32
    np.testing.assert_allclose(np.asarray(J32), jax.jacrev(lambda x: jnp.sin(x) * x)(x), rtol=1e-6)
    params = {"a": rng.normal(size=2), "b": rng.normal(size=2)}
    Js = td.jacobian(lambda p: {"y": p["a"] * np.exp(p["b"])})(params)
    want = jax.jacrev(lambda p: {"y": p["a"] * jnp.exp(p["b"])})(params)
    for key in "ab":
        assert Js["y"][key]._numbers_only
        np.testing.assert_allclose(np.asarray(Js["y"][key]), want["y"][key], rtol=1e-12)


def test_an_output_that_grows_between_calls_is_traced_again(rng):
    """The second call is traced for numbers because the first was small; when its
    output is too large for the numbers path, f is traced again with the full rules."""
    x = rng.normal(size=4)
    jacobian = td.jacobian(lambda x, repeats=1: np.tile(np.tanh(x), repeats))
    small, large = jacobian(x), jacobian(x, repeats=BATCHED_OUTPUTS)
    assert small._numbers_only and not large._numbers_only
    want = jax.jacrev(lambda x: jnp.tile(jnp.tanh(x), BATCHED_OUTPUTS))(x)
    np.testing.assert_allclose(np.asarray(large), want, rtol=1e-12)
    assert large.nnz == 4 * BATCHED_OUTPUTS  # structured: one δ per repeat


def test_large_problems_and_other_modes_stay_structured(rng):
    x = rng.normal(size=BATCHED_OUTPUTS + 1)
    assert not td.jacobian(np.tanh)(x)._numbers_only  # too many outputs
    assert not td.jacobian(np.tanh, mode="reverse")(x[:3])._numbers_only
    assert not td.jacobian(np.tanh, batch=0)(x[:3, None])._numbers_only  # per sample
    empty = td.jacobian(lambda x: x[:0] * 2.0)(x[:3])  # no output entries to batch
    assert not empty._numbers_only and np.asarray(empty).shape == (0, 3)
    H = td.hessian(lambda x: np.sum(np.sin(x) ** 2))(x[:3])
    np.testing.assert_allclose(
        np.asarray(H), jax.hessian(lambda x: jnp.sum(jnp.sin(x) ** 2))(x[:3]), rtol=1e-12
    )


def test_a_wide_intermediate_or_one_large_output_keeps_every_jacobian_structured(rng):
    """The batch of cotangents would be outputs × the widest value: past BATCHED_ENTRIES
    the structured path runs. With a tree output, one large leaf keeps every leaf's
    Jacobian structured (each formula the structured one, never a dense factor's)."""
    x = rng.normal(size=8)
    width = 2 * BATCHED_ENTRIES // x.size  # (x.size outputs × 8 × width entries)
    f = lambda x, n=np: n.sum(n.sin(x[:, None] * n.ones(width)), axis=1)  # noqa: E731
    J = td.jacobian(f)(x)
    assert not J._numbers_only
    np.testing.assert_allclose(np.asarray(J), jax.jacrev(lambda x: f(x, jnp))(x), rtol=1e-10)
    both = lambda x, n=np: {"a": n.tanh(x[:2]), "b": n.tile(x, BATCHED_OUTPUTS)}  # noqa: E731
    Js = td.jacobian(both)(x)
    want = jax.jacrev(lambda x: both(x, jnp))(x)
    structured = td.jacobian(both, mode="optimal")(x)
    for key in "ab":
        assert not Js[key]._numbers_only
        np.testing.assert_allclose(np.asarray(Js[key]), want[key], rtol=1e-12)
        assert Js[key].formula == structured[key].formula


def test_a_structure_that_no_longer_matches_the_numbers_is_refused(rng):
    # The structure of a Jacobian computed as numbers is worked out by calling f again:
    # after the argument changed in place it would be another Jacobian's (its blocks and
    # formula disagreeing with np.asarray(J)); it is refused, the numbers stay the call's.
    x = rng.uniform(0.5, 1.5, size=3)
    expected = np.diag(np.sin(x) + x * np.cos(x))
    J = td.jacobian(lambda x: np.sin(x) * x)(x)
    g = td.grad(lambda x: np.sum(np.sin(x)))(x)
    x += 1.0  # an optimiser's step, in place
    for read in (lambda: J.formula, lambda: J[0], lambda: J.nnz, lambda: g.formula):
        with pytest.raises(td.StaleStructure, match="changed after the call"):
            read()
    np.testing.assert_allclose(np.asarray(J), expected, rtol=1e-12)
    assert "nnz≤9 of 9" in repr(J)  # (no claim about a structure it cannot show)
    # read before the change, the structure is the call's
    y = rng.uniform(0.5, 1.5, size=3)
    K = td.jacobian(lambda x: np.sin(x) * x)(y)
    assert K.nnz == 3
    y += 1.0
    np.testing.assert_allclose(K[0].to_numpy(), np.diag(np.sin(y - 1) + (y - 1) * np.cos(y - 1))[0])


def test_a_jacobian_that_is_zero_by_cancellation_is_no_stale_structure(rng):
    # x × ((x xᵀ) u) = (xᵀ u) (x × x) is 0: the numbers and the structure are both roundoff
    # (~1e-16), different in the two computations, with nothing changed since the call
    x, u = rng.normal(size=3), rng.normal(size=3)
    J = td.jacobian(lambda x: np.cross(x, np.outer(x, x) @ u))(x)
    h = td.grad(lambda x: (np.dot(x, x) * u * x)[0] / np.linalg.norm(np.dot(x, x) * u * x))(x)
    assert J.formula.startswith("∂f[i]/∂x[j] = ") and h.formula.startswith("∂f/∂x[i] = ")
    np.testing.assert_allclose(np.asarray(J), 0.0, atol=1e-12)  # (the function is 0)
    # x[0] |x|² u[0] / (|x|² ‖u ⊙ x‖) = x[0] u[0] / ‖u ⊙ x‖: its gradient, in closed form
    norm = np.linalg.norm(u * x)
    closed = u[0] * (np.eye(3)[0] / norm - x[0] * u**2 * x / norm**3)
    np.testing.assert_allclose(np.asarray(h), closed, rtol=1e-10)


def test_a_relabelled_gradient_works_its_structure_out_too(rng):
    # a relabelled copy holds the numbers' one factor without the writer that made it
    # (td.chain relabels gradients before contracting them)
    x = rng.uniform(0.5, 1.5, size=3)
    g = td.grad(lambda x: np.sum(np.sin(x)))(x).relabel("k")
    assert g.formula == "∂f/∂x[k] = cos(x)[k]"
    np.testing.assert_allclose(np.asarray(g), np.cos(x), rtol=1e-14)
