"""Rules written as compositions (quantiles, interpolation, finite differences, moved
entries, polynomials, QR and least squares): first and second derivatives against JAX,
NumPy's own numbers, and the conventions at the edges (ties, knots, NaN, rank).

The operation table (tests/cases.py) runs most of them through every check it has;
these are the calls whose formulas are too long for that table's text checks, or whose
JAX twin needs its own spelling.
"""

import numpy as np
import pytest

import tensordiff as td

RNG = np.random.default_rng(1207)
X = RNG.uniform(0.1, 0.9, size=(3, 5))
TALL = RNG.uniform(-1.0, 1.0, size=(5, 3))
NANS = np.where(RNG.uniform(size=(3, 5)) < 0.3, np.nan, 0.0)
NANS[2] = np.nan  # a row of NaN only: its quantile is NaN, and so is its derivative

# name -> (call written over a module n, point)
CALLS = {
    "quantile-methods": (
        lambda n: (
            lambda x: n.concatenate(
                [n.quantile(x, 0.37, axis=1, method=m) for m in ("lower", "higher", "nearest")]
                + [n.quantile(x, n.array([0.2, 0.5]), axis=0, method="midpoint").ravel()]
            )
        ),
        X,
    ),
    "nanquantile": (lambda n: lambda x: n.nanquantile(x + NANS, 0.4, axis=1), X),
    "nanpercentile-keepdims": (
        lambda n: lambda x: n.nanpercentile(x + NANS[:2].repeat(2, 0)[:3], 70, 1, keepdims=True),
        X,
    ),
    "interp-everything": (
        lambda n: lambda x: n.interp(x[1], n.cumsum(x[0]), x[2] ** 2, left=x[0, 0], right=1.0),
        X,
    ),
    "partition": (lambda n: lambda x: n.sort(n.partition(x, 2, axis=1)[:, :3], axis=1), X),
    "insert-flat": (lambda n: lambda x: n.insert(x, n.array([0, 7]), x[0, :2] * 3.0), X),
    "lstsq": (lambda n: lambda a: n.linalg.lstsq(a, a[:, 0] ** 2 + 1.0, rcond=None)[0], TALL),
    "lstsq-residuals": (
        lambda n: lambda a: n.linalg.lstsq(a, n.stack([a[:, 0] ** 2, a[:, 1]], 1), rcond=None)[1],
        TALL,
    ),
    "lstsq-wide": (lambda n: lambda a: n.linalg.lstsq(a, a[:, 0] ** 2, rcond=None)[0], TALL.T),
    "qr-stack": (lambda n: lambda a: n.linalg.qr(n.stack([a, a[::-1] ** 2]))[0], TALL),
    "qr-r": (lambda n: lambda a: n.linalg.qr(a, mode="r"), TALL),
    "cond-norms": (
        lambda n: lambda a: n.stack([n.linalg.cond(a[:3] + 2 * n.eye(3), p) for p in (1, -2)]),
        TALL,
    ),
    "tensorinv": (
        lambda n: lambda a: n.linalg.tensorinv(n.kron(a[:3], a[:3]).reshape(9, 3, 3), ind=1),
        TALL + np.eye(5, 3) * 2.0,
    ),
    "polyfit": (lambda n: lambda x: n.polyfit(x[0], x[1:].T ** 2, 2, w=x[2]), X),
    "polyint-polydiv": (
        lambda n: (
            lambda x: n.concatenate([n.polyint(x[0], 2, k=x[1, :2]), n.polydiv(x[0], x[1, :2])[0]])
        ),
        X,
    ),
    "poly-polymul": (lambda n: lambda x: n.polymul(n.poly(x[0]), n.polysub(x[1], x[2, :2])), X),
    "geomspace": (lambda n: lambda x: n.geomspace(-x[0], -5.0 * x[1], 4, axis=1), X),
    "unwrap": (lambda n: lambda x: n.unwrap(n.cumsum(4.0 * x, axis=1), axis=1), X),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_first_and_second_derivatives_match_jax(name, jax):
    build, x = CALLS[name]
    f, jf = build(np), build(jax.numpy)
    np.testing.assert_allclose(f(x), jf(x), rtol=1e-10, atol=1e-12)  # NumPy's numbers
    np.testing.assert_allclose(
        np.asarray(td.jacobian(f)(x)), jax.jacobian(jf)(x), rtol=1e-8, atol=1e-10
    )
    weights = RNG.normal(size=np.shape(f(x)))
    ours = td.hessian(lambda x: np.nansum(f(x) * weights))(x)
    theirs = jax.hessian(lambda x: jax.numpy.nansum(jf(x) * weights))(x)
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-7, atol=1e-8)


def test_factorisations_and_solutions_have_numpy_s_own_numbers():
    """QR and lstsq return LAPACK's numbers to the last bit (the derivative is a formula's)."""
    traced = {}

    def f(a):
        q, r = np.linalg.qr(a)
        x, residuals, rank, s = np.linalg.lstsq(a, a[:, 0] ** 2, rcond=None)
        traced.update(rank=rank)
        return np.concatenate([q.ravel(), r.ravel(), x, residuals, s])

    q, r = np.linalg.qr(TALL)
    x, residuals, rank, s = np.linalg.lstsq(TALL, TALL[:, 0] ** 2, rcond=None)
    expected = np.concatenate([q.ravel(), r.ravel(), x, residuals, s])
    assert np.array_equal(np.asarray(td.jit(f)(TALL)), expected)
    td.jacobian(f)(TALL)
    assert traced["rank"] == rank == 3


def test_qr_of_a_rank_deficient_matrix_is_refused_as_a_linalg_error():
    deficient = np.outer(np.arange(1.0, 5.0), np.ones(3))
    with pytest.raises(np.linalg.LinAlgError, match=r"numpy\.linalg\.qr"):
        td.jacobian(lambda a: np.linalg.qr(a)[1])(deficient)


def test_quantile_of_a_row_with_nan_is_nan_as_in_numpy():
    values = X + np.where(np.arange(5) == 1, np.nan, 0.0)
    J = np.asarray(td.jacobian(lambda x: np.quantile(x, 0.5, axis=1))(values))
    np.testing.assert_array_equal(np.quantile(values, 0.5, axis=1), np.full(3, np.nan))
    assert np.isnan(np.asarray(td.jit(lambda x: np.quantile(x, 0.5, axis=1))(values))).all()
    assert J.shape == (3, 3, 5)


def test_quantile_ties_follow_the_stable_sort():
    """Equal entries: each output entry has derivative 1 towards exactly one input entry,
    the one a stable sort puts in its place (as for np.sort and in JAX)."""
    tied = np.array([0.5, 0.2, 0.5, 0.5, 0.9])
    J = np.asarray(td.jacobian(lambda x: np.quantile(x, 0.5))(tied))
    np.testing.assert_array_equal(J, [0.0, 0.0, 1.0, 0.0, 0.0])


def test_interp_takes_the_right_hand_slope_at_a_knot(jax):
    knots, values = np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 3.0])
    ours = np.asarray(td.jacobian(lambda x: np.interp(x, knots, values))(np.array([1.0, 2.0])))
    theirs = jax.jacobian(lambda x: jax.numpy.interp(x, knots, values))(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, np.diag([2.0, 2.0]))  # the last knot: its segment's


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x: np.quantile(x, x[0, 0]), r"numpy\.quantile.*q is a traced value"),
        (lambda x: np.quantile(x, 0.5, method="weibull"), r"numpy\.quantile.*method='weibull'"),
        (lambda x: np.interp(x, [0.0, 1.0], [1.0, 2.0], period=2.0), r"numpy\.interp.*period"),
        (lambda x: np.gradient(x, x[0]), r"numpy\.gradient.*spacing is a traced value"),
        (lambda x: np.linalg.qr(x.T, mode="complete"), r"numpy\.linalg\.qr.*mode='complete'"),
        (lambda x: np.insert(np.arange(4), 1, x[0, 0]), r"numpy\.insert.*integers of arr"),
        (lambda x: np.poly(x[:, :3]), r"numpy\.poly\b.*eigenvalues"),
    ],
)
def test_what_these_rules_cannot_do_is_refused_naming_the_call(call, message):
    with pytest.raises(td.UnsupportedOperationError, match=message):
        td.jacobian(call)(X)
