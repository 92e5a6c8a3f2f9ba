"""Matrix forms as the Matrix Cookbook writes them, each checked against its closed form.

The vec convention stacks columns, so vec(A X B) = (Bᵀ ⊗ A) vec X; a gradient of a
scalar has its argument's shape.
"""

import numpy as np
import pytest

import tensordiff as td

rng = np.random.default_rng(11)
A, B = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
X = rng.normal(size=(3, 3)) + 3.0 * np.eye(3)
W, x, u = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=2)


def _vec(J) -> np.ndarray:
    n_out = len(J.out_indices)
    if n_out == 0:
        return np.asarray(J)
    return np.asarray(J).reshape(-1, int(np.prod(J.shape[n_out:])), order="F")


@pytest.mark.parametrize(
    "f, arg, form, closed",
    [
        (lambda X: A @ X @ B, X, "∂vec f/∂vec X = Bᵀ ⊗ A", lambda: np.kron(B.T, A)),
        (lambda X: np.trace(A @ X @ B), X, "∂f/∂X = Aᵀ Bᵀ", lambda: A.T @ B.T),
        (
            lambda X: np.linalg.inv(X),
            X,
            "∂vec f/∂vec X = −X⁻ᵀ ⊗ X⁻¹",
            lambda: -np.kron(np.linalg.inv(X).T, np.linalg.inv(X)),
        ),
        (lambda X: np.trace(X.T @ X), X, "∂f/∂X = 2 X", lambda: 2 * X),
        (lambda v: v @ A @ v, x[:3], "∂f/∂v = (A + Aᵀ) v", lambda: (A + A.T) @ x[:3]),
        (lambda v: np.dot(v, A.T @ v), x[:3], "∂f/∂v = (Aᵀ + A) v", lambda: (A + A.T) @ x[:3]),
        (lambda X: np.linalg.slogdet(X)[1], X, "∂f/∂X = X⁻ᵀ", lambda: np.linalg.inv(X).T),
        (lambda X: np.log(np.linalg.det(X)), X, "∂f/∂X = X⁻ᵀ", lambda: np.linalg.inv(X).T),
        (lambda v: np.outer(v, u), x, "∂vec f/∂v = u ⊗ I₄", lambda: np.kron(u[:, None], np.eye(4))),
        (
            lambda W: np.sum(np.tanh(W @ x)),
            W,
            "∂f/∂W = (1 − tanh²(W x)) xᵀ",
            lambda: np.outer(1 - np.tanh(W @ x) ** 2, x),
        ),
    ],
)
def test_cookbook_matrix_forms(f, arg, form, closed):
    e = td.explain(f)(arg)
    assert e.matrix == form
    np.testing.assert_allclose(_vec(e.jacobian), closed(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "f, arg, formula",
    [
        (lambda X: np.trace(X.T @ X), X, "∂f/∂X[i,j] = 2 X[i,j]"),
        (lambda v: A.T @ v, x[:3], "∂f[i]/∂v[j] = A[j,i]"),
        (lambda v: np.sum(np.where(v > 0, v, 0.1 * v)), x, "∂f/∂v[i] = g₁[i] + 0.1 g₂[i]"),
        (lambda W: np.sum((W @ x - 1.0) ** 2), W, "∂f/∂W[i,j] = 2 (W x − 1)[i] x[j]"),
    ],
)
def test_numbers_stand_in_front_and_transposes_are_entries(f, arg, formula):
    printed = td.jacobian(f)(arg).formula.partition(", where ")[0]
    assert printed == formula


def test_a_mean_squared_error_reads_an_exact_fraction():
    """(2/3) (W x − y) xᵀ: the mean's 1/n and the square's 2 multiplied exactly (it printed
    0.6666666666666666, and the matrix form 0.3333333333333333 2 (W x − y) xᵀ)."""
    y = rng.normal(size=3)
    e = td.explain(lambda W: np.mean((W @ x - y) ** 2))(W)
    assert e.formula == "∂f/∂W[i,j] = (2/3) (W x − y)[i] x[j]"
    assert e.matrix == "∂f/∂W = (2/3) (W x − y) xᵀ"
    np.testing.assert_allclose(np.asarray(e.jacobian), np.outer(W @ x - y, x) * 2 / 3, rtol=1e-14)
    assert r"&= (2/3)\,(W x - y)\,x^{\top}" in e.latex()


def _softmax(v, axis=None):
    e = np.exp(v - np.max(v, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _stabilised_softmax():
    def f(z):  # as a course writes it
        e = np.exp(z - np.max(z))
        return e / np.sum(e)

    return f


_SOFTMAX_ENTRIES = "∂f[i]/∂z[j] = s[i] (δ[i,j] − s[j]), where s = softmax(z)"
_SOFTMAX_MATRIX = "∂f/∂z = diag(s) − s sᵀ, where s = softmax(z)"


@pytest.mark.parametrize(
    "softmax",
    [
        lambda z: np.exp(z) / np.sum(np.exp(z)),
        _stabilised_softmax(),  # the shift z − max z cancels: s is softmax(z), no path through max
        lambda z: np.exp(z - np.min(z)) / np.sum(np.exp(z - np.min(z))),
        lambda z: (lambda e: e / np.sum(e))(np.exp(z - z[0])),
    ],
    ids=["plain", "stabilised", "shifted by the minimum", "shifted by an entry"],
)
def test_softmax_reads_diag_s_minus_s_s_transposed(softmax):
    e = td.explain(softmax)(x)
    assert (e.formula, e.matrix) == (_SOFTMAX_ENTRIES, _SOFTMAX_MATRIX)
    assert "f[i] = s = softmax(z)" in str(e)  # the trace names the composite once
    s = _softmax(x)
    np.testing.assert_allclose(np.asarray(e.jacobian), np.diag(s) - np.outer(s, s), atol=1e-15)
    assert r"\operatorname{diag}(s) - s s^{\top}" in e.latex()


def test_softmax_along_an_axis_keeps_the_other_axis_apart():
    def f(Z):
        shifted = np.exp(Z - np.max(Z, axis=1, keepdims=True))
        again = np.exp(Z - np.max(Z, axis=1, keepdims=True))  # computed twice, as often
        return shifted / np.sum(again, axis=1, keepdims=True)

    J = td.jacobian(f)(W)
    assert J.formula == (
        "∂f[i,j]/∂Z[k,l] = δ[i,k] s[i,j] (δ[j,l] − s[i,l]), where s = softmax(Z, axis=1)"
    )
    s = _softmax(W, axis=1)
    closed = np.einsum("ik,jl,ij->ijkl", np.eye(3), np.eye(4), s) - np.einsum(
        "ik,ij,il->ijkl", np.eye(3), s, s
    )
    np.testing.assert_allclose(np.asarray(J), closed, atol=1e-15)


def assert_not_recognised(source: str, point, absent: list[str], **tolerance) -> None:
    """``source`` (a lambda of NumPy, A, W and x) is no composite: its formula has none of
    ``absent``, and its Jacobian equals the forward order's, primitive by primitive."""
    f = eval(source, {"np": np, "A": A, "W": W, "x": x})
    J = td.jacobian(f)(point)
    for text in absent:
        assert text not in J.formula
    reference = td.jacobian(f, mode="forward")(point)
    np.testing.assert_allclose(np.asarray(J), np.asarray(reference), **tolerance)


@pytest.mark.parametrize(
    "source",
    [
        "np.exp(z) / np.sum(np.exp(z), axis=1)",  # row i divided by the sum of column i
        "np.exp(z) / np.sum(np.exp(2 * z))",
        "np.exp(z) / np.sum(np.exp(z.T), axis=0)",
        "np.exp(z - np.max(z)) / np.sum(np.exp(z - np.min(z)))",  # two different shifts
        "np.exp(z) / np.sum(np.exp(z)[::-1], axis=0)",
    ],
)
def test_what_is_not_a_softmax_is_not_called_one(source):
    assert_not_recognised(f"lambda z: {source}", X, ["softmax"], atol=1e-14)


def test_a_shift_along_another_axis_is_not_cancelled():
    """softmax(Z − max(Z, axis=0)) along axis 1 is no softmax of Z: the shift stays."""

    def f(Z):
        shifted = np.exp(Z - np.max(Z, axis=0, keepdims=True))
        again = np.exp(Z - np.max(Z, axis=0, keepdims=True))  # computed twice, as often
        return shifted / np.sum(again, axis=1, keepdims=True)

    formula = td.jacobian(f)(W).formula
    assert "s = softmax(Z − max(Z, axis=0, keepdims=True), axis=1)" in formula
    assert " w[k,l]" in formula  # the path through the maximum is kept


@pytest.mark.parametrize(
    "sigmoid",
    [
        lambda z: 1 / (1 + np.exp(-z)),
        lambda z: 1.0 / (np.exp(-z) + 1.0),
        lambda z: np.reciprocal(1 + np.exp(-1 * z)),
    ],
)
def test_a_hand_written_sigmoid_reads_sigma_one_minus_sigma(sigmoid):
    e = td.explain(sigmoid)(x)
    assert e.formula == "∂f[i]/∂z[j] = δ[i,j] σ[i] (1 − σ)[i], where σ = 1 / (1 + exp(−z))"
    assert e.matrix == "∂f/∂z = diag(σ ⊙ (1 − σ)), where σ = 1 / (1 + exp(−z))"
    sigma = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(np.asarray(e.jacobian), np.diag(sigma * (1 - sigma)), rtol=1e-15)
    assert r"\sigma_{i}\,(1 - \sigma)_{i}" in e.latex()


@pytest.mark.parametrize(
    "source", ["2 / (1 + np.exp(-z))", "1 / (1 + np.exp(z))", "1 / (2 + np.exp(-z))"]
)
def test_what_is_not_a_sigmoid_is_not_called_one(source):
    assert_not_recognised(f"lambda z: {source}", x, ["σ"], rtol=1e-14)


def test_a_sigmoid_inside_a_loss_keeps_its_symbol():
    g = td.grad(lambda z: np.sum((1 / (1 + np.exp(-z)) - 1.0) ** 2))(x)
    assert g.formula == "∂f/∂z[i] = 2 (σ − 1)[i] σ[i] (1 − σ)[i], where σ = 1 / (1 + exp(−z))"


@pytest.mark.parametrize(
    "source",
    [
        "np.sum(u * (lambda e: e / np.sum(e))(np.exp(z - np.max(z))))",
        "np.sum(u * np.exp(z) / np.sum(np.exp(z), axis=0, keepdims=True))",
        "np.sum(u / (1 + np.exp(-z)))",
        "np.log(np.linalg.det(z[:, :2] @ z[:, :2].T + 2 * np.eye(2)))",
        "np.sum(u[0] * (z[0] - np.max(z[0]) - np.log(np.sum(np.exp(z[0] - np.max(z[0]))))))",
        "np.sum(u[:, 0] * np.logaddexp.reduce(z, axis=1))",
        "np.sum(u * (z - np.mean(z, axis=1, keepdims=True))"
        " / np.sqrt(np.var(z, axis=1, keepdims=True) + 1e-5))",
        "np.sum(u * (z - np.mean(z, axis=0)) / np.std(z, axis=0, ddof=1))",
    ],
)
def test_composites_differentiate_twice_as_jax_does(jax, source):
    """The composite's rule is written in traceable operations: its Hessian is right."""
    jnp = jax.numpy
    point = rng.normal(size=(2, 3))
    weights = rng.normal(size=(2, 3))
    ours = td.hessian(eval(f"lambda z: {source}", {"np": np, "u": weights}))(point)
    theirs = jax.hessian(eval(f"lambda z: {source}", {"np": jnp, "u": weights}))(point)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-10, atol=1e-12)


def test_a_quadratic_form_reads_a_plus_a_transposed_x():
    J = td.jacobian(lambda v: v @ (A @ v))(x[:3])
    assert J.formula == "∂f/∂v[i] = ((A + Aᵀ) v)[i]"
    H = td.hessian(lambda v: v @ A @ v)(x[:3])
    assert H.formula == "∂²f/∂v[i]∂v[j] = A[j,i] + A[i,j]"
    np.testing.assert_allclose(np.asarray(H), A + A.T, rtol=1e-15)


@pytest.mark.parametrize(
    "source, point",
    [
        ("v @ A @ x[:3]", x[:3]),  # another vector on the right
        ("x[:3] @ A @ v", x[:3]),
        ("v[:3] @ W @ v", x),  # W is 3×4: no quadratic form
        ("v @ np.outer(v, v) @ v", x[:3]),  # a matrix that depends on v
        ("v[::-1] @ A @ v", x[:3]),
    ],
)
def test_what_is_not_a_quadratic_form_is_not_called_one(source, point):
    assert_not_recognised(f"lambda v: {source}", point, ["+ Aᵀ", "+ Wᵀ"], rtol=1e-13)


def test_the_log_of_a_determinant_reads_the_inverse_transposed():
    J = td.jacobian(lambda X: np.log(np.linalg.det(X)))(X)
    assert J.formula == "∂f/∂X[i,j] = X⁻¹[j,i]"
    flipped = X[::-1]  # a negative determinant: log gives NaN, as NumPy does; X⁻ᵀ stays
    assert np.linalg.det(flipped) < 0
    with np.errstate(invalid="ignore"):
        value, g = td.value_and_grad(lambda X: np.log(np.linalg.det(X)))(flipped)
    assert np.isnan(value)
    np.testing.assert_allclose(np.asarray(g), np.linalg.inv(flipped).T, rtol=1e-12)


@pytest.mark.parametrize(
    "log_det", [lambda X: np.log(np.linalg.det(X)), lambda X: np.linalg.slogdet(X)[1]]
)
def test_the_hessian_of_log_det_reads_minus_inverse_times_inverse(jax, log_det):
    """∂²log det X/∂X[i,j]∂X[k,l] = −X⁻¹[j,k] X⁻¹[l,i] (the Matrix Cookbook's
    −(X⁻ᵀ ⊗ X⁻¹) up to the order of vec); once printed with cofactors of minors and an
    undefined K1 and S."""
    H = td.hessian(log_det)(X)
    assert H.formula == "∂²f/∂X[i,j]∂X[k,l] = −X⁻¹[j,k] X⁻¹[l,i]"
    theirs = jax.hessian(lambda X: jax.numpy.linalg.slogdet(X)[1])(X)
    np.testing.assert_allclose(np.asarray(H), np.asarray(theirs), rtol=1e-10, atol=1e-12)


def test_the_third_derivative_of_log_det_names_only_inverses(jax):
    """A rule's factor reshaped to its own shape prints as itself (it printed as
    ``−reshape(−X⁻¹, (3, 3))[j,k]``)."""
    T = td.jacobian(td.hessian(lambda X: np.log(np.linalg.det(X))))(X)
    assert T.formula == (
        "∂f[i,j,k,l]/∂X[m,n] = X⁻¹[j,k] X⁻¹[l,m] X⁻¹[n,i] + X⁻¹[l,i] X⁻¹[j,m] X⁻¹[n,k]"
    )
    theirs = jax.jacfwd(jax.hessian(lambda X: jax.numpy.linalg.slogdet(X)[1]))(X)
    np.testing.assert_allclose(np.asarray(T), np.asarray(theirs), rtol=1e-10, atol=1e-12)
    assert "reshape" not in td.hessian(lambda X: np.sum(np.linalg.inv(X)))(X).formula


@pytest.mark.parametrize(
    "source", ["np.log(np.abs(np.linalg.det(X)))", "np.log(2 * np.linalg.det(X))"]
)
def test_a_logarithm_of_something_else_is_no_log_determinant(source):
    f = eval(f"lambda X: {source}", {"np": np})
    J = td.jacobian(f)(X)
    assert "⁻¹" not in J.formula
    np.testing.assert_allclose(np.asarray(J), np.linalg.inv(X).T, rtol=1e-12)


@pytest.mark.parametrize(
    "log_sum_exp",
    [
        lambda z: np.log(np.sum(np.exp(z))),
        lambda z: np.max(z) + np.log(np.sum(np.exp(z - np.max(z)))),  # the paths through max cancel
    ],
    ids=["plain", "stabilised"],
)
def test_the_gradient_of_log_sum_exp_is_the_softmax(log_sum_exp):
    e = td.explain(log_sum_exp)(x)
    assert e.formula == "∂f/∂z[i] = s[i], where s = softmax(z)"
    np.testing.assert_allclose(np.asarray(e.jacobian), _softmax(x), rtol=1e-14)


@pytest.mark.parametrize(
    "source, formula",
    [
        ("np.log(np.sum(np.exp(z)))", "s[i] (δ[i,j] − s[j])"),
        ("np.max(z) + np.log(np.sum(np.exp(z - np.max(z))))", "s[i] (δ[i,j] − s[j])"),
        ("np.sum(z - np.log(np.sum(np.exp(z))))", "4 s[i] (s[j] − δ[i,j])"),
    ],
)
def test_the_hessian_of_log_sum_exp_is_the_softmax_jacobian(jax, source, formula):
    """diag(s) − s sᵀ, with s named: it printed exp(x − reshape(log(sum(exp(x))), (1,)))
    and exp(log(s))."""
    H = td.hessian(eval(f"lambda z: {source}", {"np": np}))(x)
    assert H.formula == f"∂²f/∂z[i]∂z[j] = {formula}, where s = softmax(z)"
    theirs = jax.hessian(eval(f"lambda z: {source}", {"np": jax.numpy}))(x)
    np.testing.assert_allclose(np.asarray(H), np.asarray(theirs), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "log_softmax",
    [
        lambda z: z - np.log(np.sum(np.exp(z))),
        lambda z: np.log(np.exp(z) / np.sum(np.exp(z))),
        lambda z: z - np.max(z) - np.log(np.sum(np.exp(z - np.max(z)))),
    ],
    ids=["z − log Σ exp z", "log(softmax)", "stabilised"],
)
def test_log_softmax_reads_identity_minus_ones_s_transposed(log_softmax):
    e = td.explain(log_softmax)(x)
    assert e.formula == "∂f[i]/∂z[j] = δ[i,j] − s[j], where s = softmax(z)"
    assert e.matrix == "∂f/∂z = I − 𝟙 sᵀ, where s = softmax(z)"
    closed = np.eye(4) - np.outer(np.ones(4), _softmax(x))
    np.testing.assert_allclose(np.asarray(e.jacobian), closed, atol=1e-15)


def test_softmax_cross_entropy_reads_s_minus_y():
    """s Σ_a y[a] − y: the textbook s − y for a one-hot (or any probability) y, whose sum
    the formula does not assume is 1; s stands in front of the Σ that does not run over
    it (Σ_a y[a] s[i] read as if s were summed too)."""
    y = np.array([0.0, 1.0, 0.0, 0.0])

    def loss(z):
        return -np.sum(y * np.log(np.exp(z) / np.sum(np.exp(z))))

    g = td.grad(loss)(x)
    assert g.formula == "∂loss/∂z[i] = s[i] Σ_a y[a] − y[i], where s = softmax(z)"
    np.testing.assert_allclose(np.asarray(g), _softmax(x) - y, atol=1e-15)
    y = np.array([0.5, 2.0, 0.0, 1.0])  # weights that do not sum to 1: s Σy − y, not s − y
    g = td.grad(loss)(x)
    assert g.formula == "∂loss/∂z[i] = s[i] Σ_a y[a] − y[i], where s = softmax(z)"
    np.testing.assert_allclose(np.asarray(g), 3.5 * _softmax(x) - y, atol=1e-14)


def test_cross_entropy_through_log_sum_exp_reads_without_brackets_and_has_a_matrix_form():
    """The whole side is one sum: no bracket around it (it printed (s[i] Σ_a y[a] − y[i]));
    and its matrix form is (Σ_a y[a]) s − y (it had none)."""
    y = np.array([0.5, 2.0, 0.0, 1.0])
    e = td.explain(lambda z: -np.sum(y * (z - np.log(np.sum(np.exp(z))))))(x)
    assert e.formula == "∂f/∂z[i] = s[i] Σ_a y[a] − y[i], where s = softmax(z)"
    assert e.matrix == "∂f/∂z = (Σ_a y[a]) s − y, where s = softmax(z)"
    np.testing.assert_allclose(np.asarray(e.jacobian), 3.5 * _softmax(x) - y, atol=1e-14)
    assert r"(\sum_{a} y_{a})\,s - y" in e.latex()


@pytest.mark.parametrize(
    "f, formula, matrix, closed",
    [
        (
            lambda X: np.linalg.norm(X),
            "∂f/∂X[i,j] = X[i,j] / ‖X‖_F",  # it printed 2 (1 / (2 √sum(X ⊙ X))) X[i,j]
            "∂f/∂X = X / ‖X‖_F",
            lambda: X / np.linalg.norm(X),
        ),
        (lambda X: np.linalg.norm(X) ** 2, "∂f/∂X[i,j] = 2 X[i,j]", "∂f/∂X = 2 X", lambda: 2 * X),
        (lambda X: np.sum(X**2) / 2, "∂f/∂X[i,j] = X[i,j]", "∂f/∂X = X", lambda: X),  # 2 (1 / 2) X
    ],
)
def test_numbers_inside_a_reciprocal_cancel_against_the_terms_own(f, formula, matrix, closed):
    e = td.explain(f)(X)
    assert (e.formula, e.matrix) == (formula, matrix)
    np.testing.assert_allclose(np.asarray(e.jacobian), closed(), rtol=1e-13)


def test_a_number_inside_a_reciprocal_stays_when_it_would_make_a_fraction():
    """δ[i,j] / (2 √x)[i], not (1/2) δ[i,j] / √x[i]: a 2 is moved only to cancel."""
    J = td.jacobian(lambda x: np.sqrt(x))(x**2)
    assert J.formula == "∂f[i]/∂x[j] = δ[i,j] / (2 √x)[i]"
    np.testing.assert_allclose(np.asarray(J), np.diag(0.5 / np.abs(x)), rtol=1e-14)


def test_a_negated_difference_in_front_of_a_term_is_turned_round():
    """Softmax cross-entropy of a layer: (s[i] Σ_a y[a] − y[i]) x[j], not
    −(y[i] − s[i] Σ_a y[a]) x[j]; in matrix form ((Σ_a y[a]) s − y) xᵀ."""
    y = np.array([0.2, 0.5, 0.3])
    e = td.explain(lambda W: -np.sum(y * np.log(np.exp(W @ x) / np.sum(np.exp(W @ x)))))(W)
    assert e.formula == "∂f/∂W[i,j] = (s[i] Σ_a y[a] − y[i]) x[j], where s = softmax(W x)"
    assert e.matrix == "∂f/∂W = ((Σ_a y[a]) s − y) xᵀ, where s = softmax(W x)"
    np.testing.assert_allclose(np.asarray(e.jacobian), np.outer(_softmax(W @ x) - y, x), atol=1e-14)


def test_a_shift_that_differs_is_not_cancelled():
    f = lambda z: np.min(z) + np.log(np.sum(np.exp(z - np.max(z))))  # noqa: E731
    formula = td.jacobian(f)(x).formula
    assert "softmax(z − max(z))" in formula and "w₁" in formula  # both extremes' paths kept


def test_attention_names_its_softmax():
    keys, values = rng.normal(size=(3, 4)), rng.normal(size=(3, 2))

    def attention(Q):
        scores = Q @ keys.T / 2.0
        e = np.exp(scores - np.max(scores, axis=1, keepdims=True))
        return e / np.sum(e, axis=1, keepdims=True) @ values

    J = td.jacobian(attention)(W[:2])
    assert J.formula == (
        "∂attention[i,j]/∂Q[k,l] = (1/2) δ[i,k] Σ_a s[i,a] (values[a,j] − Σ_b"
        " values[b,j] s[i,b]) keys[a,l], where s = softmax((Q keysᵀ) / 2, axis=1)"
    )  # 693 characters before the softmax was named; s[i,a] is taken out of the sum


def test_a_variance_reads_var_not_its_expansion():
    J = td.jacobian(lambda z: np.sqrt(np.var(z, ddof=1)))(x)
    assert "√var(z, ddof=1)" in J.formula and "⊙" not in J.formula


_LAYER_NORM = (
    "∂f[i]/∂z[j] = (δ[i,j] − 1/4 − (1/4) {z}[i] {z}[j]) / σ,"
    " where μ = mean(z), σ = {sigma}, {z} = (z − μ) / σ"
)


@pytest.mark.parametrize(
    "normalise, sigma",
    [
        (lambda z: (z - np.mean(z)) / np.std(z), "√var(z)"),  # 628 characters before
        (lambda z: (z - np.mean(z)) / np.sqrt(np.var(z) + 1e-5), "√(var(z) + 10⁻⁵)"),  # 656
        (
            lambda z: (z - np.mean(z)) / np.sqrt(np.mean((z - np.mean(z)) ** 2) + 1e-5),
            "√(mean((z − μ)²) + 10⁻⁵)",
        ),
    ],
)
def test_a_layer_norm_reads_with_sigma_and_z_hat_named(normalise, sigma):
    """(δ[i,j] − 1/n − ẑ[i] ẑ[j]/n) / σ with ẑ the standardised z (it printed as y, which
    read as the output) and σ its denominator; ε as 10⁻⁵, not 1e-05; the common 1 / σ
    of the terms taken out (it printed δ[i,j] (1 / σ) + (−1/4 (1 / σ) − …)); each
    quantity named once in the legend and used by name in the later entries (x̂'s entry
    spelt σ out in full)."""
    e = td.explain(normalise)(x)
    assert e.formula == _LAYER_NORM.format(sigma=sigma, z="z\u0302")  # z, combining hat
    eps = 0.0 if sigma == "√var(z)" else 1e-5
    s = np.sqrt(np.var(x) + eps)
    y = (x - np.mean(x)) / s
    closed = (np.eye(4) - 1 / 4 - np.outer(y, y) / 4) / s
    np.testing.assert_allclose(np.asarray(e.jacobian), closed, rtol=1e-12, atol=1e-14)
    assert r"\hat{z}_{i}" in e.latex() and "1e-05" not in e.latex()


def test_a_layer_norm_of_an_expression_is_not_named_after_an_argument():
    J = td.jacobian(lambda v: (A @ v - np.mean(A @ v)) / np.std(A @ v))(x[:3])
    assert "h\u0302 = (A v − μ) / σ" in J.formula and "v\u0302" not in J.formula
    assert "μ = mean(A v)" in J.formula and "σ = √var(A v)" in J.formula


@pytest.mark.parametrize(
    "source",
    [
        "(z - np.mean(z, axis=1, keepdims=True)) / np.std(z, axis=0, keepdims=True)",
        "(z - np.mean(z, axis=1)) / np.std(z, axis=1)",  # a row's mean from the wrong axis
        "(z - np.mean(z)) / np.std(2 * z)",
        "(z - np.mean(z[::-1], axis=0)) / np.std(z, axis=0)",
    ],
)
def test_what_is_no_layer_norm_is_not_called_one(source):
    assert_not_recognised(f"lambda z: {source}", A, ["y["], rtol=1e-12, atol=1e-14)


# ---- sums of contributions (issue 11) ------------------------------------------------
y3 = rng.normal(size=3)


@pytest.mark.parametrize(
    "f, formula, matrix, closed",
    [
        (  # ridge regression: it printed 0.5 (2 w)[i] + Σ_a (2 (W w − y3))[a] W[a,i]
            lambda w: np.sum((W @ w - y3) ** 2) + 0.5 * np.sum(w**2),
            "∂f/∂w[i] = w[i] + 2 Σ_a (W w − y3)[a] W[a,i]",
            "∂f/∂w = w + 2 Wᵀ (W w − y3)",
            lambda w: 2 * W.T @ (W @ w - y3) + w,
        ),
        (
            lambda w: np.sum((W @ w - y3) ** 2) + 3 * np.sum(w**2),
            "∂f/∂w[i] = 6 w[i] + 2 Σ_a (W w − y3)[a] W[a,i]",
            "∂f/∂w = 6 w + 2 Wᵀ (W w − y3)",
            lambda w: 2 * W.T @ (W @ w - y3) + 6 * w,
        ),
        (  # three contributions, one a row vector times a matrix
            lambda w: np.sum(np.sin(w)) + y3 @ (W @ w) + 0.25 * np.sum((2 * w) ** 2),
            "∂f/∂w[i] = 2 w[i] + Σ_a y3[a] W[a,i] + cos(w)[i]",
            "∂f/∂w = 2 w + Wᵀ y3 + cos(w)",
            lambda w: np.cos(w) + W.T @ y3 + 2 * w,
        ),
        (  # the matrix form printed + (2 w), losing the ones of the sum's gradient
            lambda w: np.sum(w**2 + w),
            "∂f/∂w[i] = 1 + 2 w[i]",
            "∂f/∂w = 𝟙 + 2 w",
            lambda w: 1 + 2 * w,
        ),
    ],
)
def test_a_sum_of_contributions_folds_its_numbers_and_has_a_matrix_form(f, formula, matrix, closed):
    """Each contribution's numbers multiplied out (0.5 · 2 = 1) and the matrix forms of the
    contributions added, as the Matrix Cookbook writes ∂‖X w − y‖²/∂w = 2 Xᵀ (X w − y)."""
    w = x
    e = td.explain(f)(w)
    assert (e.formula, e.matrix) == (formula, matrix)
    np.testing.assert_allclose(np.asarray(e.jacobian), closed(w), rtol=1e-12)


# ---- square roots of integers (issue 11) --------------------------------------------
@pytest.mark.parametrize(
    "f, formula, scale",
    [
        (lambda v: v / np.sqrt(2), "∂f[i]/∂v[j] = δ[i,j] / √2", 1 / np.sqrt(2)),
        (lambda v: np.sqrt(2) * v, "∂f[i]/∂v[j] = √2 δ[i,j]", np.sqrt(2)),
        (lambda v: v * (1 / np.sqrt(3)), "∂f[i]/∂v[j] = (1/√3) δ[i,j]", 1 / np.sqrt(3)),
        (lambda v: -v / np.sqrt(v.shape[0]), "∂f[i]/∂v[j] = −(1/2) δ[i,j]", -0.5),  # √4 = 2
        # a rounded √2 is no √2: it keeps its digits
        (lambda v: 1.41421356 * v, "∂f[i]/∂v[j] = 1.41421356 δ[i,j]", 1.41421356),
        (lambda v: np.sqrt(4) * v, "∂f[i]/∂v[j] = 2 δ[i,j]", 2.0),
    ],
)
def test_a_constant_that_is_the_square_root_of_an_integer_prints_as_one(f, formula, scale):
    """np.sqrt(n) of an integer n reaches the trace as a float; the float64 nearest √n
    (and 1/√n) prints as √n, any other number with its digits."""
    J = td.jacobian(f)(x)
    assert J.formula == formula
    np.testing.assert_allclose(np.asarray(J), scale * np.eye(4), rtol=1e-15)


def test_attention_scaled_by_the_square_root_of_the_key_size_prints_the_root():
    keys = rng.normal(size=(3, 2))

    def attention(Q):
        scores = Q @ keys.T / np.sqrt(Q.shape[1])
        e = np.exp(scores)
        return e / np.sum(e, axis=1, keepdims=True)

    Q = rng.normal(size=(4, 2))
    e = td.explain(attention)(Q)
    assert "1.414" not in e.formula + e.latex() and "softmax((Q keysᵀ) / √2, axis=1)" in e.formula
    assert r"\sqrt{2}" in e.latex()
    s = attention(Q)
    closed = np.einsum("ik,ij,jl->ijkl", np.eye(4), s, keys) - np.einsum(
        "ik,ij,ia,al->ijkl", np.eye(4), s, s, keys
    )
    np.testing.assert_allclose(np.asarray(e.jacobian), closed / np.sqrt(2), atol=1e-14)


# ---- norms and unit vectors (issue 11) ------------------------------------------------
@pytest.mark.parametrize(
    "f, formula, matrix, closed",
    [
        (  # it printed (δ[i,j] − (x / (√sum(x ⊙ x))²)[i] x[j]) / √sum(x ⊙ x)
            lambda v: v / np.linalg.norm(v),
            "∂f[i]/∂v[j] = (δ[i,j] − v̂[i] v̂[j]) / ‖v‖, where v̂ = v / ‖v‖",
            "∂f/∂v = I / ‖v‖ − v̂ v̂ᵀ / ‖v‖, where v̂ = v / ‖v‖",
            lambda v: (np.eye(4) - np.outer(v, v) / (v @ v)) / np.sqrt(v @ v),
        ),
        (  # written by hand, with other squares
            lambda v: v / np.sqrt(np.sum(v**2)),
            "∂f[i]/∂v[j] = (δ[i,j] − v̂[i] v̂[j]) / ‖v‖, where v̂ = v / ‖v‖",
            "∂f/∂v = I / ‖v‖ − v̂ v̂ᵀ / ‖v‖, where v̂ = v / ‖v‖",
            lambda v: (np.eye(4) - np.outer(v, v) / (v @ v)) / np.sqrt(v @ v),
        ),
        (
            lambda v: np.sqrt(np.sum(np.square(np.sin(v)))),
            "∂f/∂v[i] = sin(v)[i] cos(v)[i] / ‖sin(v)‖",
            "∂f/∂v = (sin(v) ⊙ cos(v)) / ‖sin(v)‖",
            lambda v: np.sin(v) * np.cos(v) / np.linalg.norm(np.sin(v)),
        ),
        (
            lambda v: np.linalg.norm(v) * v,
            "∂f[i]/∂v[j] = δ[i,j] ‖v‖ + v[i] v[j] / ‖v‖",
            "∂f/∂v = ‖v‖ I + v vᵀ / ‖v‖",
            lambda v: np.linalg.norm(v) * np.eye(4) + np.outer(v, v) / np.linalg.norm(v),
        ),
    ],
)
def test_a_norm_reads_as_a_norm_and_a_unit_vector_as_one(f, formula, matrix, closed):
    e = td.explain(f)(x)
    assert (e.formula, e.matrix) == (formula, matrix)
    np.testing.assert_allclose(np.asarray(e.jacobian), closed(x), rtol=1e-12, atol=1e-14)


def test_the_norm_of_a_difference_keeps_the_difference_whole():
    """‖(M − B)‖_F: the bars are no brackets to a reader that parts sums at their signs."""
    e = td.explain(lambda M: np.linalg.norm(M - B))(X)
    assert e.formula == "∂f/∂M[i,j] = (M − B)[i,j] / ‖(M − B)‖_F"
    assert e.matrix == "∂f/∂M = (M − B) / ‖(M − B)‖_F"
    np.testing.assert_allclose(np.asarray(e.jacobian), (X - B) / np.linalg.norm(X - B), rtol=1e-13)


def test_the_hessian_of_a_frobenius_norm_is_the_textbook_one():
    H = td.hessian(lambda M: np.linalg.norm(M))(X)
    assert H.formula == "∂²f/∂M[i,j]∂M[k,l] = (δ[i,k] δ[j,l] − M[i,j] M[k,l] / ‖M‖_F²) / ‖M‖_F"
    n, flat = np.linalg.norm(X), X.ravel()
    closed = (np.eye(9) - np.outer(flat, flat) / n**2) / n
    np.testing.assert_allclose(np.asarray(H).reshape(9, 9), closed, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "source, absent",
    [
        ("np.sqrt(np.sum(z * z, axis=0))", ["‖"]),  # the norms of columns
        ("np.sqrt(np.sum(z * z, keepdims=True))", ["‖"]),
        ("np.sqrt(np.sum(z * z[::-1]))", ["‖"]),  # no sum of squares
        ("np.sqrt(np.sum(z ** 3))", ["‖"]),
        ("z / np.linalg.norm(z[::-1])", ["ẑ"]),  # divided by another array's norm
    ],
)
def test_what_is_no_norm_is_not_called_one(source, absent):
    point = np.abs(A) + 1.0
    assert_not_recognised(f"lambda z: {source}", point, absent, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "f, formula, matrix, closed",
    [
        (  # the matrix form printed −(−u − sin(v))
            lambda v: -(np.sum(np.cos(v)) - np.sum(v * x)),
            "∂f/∂v[i] = x[i] + sin(v)[i]",
            "∂f/∂v = x + sin(v)",
            lambda v: x + np.sin(v),
        ),
        (  # the formula printed −(−Σ_a … + Σ_b …)
            lambda v: -(np.sum(W @ np.cos(v)) - np.sum(np.exp(W @ v))),
            "∂f/∂v[i] = Σ_a exp(W v)[a] W[a,i] + sin(v)[i] Σ_b W[b,i]",
            None,
            lambda v: W.sum(axis=0) * np.sin(v) + W.T @ np.exp(W @ v),
        ),
    ],
)
def test_a_negated_sum_is_negated_part_by_part(f, formula, matrix, closed):
    e = td.explain(f)(x)
    assert e.formula == formula and e.matrix == matrix
    np.testing.assert_allclose(np.asarray(e.jacobian), closed(x), rtol=1e-12)


def test_a_layer_between_two_others_reads_w_diag_g_w():
    """Backpropagation's Jacobian through a middle layer: Σ_a A[i,a] g[a] W[a,j] = A diag(g) W."""
    e = td.explain(lambda v: A @ np.tanh(W @ v))(x)
    assert e.formula == "∂f[i]/∂v[j] = Σ_a A[i,a] (1 − tanh²(W v))[a] W[a,j]"
    assert e.matrix == "∂f/∂v = A diag(1 − tanh²(W v)) W"
    closed = A @ np.diag(1 - np.tanh(W @ x) ** 2) @ W
    np.testing.assert_allclose(np.asarray(e.jacobian), closed, rtol=1e-12)


def test_equal_contributions_are_added_into_one():
    """v · v has two paths, each giving v: 2 v, not v + v."""
    e = td.explain(lambda v: v @ v + 2 * (v @ x))(x[::-1].copy())
    assert (e.formula, e.matrix) == ("∂f/∂v[i] = 2 x[i] + 2 v[i]", "∂f/∂v = 2 x + 2 v")
    np.testing.assert_allclose(np.asarray(e.jacobian), 2 * x + 2 * x[::-1], rtol=1e-14)


# ---- a sum inside one term, simplified (issue 11's last pass) -------------------------
def test_attention_takes_the_common_factors_out_of_its_sum():
    """It printed δ[i,k] ((1/√2) s[i,j] keys[j,l] − (1/√2) s[i,j] Σ_a s[i,a] keys[a,l])."""
    keys, Q = (
        np.random.default_rng(3).normal(size=(3, 2)),
        np.random.default_rng(4).normal(size=(4, 2)),
    )

    def attention(Q):
        e = np.exp(Q @ keys.T / np.sqrt(Q.shape[1]))
        return e / np.sum(e, axis=1, keepdims=True)

    J = td.jacobian(attention)(Q)
    assert J.formula == (
        "∂attention[i,j]/∂Q[k,l] = (1/√2) δ[i,k] s[i,j] (keys[j,l] − Σ_a s[i,a] keys[a,l]),"
        " where s = softmax((Q keysᵀ) / √2, axis=1)"
    )
    s = attention(Q)
    closed = np.einsum("ik,ij,ijl->ijkl", np.eye(4), s, keys[None, :, :] - (s @ keys)[:, None, :])
    np.testing.assert_allclose(np.asarray(J), closed / np.sqrt(2), atol=1e-14)


def test_powers_of_one_norm_divide():
    """‖v − c‖³ has the derivative 3 ‖v − c‖ (v − c); it printed 3 ‖(v − c)‖² (v − c)[i] /
    ‖(v − c)‖."""
    c = np.random.default_rng(5).normal(size=4)
    e = td.explain(lambda v: np.linalg.norm(v - c) ** 3)(x)
    assert e.formula == "∂f/∂v[i] = 3 ‖(v − c)‖ (v − c)[i]"
    assert e.matrix == "∂f/∂v = 3 ‖(v − c)‖ (v − c)"
    np.testing.assert_allclose(
        np.asarray(e.jacobian), 3 * np.linalg.norm(x - c) * (x - c), rtol=1e-13
    )


def test_binary_cross_entropy_cancels_each_reciprocal_against_its_factor():
    """(1 / (1 − σ)) σ (1 − σ) is σ and (1 / σ) σ (1 − σ) is 1 − σ: the gradient reads
    (1 − y) σ − y (1 − σ), which is σ − y (1 − y is computed before the call: K1)."""
    y = np.random.default_rng(6).uniform(size=4)

    def bce(z):
        sigma = 1 / (1 + np.exp(-z))
        return -np.sum(y * np.log(sigma) + (1 - y) * np.log(1 - sigma))

    e = td.explain(bce)(x)
    where = ", where σ = 1 / (1 + exp(−z)), K1 = a constant array, none of the arguments"
    assert e.formula == "∂bce/∂z[i] = K1[i] σ[i] − y[i] (1 − σ)[i]" + where
    assert e.matrix == "∂bce/∂z = K1 ⊙ σ − y ⊙ (1 − σ)" + where
    np.testing.assert_allclose(np.asarray(e.jacobian), 1 / (1 + np.exp(-x)) - y, rtol=1e-12)


@pytest.mark.parametrize(
    "f, formula, matrix, closed",
    [
        (  # it printed (2 max(v, 0.9)[i] g[i])
            lambda v: np.sum(np.maximum(v, 0.9) * np.maximum(v, 0.9)),
            "∂f/∂v[i] = 2 max(v, 0.9)[i] g[i], where g = [v > 0.9] + ½ [v = 0.9]",
            "∂f/∂v = 2 max(v, 0.9) ⊙ g, where g = [v > 0.9] + ½ [v = 0.9]",
            lambda v: 2 * np.maximum(v, 0.9) * (v > 0.9),
        ),
        (  # it printed δ[i,j] (2 max(v, 0.9)[i] g[i])
            lambda v: np.maximum(v, 0.9) * np.maximum(v, 0.9),
            "∂f[i]/∂v[j] = 2 δ[i,j] max(v, 0.9)[i] g[i], where g = [v > 0.9] + ½ [v = 0.9]",
            "∂f/∂v = 2 diag(max(v, 0.9) ⊙ g), where g = [v > 0.9] + ½ [v = 0.9]",
            lambda v: np.diag(2 * np.maximum(v, 0.9) * (v > 0.9)),
        ),
        (  # its matrix form printed (exp(…) ⊙ (g₁ + 0.5 g₂))
            lambda v: np.sum(np.exp(np.where(v > 0, v, 0.5 * v))),
            "∂f/∂v[i] = exp(where(g₁, v, 0.5 v))[i] (g₁[i] + 0.5 g₂[i]),"
            " where g₁ = [v > 0], g₂ = 1 − [v > 0]",
            "∂f/∂v = exp(where(g₁, v, 0.5 v)) ⊙ (g₁ + 0.5 g₂),"
            " where g₁ = [v > 0], g₂ = 1 − [v > 0]",
            lambda v: np.exp(np.where(v > 0, v, 0.5 * v)) * np.where(v > 0, 1.0, 0.5),
        ),
    ],
)
def test_a_whole_side_in_one_bracket_prints_without_it(f, formula, matrix, closed):
    e = td.explain(f)(x)
    assert (e.formula, e.matrix) == (formula, matrix)
    np.testing.assert_allclose(np.asarray(e.jacobian), closed(x), rtol=1e-13)


def test_sums_that_differ_only_in_their_letters_are_like_terms():
    """(2/3) Σ_a w[a] v[a] − (2/3) Σ_b w[b] v[b] is 0; the matrix form printed both, each
    with the coefficient 0.6666666666666666."""
    e = td.explain(lambda v: np.sum((np.mean(v - v) * v - v) ** 2))(x)
    assert e.formula == "∂f/∂v[i] = 2 (mean(v − v) v − v)[i] (mean(v − v) − 1)"
    assert e.matrix == "∂f/∂v = −2 (mean(v − v) v − v) + 2 mean(v − v) (mean(v − v) v − v)"
    np.testing.assert_allclose(np.asarray(e.jacobian), 2 * x, rtol=1e-14)  # mean(v − v) is 0


def test_a_negated_negation_prints_no_double_sign():
    """‖−c‖ of c = cumsum(v) took the derivative (−−cumsum(v) / ‖−cumsum(v)‖²)[a]."""
    e = td.explain(lambda v: np.sum((-np.cumsum(v) / np.linalg.norm(-np.cumsum(v))) ** 2))(x)
    assert "−−" not in e.formula + (e.matrix or "")
    assert "(cumsum(v) / ‖−cumsum(v)‖²)[a]" in e.formula
    np.testing.assert_allclose(np.asarray(e.jacobian), np.zeros(4), atol=1e-14)  # f is 1


@pytest.mark.parametrize(
    "f, formula, matrix, closed",
    [
        (  # it printed δ[i,j] (0 + (1 − tanh²(v))[i]) and diag(0 𝟙 + (1 − tanh²(v)))
            lambda v: np.tanh(v) + v - v,
            "∂f[i]/∂v[j] = δ[i,j] (1 − tanh²(v))[i]",
            "∂f/∂v = diag(1 − tanh²(v))",
            lambda v: np.diag(1 - np.tanh(v) ** 2),
        ),
        (  # it printed 0 δ[i,j] + … and 0 I + …
            lambda v: v[::-1] - (v - v),
            "∂f[i]/∂v[j] = S[i,j], where S = one-hot rows picking entries (3, 2, 1, 0)",
            "∂f/∂v = S, where S = one-hot rows picking entries (3, 2, 1, 0)",
            lambda v: np.eye(4)[::-1],
        ),
    ],
)
def test_a_product_times_zero_is_left_out(f, formula, matrix, closed):
    e = td.explain(f)(x)
    assert (e.formula, e.matrix) == (formula, matrix)
    np.testing.assert_allclose(np.asarray(e.jacobian), closed(x), rtol=1e-14)


def test_a_second_derivative_adds_equal_summands_and_multiplies_its_numbers(jax):
    """var's Hessian printed sin(v) − mean(sin(v)) + sin(v) − mean(sin(v)) (a sum of two
    equal expressions), reshape(…, (1,)) of a scalar added to a vector, and the product
    (1/3) cos(v)[i] (2/3) cos(v)[j] with its numbers apart."""
    v = x[:3]
    H = td.hessian(lambda v: np.var(np.sin(v)))(v)
    deviation = "2 (sin(v) − mean(sin(v)))"
    assert H.formula == (
        f"∂²f/∂v[i]∂v[j] = δ[i,j] (−(1/3) ({deviation} − (1/3) sum({deviation}))[i] sin(v)[i]"
        " + (2/3) cos(v)[i] cos(v)[i]) − (2/9) cos(v)[i] cos(v)[j]"
    )
    theirs = jax.hessian(lambda v: jax.numpy.var(jax.numpy.sin(v)))(v)
    np.testing.assert_allclose(np.asarray(H), np.asarray(theirs), rtol=1e-12, atol=1e-14)


def test_a_number_that_a_factor_simplifies_to_stands_in_front(jax):
    """∂²tr(X X)/∂X[i,j]∂X[k,l] printed δ[i,l] δ[j,k] (2): the factor (1 + 1) is a number."""
    H = td.hessian(lambda X: np.trace(X @ X))(X)
    assert H.formula == "∂²f/∂X[i,j]∂X[k,l] = 2 δ[i,l] δ[j,k]"
    theirs = jax.hessian(lambda X: jax.numpy.trace(X @ X))(X)
    np.testing.assert_allclose(np.asarray(H), np.asarray(theirs), rtol=1e-14)


@pytest.mark.parametrize(
    "source, formula",
    [
        ("np.tanh(v - u + v - u)", "2 δ[i,j] (1 − tanh²(2 (v − u)))[i]"),
        ("np.sin(v + v + v)", "3 δ[i,j] cos(3 v)[i]"),
        # a reshape that only puts size-1 axes in front is what broadcasting does anyway
        ("np.sin(v + np.reshape(np.sum(v), (1,)))", "cos(v + sum(v))[i] (δ[i,j] + 1)"),
        ("v * np.expand_dims(np.sum(v), 0)", "δ[i,j] sum(v) + v[i]"),
    ],
)
def test_an_expression_adds_its_equal_summands_and_drops_a_broadcast_reshape(jax, source, formula):
    v = x[:2]
    J = td.jacobian(eval(f"lambda v: {source}", {"np": np, "u": u}))(v)
    assert J.formula == f"∂f[i]/∂v[j] = {formula}"
    theirs = jax.jacobian(eval(f"lambda v: {source}", {"np": jax.numpy, "u": u}))(v)
    np.testing.assert_allclose(np.asarray(J), np.asarray(theirs), rtol=1e-12, atol=1e-14)


def test_a_reshape_that_adds_an_axis_at_the_end_stays_in_the_expression(jax):
    """(3,) to (3, 1) is no broadcast of a vector: X + reshape(s, (3, 1)) adds s along rows."""
    source = "np.sin(X + np.reshape(np.sum(X, axis=1), (3, 1)))"
    J = td.jacobian(eval(f"lambda X: {source}", {"np": np}))(X)
    assert "cos(X + reshape(sum(X, axis=1), (3, 1)))[i,j]" in J.formula
    theirs = jax.jacobian(eval(f"lambda X: {source}", {"np": jax.numpy}))(X)
    np.testing.assert_allclose(np.asarray(J), np.asarray(theirs), rtol=1e-12, atol=1e-14)
