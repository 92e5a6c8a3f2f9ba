"""Arrays built from traced values (np.array, np.asarray and kin, np.r_, np.c_, np.block,
reductions of lists): derivatives against JAX to the second order and through td.jit;
NumPy's own results, dtypes, identities and errors for everything else, in any thread."""

import subprocess
import sys
import threading

import numpy as np
import pytest

import tensordiff as td

X = np.array([0.7, -1.3, 2.1])
C = np.array([0.5, 1.5, -2.5])  # a constant the user's code holds

# name -> (tensordiff's program, its twin in JAX: a function of the namespace `jnp`)
PROGRAMS = {
    "array of entries": (
        lambda x: np.array([x[1], x[0]]),
        lambda jnp: lambda x: jnp.array([x[1], x[0]]),
    ),
    "array of a diagonal": (
        lambda x: np.array([[x[0], 0], [0, x[1]]]),
        lambda jnp: lambda x: jnp.array([[x[0], 0.0], [0.0, x[1]]]),
    ),
    "nested tuples, numbers and ndarrays": (
        lambda x: np.array([(x[0] * x[1], 2.0, x[2]), C, np.sin(x)]),
        lambda jnp: lambda x: jnp.array([(x[0] * x[1], 2.0, x[2]), C, jnp.sin(x)]),
    ),
    "array of vectors": (
        lambda x: np.array([x, x**2, C]),
        lambda jnp: lambda x: jnp.array([x, x**2, C]),
    ),
    "asarray of a traced value": (
        lambda x: np.asarray(x) * C,
        lambda jnp: lambda x: jnp.asarray(x) * C,
    ),
    "array of a traced value": (
        lambda x: np.array(x, copy=True) ** 2,
        lambda jnp: lambda x: jnp.array(x, copy=True) ** 2,
    ),
    "asanyarray of a list": (
        lambda x: np.asanyarray([x[2], x[0] * x[1]]),
        lambda jnp: lambda x: jnp.asarray([x[2], x[0] * x[1]]),
    ),
    "ndmin": (
        lambda x: np.array([x[0], x[1] ** 2], ndmin=3),
        lambda jnp: lambda x: jnp.array([x[0], x[1] ** 2], ndmin=3),
    ),
    "ascontiguousarray of a 0-d value": (
        lambda x: np.ascontiguousarray(x[0] * x[1]),
        lambda jnp: lambda x: jnp.reshape(x[0] * x[1], (1,)),
    ),
    "asfortranarray": (
        lambda x: np.asfortranarray([x, C]).T,
        lambda jnp: lambda x: jnp.stack([x, C]).T,
    ),
    "r_ with numbers and slices": (
        lambda x: np.r_[x, 0, x[::-1] * 2, 1:3],
        lambda jnp: lambda x: jnp.r_[x, 0, x[::-1] * 2, 1:3],
    ),
    "r_ with a directive": (
        lambda x: np.r_["0,2", x, C],
        lambda jnp: lambda x: jnp.r_["0,2", x, C],
    ),
    "c_": (
        lambda x: np.c_[x, x**2, C],
        lambda jnp: lambda x: jnp.c_[x, x**2, C],
    ),
    "block": (
        lambda x: np.block([[x[:2], 0.0], [x[1:], x[0]]]),
        lambda jnp: lambda x: jnp.block([[x[:2], 0.0], [x[1:], x[0]]]),
    ),
    "mean of a list": (
        lambda x: np.mean([x, x + 2]),
        lambda jnp: lambda x: jnp.mean(jnp.stack([x, x + 2])),
    ),
    "sum of a list along an axis": (
        lambda x: np.sum([x[0], x[1] * x[2]], axis=0),
        lambda jnp: lambda x: jnp.sum(jnp.stack([x[0], x[1] * x[2]]), axis=0),
    ),
    "std and max of lists": (
        lambda x: np.std([x, x**2], axis=0) + np.max([x, C]),
        lambda jnp: lambda x: jnp.std(jnp.stack([x, x**2]), axis=0) + jnp.max(jnp.stack([x, C])),
    ),
    "cumsum of a list": (
        lambda x: np.cumsum([x[0], x[1], x[2] ** 2]),
        lambda jnp: lambda x: jnp.cumsum(jnp.stack([x[0], x[1], x[2] ** 2])),
    ),
    "vstack of a list": (
        lambda x: np.vstack([x, [1, 2, 3]]),
        lambda jnp: lambda x: jnp.vstack([x, jnp.array([1.0, 2.0, 3.0])]),
    ),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_built_arrays_agree_with_jax_to_the_second_order(name, jax):
    ours, twin = PROGRAMS[name]
    theirs = twin(jax.numpy)
    np.testing.assert_allclose(np.asarray(ours(X)), np.asarray(theirs(X)), rtol=1e-13)
    np.testing.assert_allclose(
        np.asarray(td.jacobian(ours)(X)), jax.jacobian(theirs)(X), rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(
        np.asarray(td.hessian(lambda x: np.sum(np.sin(ours(x))))(X)),
        jax.hessian(lambda x: jax.numpy.sum(jax.numpy.sin(theirs(x))))(X),
        rtol=1e-10,
        atol=1e-12,
    )


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_td_jit_replays_a_built_array_on_new_values(name):
    ours, _ = PROGRAMS[name]
    jitted = td.jit(td.jacobian(ours))
    jitted(X)  # records
    new = X[::-1] * 0.9
    replayed, fresh = jitted(new), td.jacobian(ours)(new)
    np.testing.assert_allclose(np.asarray(replayed), np.asarray(fresh), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(np.asarray(fresh), td.numerical_jacobian(ours, (new,)), atol=1e-6)
    assert jitted.cache_info().hits == 1


def test_a_traced_value_passes_through_asarray_itself_and_array_copies_it():
    seen = []

    def f(x):
        # as NumPy's: a write into np.array(x) must not change x, one into np.asarray(x) must
        seen.append(np.asarray(x) is x and np.asanyarray(x) is x and np.array(x) is not x)
        return x

    np.testing.assert_array_equal(np.asarray(td.jacobian(f)(X)), np.eye(3))
    assert seen == [True]


def test_a_float_dtype_is_a_cast_and_others_are_refused():
    dtypes = []

    def f(x):
        built = np.array([x[0], x[1]], dtype=np.float32)
        dtypes.append(built.dtype)
        return built

    np.testing.assert_array_equal(np.asarray(td.jacobian(f)(X)), np.eye(2, 3))
    assert dtypes == [np.float32]
    for dtype in (int, np.int64, bool, complex, object):
        with pytest.raises(td.UnsupportedDTypeError, match=r"numpy\.array of traced values"):
            td.jacobian(lambda x, dtype=dtype: np.array([x[0], 1], dtype=dtype))(X)
    with pytest.raises(td.UnsupportedDTypeError, match=r"numpy\.asarray .* complex128"):
        td.jacobian(lambda x: np.asarray([x[0], 1j]))(X)


def test_ragged_lists_and_impossible_copies_raise_as_numpy_does():
    cases = [
        (lambda v: [v, [1.0]], {}),
        (lambda v: [[v[0], v[1]], [v[2]]], {}),
        (lambda v: [v[0], v[1]], {"copy": False}),
    ]
    for build, options in cases:
        with pytest.raises(ValueError) as expected:
            np.array(build(np.zeros(3)), **options)
        with pytest.raises(ValueError) as ours:
            td.jacobian(lambda x, build=build, options=options: np.array(build(x), **options))(X)
        assert str(ours.value) == str(expected.value)


def test_numbers_of_numpy_scalar_types_are_refused_naming_the_call():
    with pytest.raises(td.TraceLeakError, match=r"np\.float64\(t\) makes a NumPy scalar"):
        td.grad(lambda x: np.float64(x[0]) * x[1])(X)
    with pytest.raises(td.TraceLeakError, match=r"np\.int64\(t\).*np\.floor"):
        td.grad(lambda x: np.int64(x[0]) * x[1])(X)


def test_conversions_that_cannot_be_built_still_raise():
    with pytest.raises(td.TraceLeakError, match=r"np\.exp\(np\.array\(\[a, b\]\)\)"):
        td.jacobian(lambda x: np.exp([x[0], x[1]]))(X)
    kept = []
    td.jacobian(lambda x: kept.append(x) or x)(X)
    with pytest.raises(td.TraceLeakError, match="after the differentiated call"):
        np.array([kept[0], 1.0])


def test_a_name_bound_before_the_first_trace_is_named_in_the_error():
    program = (
        "from numpy import asarray\n"
        "import numpy as np, tensordiff as td\n"
        "try:\n"
        "    td.jacobian(lambda x: asarray([x[0], x[1]]))(np.ones(2))\n"
        "except td.TraceLeakError as error:\n"
        "    print(error)\n"
        "print(td.jacobian(lambda x: np.asarray([x[0], x[1]]))(np.ones(2)).shape)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    ).stdout
    assert "from numpy import asarray" in shown and "write np.asarray" in shown
    assert shown.splitlines()[-1] == "(2, 2)"


# plain inputs and the arguments they are converted with
PLAIN = [
    ([1, 2, 3], {}),
    ([[1.0, 2.0], [3.0, 4.0]], {"dtype": np.float32}),
    (((1, 2.5), (3, 4)), {"ndmin": 3}),
    (np.arange(6.0).reshape(2, 3), {}),
    (np.arange(6.0).reshape(2, 3).T, {"order": "C"}),
    (np.float32(2.5), {}),
    (7, {"dtype": complex}),
    ([np.ones(2), np.zeros(2)], {}),
    ([], {}),
    (["a", "bc"], {}),
]


CONVERTERS = ("array", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray")


def _results(converters: dict, data, options: dict) -> list:
    """Each converter's result; np.array gets every option, the others the dtype."""
    dtype = {"dtype": options["dtype"]} if "dtype" in options else {}
    return [
        converters[name](data, **(options if name == "array" else dtype)) for name in CONVERTERS
    ]


def test_plain_inputs_get_numpy_own_results_and_identities():
    td.jacobian(lambda x: np.array([x[0], x[1]]))(X)  # the first trace wraps the converters
    wrapped = {name: getattr(np, name) for name in CONVERTERS}
    originals = {name: function.__wrapped__ for name, function in wrapped.items()}
    assert all(
        original is getattr(np._core.multiarray, name) for name, original in originals.items()
    )
    # the public functions whose list arguments are built keep their identity
    fromnumeric = np._core.fromnumeric
    assert all(getattr(np, name) is getattr(fromnumeric, name) for name in ("sum", "mean", "std"))
    for data, options in PLAIN:
        theirs = _results(originals, data, options)
        for ours, reference in zip(_results(wrapped, data, options), theirs, strict=True):
            assert type(ours) is type(reference) and ours.dtype == reference.dtype
            assert ours.flags.c_contiguous == reference.flags.c_contiguous
            assert ours.flags.f_contiguous == reference.flags.f_contiguous
            np.testing.assert_array_equal(ours, reference)
    a = np.arange(4.0)
    assert np.asarray(a) is a and np.asanyarray(a) is a and np.ascontiguousarray(a) is a
    assert np.array(a) is not a and np.asarray(a, dtype=np.float64) is a
    masked = np.ma.array([1.0, 2.0], mask=[False, True])
    assert np.asanyarray(masked) is masked and type(np.asarray(masked)) is np.ndarray
    assert np.sum([1, 2]) == 3 and np.r_[1:3, 5].tolist() == [1, 2, 5]
    with pytest.raises(ValueError, match="inhomogeneous"):
        np.array([[1.0], [2.0, 3.0]])


def test_one_thread_traces_while_another_converts_plain_data():
    data = [[1, 2], [3, 4]]
    expected = np.array(data)
    results, derivatives, stop = [], [], threading.Event()

    def convert():
        while not stop.is_set():
            results.append(np.array(data))
            results.append(np.asarray(np.mean(data, axis=0)))

    worker = threading.Thread(target=convert)
    worker.start()
    try:
        for _ in range(30):
            derivatives.append(np.asarray(td.jacobian(lambda x: np.array([x[1], x[0]]))(X)))
    finally:
        stop.set()
        worker.join()
    assert len(results) > 2
    for built in results[::2]:
        assert built.dtype == expected.dtype
        np.testing.assert_array_equal(built, expected)
    for mean in results[1::2]:
        np.testing.assert_array_equal(mean, [2.0, 3.0])
    for derivative in derivatives:
        np.testing.assert_array_equal(derivative, np.eye(3)[[1, 0]])
