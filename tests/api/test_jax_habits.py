"""The habits users bring from JAX and torch.func: aux data, values, pytrees.

Every result is compared with JAX's on random inputs.
"""

import collections
import dataclasses

import numpy as np
import pytest

import tensordiff as td


def _dense_tree(tree):
    """A tree of td.Tensors as a tree of dense arrays (leaves of other types kept)."""
    return td_trees().tree_map(
        lambda leaf: np.asarray(leaf) if isinstance(leaf, td.Tensor) else leaf, tree
    )


def td_trees():
    from tensordiff.core import trees

    return trees


def assert_trees_close(ours, theirs, rtol=1e-10, atol=1e-12):
    """Same nesting (containers and dict keys) and the same numbers leaf by leaf."""
    trees = td_trees()
    ours = _dense_tree(ours)
    assert trees.structure(ours) == trees.structure(_as_numpy(theirs))
    for mine, reference in zip(trees.leaves(ours), trees.leaves(theirs), strict=True):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(reference), rtol=rtol, atol=atol)


def _as_numpy(tree):
    return td_trees().tree_map(np.asarray, tree)


class Counted:
    """A function that counts its calls."""

    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, *args):
        self.calls += 1
        return self.f(*args)


def _loss_with_aux(np_):
    def loss(W, x):
        hidden = np_.tanh(W @ x)
        return np_.sum(hidden**2), {"hidden": hidden, "norm": np_.sum(W * W)}

    return loss


# ---- aux values and values --------------------------------------------------------


def test_grad_has_aux_matches_jax(jax, rng):
    W, x = rng.normal(size=(3, 4)), rng.normal(size=4)
    g, aux = td.grad(_loss_with_aux(np), has_aux=True)(W, x)
    g_ref, aux_ref = jax.grad(_loss_with_aux(jax.numpy), has_aux=True)(W, x)
    np.testing.assert_allclose(np.asarray(g), g_ref, rtol=1e-10)
    assert_trees_close(aux, aux_ref)
    assert all(type(leaf) is np.ndarray for leaf in td_trees().leaves(aux))


def test_jacobian_and_hessian_has_aux_match_jax(jax, rng):
    x = rng.normal(size=3)

    def f(np_):
        return lambda x: (np_.sin(x) * np_.sum(x**2), np_.cos(x))

    J, aux = td.jacobian(f(np), has_aux=True)(x)
    J_ref, aux_ref = jax.jacobian(f(jax.numpy), has_aux=True)(x)
    np.testing.assert_allclose(np.asarray(J), J_ref, rtol=1e-10)
    np.testing.assert_allclose(aux, aux_ref, rtol=1e-12)

    def scalar(np_):
        return lambda x: (np_.sum(np_.sin(x) * x**3), x * 2.0)

    H, aux = td.hessian(scalar(np), has_aux=True)(x)
    H_ref, aux_ref = jax.hessian(scalar(jax.numpy), has_aux=True)(x)
    np.testing.assert_allclose(np.asarray(H), H_ref, rtol=1e-10)
    np.testing.assert_allclose(aux, aux_ref)
    assert type(aux) is np.ndarray


def test_value_and_grad_runs_f_once_and_matches_jax(jax, rng):
    W, x = rng.normal(size=(3, 4)), rng.normal(size=4)
    counted = Counted(_loss_with_aux(np))
    (value, aux), g = td.value_and_grad(counted, argnums=(0, 1), has_aux=True)(W, x)
    assert counted.calls == 1
    (value_ref, aux_ref), g_ref = jax.value_and_grad(
        _loss_with_aux(jax.numpy), argnums=(0, 1), has_aux=True
    )(W, x)
    np.testing.assert_allclose(value, value_ref, rtol=1e-12)
    assert_trees_close(aux, aux_ref)
    assert_trees_close(g, g_ref)

    plain = Counted(lambda W, x: np.sum(np.tanh(W @ x)))
    value, g = td.value_and_grad(plain)(W, x)
    assert plain.calls == 1
    value_ref, g_ref = jax.value_and_grad(lambda W, x: jax.numpy.sum(jax.numpy.tanh(W @ x)))(W, x)
    np.testing.assert_allclose(value, value_ref, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(g), g_ref, rtol=1e-10)


def test_value_and_jacobian_runs_f_once(jax, rng):
    x = rng.normal(size=4)
    counted = Counted(lambda x: (np.exp(x) * x[::-1], x.sum()))
    (value, aux), J = td.value_and_jacobian(counted, has_aux=True)(x)
    assert counted.calls == 1
    J_ref, aux_ref = jax.jacobian(lambda x: (jax.numpy.exp(x) * x[::-1], x.sum()), has_aux=True)(x)
    np.testing.assert_allclose(value, np.exp(x) * x[::-1], rtol=1e-12)
    np.testing.assert_allclose(np.asarray(J), J_ref, rtol=1e-10)
    np.testing.assert_allclose(aux, aux_ref)


def test_returned_value_is_never_the_users_array():
    x = np.arange(3.0)
    value, _ = td.value_and_jacobian(lambda x: x)(x)
    assert not np.shares_memory(value, x)
    np.testing.assert_array_equal(value, x)


def test_aux_that_is_not_a_pair_is_refused():
    with pytest.raises(td.ShapeError, match="must return a pair"):
        td.grad(lambda x: np.sum(x), has_aux=True)(np.ones(2))


def test_aux_is_not_a_leaked_tracer():
    _, aux = td.grad(lambda x: (np.sum(x**2), [x * 3.0, None]), has_aux=True)(np.ones(2))
    np.testing.assert_allclose(aux[0] + 1.0, [4.0, 4.0])  # usable as a plain array
    assert aux[1] is None


# ---- pytrees ------------------------------------------------------------------------


def _mlp_loss(np_):
    def loss(params, x):
        h = x
        for layer in params["layers"]:
            h = np_.tanh(h @ layer["W"] + layer["b"])
        return np_.sum((h @ params["W_out"]) ** 2) + params["scale"][0][0] * np_.sum(h)

    return loss


def _params(rng):
    return {
        "layers": [
            {"W": rng.normal(size=(4, 5)), "b": rng.normal(size=5)},
            {"W": rng.normal(size=(5, 3)), "b": rng.normal(size=3)},
        ],
        "W_out": rng.normal(size=(3, 2)),
        "scale": (rng.normal(size=1),),
    }


def test_grad_of_nested_params_matches_jax(jax, rng):
    params, x = _params(rng), rng.normal(size=(6, 4))
    g = td.grad(_mlp_loss(np))(params, x)
    g_ref = jax.grad(_mlp_loss(jax.numpy))(params, x)
    assert_trees_close(g, g_ref)
    labels = [leaf.indices for leaf in td_trees().leaves(g)]
    flat = [label for indices in labels for label in indices]
    assert len(flat) == len(set(flat)), labels  # every leaf labelled apart


def test_jacobian_tuple_and_dict_outputs_nest_as_jax(jax, rng):
    a, b = rng.normal(size=3), {"u": rng.normal(size=(2, 3)), "v": None}

    def f(np_):
        return lambda a, b: {"y": (a * b["u"], np_.sum(a)), "z": [np_.exp(a)]}

    for argnums in (0, 1, (0, 1), (1, 0)):
        J = td.jacobian(f(np), argnums=argnums)(a, b)
        J_ref = jax.jacobian(f(jax.numpy), argnums=argnums)(a, b)
        assert_trees_close(J, J_ref)


def test_named_tuples_are_trees_as_in_jax(jax, rng):
    Pair = collections.namedtuple("Pair", "left right")
    p = Pair(rng.normal(size=2), rng.normal(size=2))
    g = td.grad(lambda p: np.sum(p.left * np.sin(p.right)))(p)
    g_ref = jax.grad(lambda p: jax.numpy.sum(p.left * jax.numpy.sin(p.right)))(p)
    assert type(g) is Pair
    assert_trees_close(g, g_ref)


def test_dataclasses_are_refused_clearly():
    @dataclasses.dataclass
    class Params:
        W: np.ndarray

    with pytest.raises(td.UnsupportedDTypeError, match=r"dataclass \(Params\).*asdict"):
        td.grad(lambda p: np.sum(p.W))(Params(np.ones(2)))


def test_labels_on_a_tree_are_refused_clearly():
    with pytest.raises(td.OptionError, match="wrt= labels one array"):
        td.jacobian(lambda p: p["a"] * 2.0, wrt="j")({"a": np.ones(2)})
    with pytest.raises(td.OptionError, match="out= labels one array"):
        td.jacobian(lambda a: (a, a), out="i")(np.ones(2))


def test_grad_of_a_tree_output_is_refused(jax):
    with pytest.raises(td.ShapeError, match="td.grad needs .* scalar.*tuple"):
        td.grad(lambda x: (np.sum(x),))(np.ones(2))


# ---- diagonals and per-sample Jacobians ---------------------------------------------


@pytest.mark.parametrize(
    "f, shape, axes",
    [
        (lambda x: np.tanh(x) * 2.0, (3, 4), [(0, 2), (1, 3), ("i", "k"), (-1, 1)]),
        (lambda x: np.outer(x, np.sin(x)), (4,), [(0, 2), (1, 2), (0, 1)]),
        (lambda x: x.reshape(3, 2).T * np.arange(6.0).reshape(2, 3), (2, 3), [(0, 2), (1, 3)]),
        (lambda x: np.cumsum(x, axis=0) @ x.T, (3, 3), [(0, 1), (0, 3), (1, 2), (2, 3)]),
    ],
)
def test_diagonal_is_numpys_on_the_dense_array(f, shape, axes, rng):
    J = td.jacobian(f)(rng.normal(size=shape))
    dense = np.asarray(J)
    for axis1, axis2 in axes:
        d = J.diagonal(axis1, axis2)
        positions = [J.indices.index(a) if isinstance(a, str) else a for a in (axis1, axis2)]
        expected = np.diagonal(dense, 0, *positions)
        assert d.shape == expected.shape
        np.testing.assert_allclose(np.asarray(d), expected, rtol=1e-12, atol=1e-14)
        kept = [J.indices[n] for n in range(J.ndim) if n not in np.mod(positions, J.ndim)]
        assert d.indices == (*kept, J.indices[positions[0]])


def test_diagonal_of_a_delta_keeps_the_structure(rng):
    W, x = rng.normal(size=(300, 200)), rng.normal(size=200)
    J = td.jacobian(lambda W: W @ x)(W)  # δ[i,j] x[k]: 200 numbers for 300·300·200
    d = J.diagonal("i", "j")
    assert d.stored_nbytes == J.stored_nbytes
    np.testing.assert_allclose(np.asarray(d), np.broadcast_to(x, (300, 200)).T)


def test_diagonal_refuses_what_numpy_would_trim(rng):
    J = td.jacobian(lambda x: x @ np.ones((3, 2)))(rng.normal(size=3))
    with pytest.raises(td.ShapeError, match="equal sizes"):
        J.diagonal(0, 1)
    with pytest.raises(td.ShapeError, match="not a label"):
        J.diagonal("i", "q")


def _mlp_one(np_, W1, W2):
    return lambda x: np_.tanh(np_.tanh(x @ W1) @ W2) * x[..., :3]


def test_per_sample_jacobians_match_vmap_of_jacobian(jax, rng):
    W1, W2, X = rng.normal(size=(5, 8)), rng.normal(size=(8, 3)), rng.normal(size=(7, 5))
    J = td.jacobian(_mlp_one(np, W1, W2), batch=0)(X)
    reference = jax.vmap(jax.jacobian(_mlp_one(jax.numpy, W1, W2)))(X)
    assert J.shape == reference.shape == (7, 3, 5)
    np.testing.assert_allclose(np.asarray(J), reference, rtol=1e-10, atol=1e-13)
    assert J.out_indices == ("i", "j") and J.in_indices == ("l",)


def test_per_sample_jacobians_refuse_functions_mixing_samples(rng):
    with pytest.raises(td.ShapeError, match="mixes"):
        td.jacobian(lambda X: X - np.mean(X, axis=0), batch=0)(rng.normal(size=(4, 2)))


# ---- arrays of other libraries ------------------------------------------------------


def test_torch_and_jax_arrays_are_refused_with_the_conversion(jax):
    torch = pytest.importorskip("torch")
    with pytest.raises(
        td.UnsupportedDTypeError, match=r"argument 0 is a torch\.Tensor.*\.numpy\(\)"
    ):
        td.jacobian(lambda x: x * 2.0)(torch.ones(3, dtype=torch.float64))
    with pytest.raises(td.UnsupportedDTypeError, match=r"argument 0\.W is a jax.*np\.asarray"):
        td.grad(lambda p: np.sum(p["W"]))({"W": jax.numpy.ones(2)})
    with pytest.raises(td.UnsupportedDTypeError, match="torch"):
        td.Tensor(torch.ones(2), "i")
    # converted as the message says, they work
    J = td.jacobian(lambda x: x * 2.0)(torch.ones(3, dtype=torch.float64).detach().cpu().numpy())
    np.testing.assert_allclose(np.asarray(J), 2.0 * np.eye(3))


def test_jit_replays_aux_values_and_trees(rng):
    def loss(params, x):
        hidden = np.tanh(x @ params["W"])
        return np.sum(hidden * params["v"]), {"hidden": hidden}

    jitted = td.jit(td.value_and_grad(loss, has_aux=True))
    for _ in range(3):
        params = {"W": rng.normal(size=(3, 4)), "v": rng.normal(size=4)}
        x = rng.normal(size=(5, 3))
        (value, aux), g = jitted(params, x)
        (value_ref, aux_ref), g_ref = td.value_and_grad(loss, has_aux=True)(params, x)
        np.testing.assert_allclose(value, value_ref, rtol=1e-13)
        np.testing.assert_allclose(aux["hidden"], aux_ref["hidden"], rtol=1e-13)
        for key in ("W", "v"):
            np.testing.assert_allclose(np.asarray(g[key]), np.asarray(g_ref[key]), rtol=1e-13)
    assert jitted.cache_info().hits == 2


def test_hessian_of_a_tree_points_to_nested_jacobians(jax, rng):
    params = {"a": rng.normal(size=2), "b": rng.normal(size=3)}

    def f(np_):
        return lambda p: np_.sum(np_.sin(p["a"])) * np_.sum(p["b"] ** 2)

    with pytest.raises(td.OptionError, match=r"td.jacobian\(td.jacobian\(f\)\)"):
        td.hessian(f(np))(params)
    nested = td.jacobian(td.jacobian(f(np)))(params)
    assert_trees_close(nested, jax.hessian(f(jax.numpy))(params), rtol=1e-10)


def test_value_and_jacobian_per_sample(jax, rng):
    W, X = rng.normal(size=(3, 2)), rng.normal(size=(6, 3))
    value, J = td.value_and_jacobian(lambda X: np.sin(X @ W), batch=0)(X)
    np.testing.assert_allclose(value, np.sin(X @ W), rtol=1e-13)
    reference = jax.vmap(jax.jacobian(lambda x: jax.numpy.sin(x @ W)))(X)
    np.testing.assert_allclose(np.asarray(J), reference, rtol=1e-10)


def test_a_derivative_returned_as_aux_is_plain(jax, rng):
    x = rng.normal(size=3)

    def f(x):
        inner = td.jacobian(np.sin)(x)  # a Jacobian whose factors are traced here
        return np.sum(x**2), inner

    g, inner = td.grad(f, has_aux=True)(x)
    np.testing.assert_allclose(np.asarray(inner), np.diag(np.cos(x)), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(g), 2 * x, rtol=1e-13)


def test_per_sample_gradients_of_shared_parameters_need_no_option(jax, rng):
    W, X, y = rng.normal(size=(4, 3)), rng.normal(size=(8, 4)), rng.normal(size=(8, 3))

    def losses(np_):
        return lambda W, X, y: np_.sum((np_.tanh(X @ W) - y) ** 2, axis=-1)

    ours = td.jacobian(losses(np))(W, X, y)
    reference = jax.vmap(jax.grad(losses(jax.numpy)), in_axes=(None, 0, 0))(W, X, y)
    assert ours.shape == reference.shape == (8, 4, 3)
    np.testing.assert_allclose(np.asarray(ours), reference, rtol=1e-10, atol=1e-13)


# ---- batch= as jax.vmap's in_axes, batch_out= as its out_axes ------------------------


def _layer(np_):
    return lambda X, params: np_.tanh(X @ params["W"] + params["b"]) * X[..., :1]


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1, 0)])
def test_shared_parameters_match_vmap_with_in_axes_none(jax, rng, argnums):
    X = rng.normal(size=(6, 3))
    params = {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}
    ours = td.jacobian(_layer(np), argnums=argnums, batch=(0, None))(X, params)
    reference = jax.vmap(jax.jacobian(_layer(jax.numpy), argnums=argnums), in_axes=(0, None))(
        X, params
    )
    assert_trees_close(ours, reference)


def test_in_axes_as_a_prefix_of_a_dict_argument(jax, rng):
    q = {"a": rng.normal(size=(5, 2)), "s": rng.normal(size=(2, 3))}

    def f(np_):
        return lambda q: np_.exp(q["a"] @ q["s"]) * q["a"][..., :1]

    in_axes = ({"a": 0, "s": None},)
    ours = td.jacobian(f(np), batch=in_axes)(q)
    assert_trees_close(ours, jax.vmap(jax.jacobian(f(jax.numpy)), in_axes=in_axes)(q))
    ours = td.value_and_jacobian(f(np), batch=in_axes)(q)
    np.testing.assert_allclose(ours[0], f(np)(q), rtol=1e-13)


def test_sample_axes_elsewhere_match_vmap_in_axes_and_out_axes(jax, rng):
    W = rng.normal(size=(3, 4))
    Xt = rng.normal(size=(3, 7))  # samples in columns
    ours = td.jacobian(lambda Xt: np.sin(Xt.T @ W).T, batch=1, batch_out=1)(Xt)
    reference = jax.vmap(jax.jacobian(lambda x: jax.numpy.sin(x @ W)), in_axes=1, out_axes=1)(Xt)
    assert ours.shape == reference.shape == (4, 7, 3)
    np.testing.assert_allclose(np.asarray(ours), reference, rtol=1e-10, atol=1e-13)
    # samples in columns in, samples first out (jax.vmap's default out_axes)
    ours = td.jacobian(lambda Xt: np.sin(Xt.T @ W), batch=1)(Xt)
    reference = jax.vmap(jax.jacobian(lambda x: jax.numpy.sin(x @ W)), in_axes=1)(Xt)
    np.testing.assert_allclose(np.asarray(ours), reference, rtol=1e-10, atol=1e-13)


def test_out_axes_per_output_of_a_tuple(jax, rng):
    X = rng.normal(size=(5, 3))

    def f(np_):
        return lambda X: {"y": np_.sin(X).T, "n": np_.sum(X**2, axis=-1)}

    ours = td.jacobian(f(np), batch=0, batch_out={"y": 1, "n": 0})(X)
    reference = jax.vmap(
        jax.jacobian(lambda x: {"y": jax.numpy.sin(x), "n": jax.numpy.sum(x**2)}),
        out_axes={"y": 1, "n": 0},
    )(X)
    # f's output y is (3, B): its per-sample Jacobian keeps B at axis 1, as vmap puts it
    assert_trees_close(ours, reference)


def test_per_sample_gradients_match_vmap_of_grad(jax, rng):
    W, X, y = rng.normal(size=(4, 3)), rng.normal(size=(8, 4)), rng.normal(size=(8, 3))

    def losses(W, X, y):
        return np.sum((np.tanh(X @ W) - y) ** 2, axis=-1)

    def loss_one(W, x, y):
        return jax.numpy.sum((jax.numpy.tanh(x @ W) - y) ** 2)

    in_axes = (None, 0, 0)
    g = td.grad(losses, argnums=(0, 1), batch=in_axes)(W, X, y)
    reference = jax.vmap(jax.grad(loss_one, argnums=(0, 1)), in_axes=in_axes)(W, X, y)
    assert_trees_close(g, reference)
    value, g = td.value_and_grad(losses, batch=in_axes)(W, X, y)
    value_ref, g_ref = jax.vmap(jax.value_and_grad(loss_one), in_axes=in_axes)(W, X, y)
    np.testing.assert_allclose(value, value_ref, rtol=1e-13)
    np.testing.assert_allclose(np.asarray(g), g_ref, rtol=1e-10)
    with pytest.raises(td.ShapeError, match="one loss per sample"):
        td.grad(lambda X: X**2, batch=0)(X)


def test_bad_sample_axes_are_refused_naming_them(rng):
    X, W = rng.normal(size=(6, 3)), rng.normal(size=(3, 2))
    f = lambda X, W: X @ W  # noqa: E731
    with pytest.raises(td.OptionError, match=r"in_axes.*got \[0, None\]"):
        td.jacobian(f, batch=[0, None])(X, W)
    with pytest.raises(td.OptionError, match="has 1 entries but f was called with 2"):
        td.jacobian(f, batch=(0,))(X, W)
    with pytest.raises(td.OptionError, match="no argument a sample axis"):
        td.jacobian(f, batch=(None, None))(X, W)
    with pytest.raises(td.ShapeError, match=r"argument 1 \(axis 0\): 3"):
        td.jacobian(f, argnums=(0, 1), batch=0)(X, W)  # W has no samples: batch=(0, None)
    with pytest.raises(td.ShapeError, match=r"argument 0 has shape \(6, 3\), which has no axis 2"):
        td.jacobian(f, batch=(2, None))(X, W)
    with pytest.raises(td.OptionError, match="do not match the nesting of argument 0"):
        td.jacobian(f, batch=({"a": 0}, None))(X, W)
    with pytest.raises(td.OptionError, match="batch_out=None"):
        td.jacobian(f, batch=(0, None), batch_out=None)(X, W)
    with pytest.raises(td.ShapeError, match="mixes the samples"):
        td.jacobian(lambda X: (X @ W).T @ X, batch=0, batch_out=1)(rng.normal(size=(3, 3)))


def test_jit_replays_per_sample_gradients_of_shared_parameters(jax, rng):
    def losses(params, X, y):
        return np.sum((np.tanh(X @ params["W"]) @ params["v"] - y) ** 2, axis=-1)

    def loss_one(params, x, y):
        return jax.numpy.sum((jax.numpy.tanh(x @ params["W"]) @ params["v"] - y) ** 2)

    jitted = td.jit(td.grad(losses, batch=(None, 0, 0)))
    reference = jax.vmap(jax.grad(loss_one), in_axes=(None, 0, 0))
    for _ in range(3):
        params = {"W": rng.normal(size=(3, 4)), "v": rng.normal(size=(4, 2))}
        X, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
        assert_trees_close(jitted(params, X, y), reference(params, X, y))
    assert jitted.cache_info().hits == 2
