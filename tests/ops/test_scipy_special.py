"""scipy.special's ufuncs reach tensordiff through __array_ufunc__ like NumPy's: the
supported ones are differentiated (checked against JAX, to the second derivative), the
others are refused under their real name, scipy.special.<name>."""

import subprocess
import sys

import numpy as np
import pytest

import tensordiff as td

special = pytest.importorskip("scipy.special")

X = np.array([[0.12, 0.93, 0.47], [0.81, 0.05, 0.38]])

# name -> (the JAX twin's path, the point); logit needs (0, 1), gammaln positive numbers
SUPPORTED = {
    "expit": ("scipy.special.expit", 4.0 * X - 2.0),
    "log_expit": ("nn.log_sigmoid", 8.0 * X - 4.0),
    "logit": ("scipy.special.logit", X),
    "erf": ("scipy.special.erf", 3.0 * X - 1.5),
    "erfc": ("scipy.special.erfc", 3.0 * X - 1.5),
    "ndtr": ("scipy.special.ndtr", 4.0 * X - 2.0),
    "log_ndtr": ("scipy.special.log_ndtr", 12.0 * X - 10.0),  # deep in the left tail too
    "gammaln": ("scipy.special.gammaln", 3.0 * X + 0.5),
}
# two-argument ones, at (x, y) = (X, Y): x log y and the entropies
Y = X[::-1, ::-1] + 0.2
BINARY = ["xlogy", "xlog1py", "rel_entr", "kl_div"]


def _jax_function(jax, path: str):
    function = jax
    for part in path.split("."):
        function = getattr(function, part)
    return function


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_supported_special_function_agrees_with_jax(name, jax):
    path, x = SUPPORTED[name]
    ours, theirs = getattr(special, name), _jax_function(jax, path)
    np.testing.assert_allclose(
        np.asarray(td.jacobian(lambda x: ours(x) * x)(x)),
        jax.jacobian(lambda x: theirs(x) * x)(x),
        rtol=1e-10,
        atol=1e-12,
    )
    if name == "gammaln":
        return  # its derivative psi has no rule: the second derivative is refused (below)
    np.testing.assert_allclose(
        np.asarray(td.hessian(lambda x: np.sum(ours(x)))(x)),
        jax.hessian(lambda x: jax.numpy.sum(theirs(x)))(x),
        rtol=1e-9,
        atol=1e-12,
    )


@pytest.mark.parametrize("name", BINARY)
def test_x_log_y_and_the_divergences_agree_with_jax_in_both_arguments(name, jax):
    ours, theirs = getattr(special, name), getattr(jax.scipy.special, name)
    for argnum in (0, 1):
        np.testing.assert_allclose(
            np.asarray(td.hessian(lambda x, y: np.sum(ours(x, y)), argnums=argnum)(X, Y)),
            jax.hessian(lambda x, y: jax.numpy.sum(theirs(x, y)), argnums=argnum)(X, Y),
            rtol=1e-10,
            atol=1e-12,
        )
        np.testing.assert_allclose(
            np.asarray(td.jacobian(lambda x, y: ours(x, y) * x, argnums=argnum)(X, Y)),
            jax.jacobian(lambda x, y: theirs(x, y) * x, argnums=argnum)(X, Y),
            rtol=1e-10,
            atol=1e-12,
        )


def test_entr_agrees_with_jax(jax):
    np.testing.assert_allclose(
        np.asarray(td.hessian(lambda x: np.sum(special.entr(x) * x))(X)),
        jax.hessian(lambda x: jax.numpy.sum(jax.scipy.special.entr(x) * x))(X),
        rtol=1e-10,
    )


def test_xlogy_at_x_zero_is_zero_with_derivative_log_y_in_x_and_zero_in_y():
    x, y = np.array([0.0, 0.5]), np.array([2.0, 3.0])
    dx = np.asarray(td.jacobian(special.xlogy, argnums=0)(x, y))
    dy = np.asarray(td.jacobian(special.xlogy, argnums=1)(x, y))
    np.testing.assert_allclose(np.diag(dx), np.log(y))
    np.testing.assert_allclose(np.diag(dy), [0.0, 0.5 / 3.0])


def test_a_second_derivative_without_a_rule_is_refused_by_its_scipy_name():
    with pytest.raises(td.UnsupportedOperationError, match=r"scipy\.special\.psi\b"):
        td.hessian(lambda x: np.sum(special.gammaln(x)))(X + 0.5)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda x: special.i0(x), "i0"),
        (lambda x: special.i1(x), "i1"),
        (lambda x: special.xlogy.outer(x[0], x[1]), "xlogy.outer"),
        (lambda x: special.erfinv(x), "erfinv"),
    ],
)
def test_unsupported_special_function_is_named_by_its_module(call, name):
    with pytest.raises(td.UnsupportedOperationError, match=rf"scipy\.special\.{name}\b") as e:
        td.jacobian(call)(X)
    assert "numpy." + name not in str(e.value)


def test_supported_operations_lists_them_by_their_module():
    td.jacobian(special.expit)(X)  # scipy.special is imported: its rules are known
    assert "scipy.special.expit" in td.supported_operations()


def test_importing_tensordiff_imports_no_scipy():
    code = "import sys, tensordiff; print('scipy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_softmax_works_on_traced_values_as_jax_softmax(axis, jax):
    def theirs(x):
        return jax.nn.softmax(x, axis=axis if axis is not None else (0, 1))

    np.testing.assert_allclose(
        np.asarray(td.jacobian(lambda x: special.softmax(x, axis=axis))(X)),
        jax.jacobian(theirs)(X),
        rtol=1e-12,
        atol=1e-14,
    )
    weights = np.arange(1.0, 7.0).reshape(X.shape)
    np.testing.assert_allclose(
        np.asarray(td.hessian(lambda x: np.sum(special.softmax(x, axis=axis) * weights))(X)),
        jax.hessian(lambda x: jax.numpy.sum(theirs(x) * weights))(X),
        rtol=1e-10,
        atol=1e-12,
    )
    replayed = td.jit(td.jacobian(lambda x: special.softmax(x, axis=axis)))
    replayed(X)
    np.testing.assert_allclose(
        np.asarray(replayed(2.0 * X)), jax.jacobian(theirs)(2.0 * X), rtol=1e-12, atol=1e-14
    )


def test_softmax_of_plain_arrays_is_scipy_s_own():
    td.jacobian(lambda x: special.softmax(x))(X)  # a trace ran: scipy's asarray is wrapped
    plain = special.softmax([[0.5, 1.0], [2.0, 0.0]], axis=1)  # a list: converted as before
    assert type(plain) is np.ndarray
    expected = np.exp([[0.5, 1.0], [2.0, 0.0]])
    np.testing.assert_allclose(plain, expected / expected.sum(1, keepdims=True), rtol=1e-15)


# X with a tie for the maximum of its first row: where scipy's own algorithm (the maximal
# entries taken out of the sum) would give a wrong second derivative
TIED = np.array([[0.4, 0.9, 0.9], [0.3, -1.2, 2.0]])
WEIGHTS = np.array([[1.0, 0.0, 2.0], [0.5, 3.0, 1.0]])
LOG_SUM_EXP = {
    "logsumexp": (lambda s, x: s.logsumexp(x), lambda j, x: j.scipy.special.logsumexp(x)),
    "logsumexp-axis-keepdims": (
        lambda s, x: s.logsumexp(x, axis=1, keepdims=True),
        lambda j, x: j.scipy.special.logsumexp(x, axis=1, keepdims=True),
    ),
    "logsumexp-weights": (
        lambda s, x: s.logsumexp(x, axis=0, b=WEIGHTS),
        lambda j, x: j.scipy.special.logsumexp(x, axis=0, b=WEIGHTS),
    ),
    "logsumexp-traced-weights": (
        lambda s, x: s.logsumexp(TIED, axis=1, b=x + 1.5),
        lambda j, x: j.scipy.special.logsumexp(TIED, axis=1, b=x + 1.5),
    ),
    "logsumexp-sign": (
        lambda s, x: s.logsumexp(x, b=WEIGHTS - 0.7, return_sign=True)[0],
        lambda j, x: j.scipy.special.logsumexp(x, b=WEIGHTS - 0.7, return_sign=True)[0],
    ),
    "log_softmax": (
        lambda s, x: s.log_softmax(x, axis=1),
        lambda j, x: j.nn.log_softmax(x, axis=1),
    ),
    "log_softmax-all": (lambda s, x: s.log_softmax(x), lambda j, x: j.nn.log_softmax(x, (0, 1))),
}


@pytest.mark.parametrize("name", sorted(LOG_SUM_EXP))
def test_logsumexp_and_log_softmax_agree_with_jax_to_the_second_derivative(name, jax):
    ours, theirs = LOG_SUM_EXP[name]
    for x in (X, TIED):
        np.testing.assert_allclose(ours(special, x), theirs(jax, x), rtol=1e-13)
        np.testing.assert_allclose(
            np.asarray(td.jacobian(lambda x: ours(special, x))(x)),
            jax.jacobian(lambda x: theirs(jax, x))(x),
            rtol=1e-12,
            atol=1e-14,
        )
        np.testing.assert_allclose(
            np.asarray(td.hessian(lambda x: np.sum(ours(special, x) ** 2))(x)),
            jax.hessian(lambda x: jax.numpy.sum(theirs(jax, x) ** 2))(x),
            rtol=1e-10,
            atol=1e-12,
        )
    replayed = td.jit(td.jacobian(lambda x: ours(special, x)))
    replayed(X)
    np.testing.assert_allclose(
        np.asarray(replayed(TIED)),
        jax.jacobian(lambda x: theirs(jax, x))(TIED),
        rtol=1e-12,
        atol=1e-14,
    )


def test_logsumexp_imported_by_name_before_any_trace_works():
    code = (
        "import numpy as np, tensordiff as td\n"
        "from scipy.special import logsumexp, log_softmax\n"
        "x = np.log([1.0, 3.0])\n"
        "print(*np.asarray(td.grad(logsumexp)(x)),"
        " *np.asarray(td.grad(lambda x: log_softmax(x)[0])(x)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    np.testing.assert_allclose(
        [float(v) for v in result.stdout.split()], [0.25, 0.75, 0.75, -0.75], err_msg=result.stderr
    )


def test_logsumexp_of_plain_arrays_is_scipy_s_own():
    td.jacobian(lambda x: special.logsumexp(x))(X)  # a trace ran: the module's names replaced
    assert special.logsumexp([1000.0, 1000.0]) == 1000.0 + np.log(2.0)
    np.testing.assert_allclose(special.log_softmax([[0.5, 1.0]]), [[-0.974077, -0.474077]], 1e-6)
    value, sign = special.logsumexp([0.0, 0.0], b=[1.0, -2.0], return_sign=True)
    assert (value, sign) == (0.0, -1.0)


def test_what_the_refusal_suggests_for_logsumexp_is_right(jax):
    suggested = td.jacobian(lambda x: np.logaddexp.reduce(x, axis=1))(X)
    expected = jax.jacobian(lambda x: jax.scipy.special.logsumexp(x, axis=1))(X)
    np.testing.assert_allclose(np.asarray(suggested), expected, rtol=1e-12, atol=1e-14)
