"""The ndarray surface on a traced value: every name in ``dir(np.ndarray)`` is in a table
here, either supported (checked against JAX, or finite differences where JAX has no such
method) or refused by the library's own error naming it. A name NumPy adds fails
``test_every_ndarray_name_is_in_a_table`` until it is given a row.

A supported method calls its ``numpy.<f>``, so it is only as supported as that
function: while ``numpy.<f>`` has no rule, the method is refused naming ``numpy.<f>``,
and the test accepts that only when the registry indeed has no rule for it.
"""

import copy
import operator
import pickle

import numpy as np
import pytest

import tensordiff as td
from tensordiff.errors import TraceAttributeError
from tensordiff.trace import registry

# A 3x4 point with distinct entries (no ties for max/argmax/sort), some above 0.5.
X = np.array([[0.12, 0.93, 0.47, 0.65], [0.81, 0.05, 0.38, 0.29], [0.56, 0.71, 0.24, 0.99]])
SORTED = np.array([0.1, 0.4, 0.45, 0.8, 1.3])

# name -> (the call, written with methods only so that it runs on a JAX array too,
#          the numpy function the method calls, the point)
SUPPORTED = {
    "T": (lambda x: x.T, np.transpose, X),
    "mT": (lambda x: x.mT, np.swapaxes, X),
    "all": (lambda x: x * (x > 0.01).all(), np.all, X),
    "any": (lambda x: x * (x > 0.9).any(axis=1, keepdims=True), np.any, X),
    "argmax": (lambda x: x.take(x.argmax()), np.argmax, X),
    "argmin": (lambda x: x.take(x.argmin(axis=1) + np.array([0, 4, 8])), np.argmin, X),
    "argpartition": (lambda x: x.ravel().take(x.ravel().argpartition(2)[2]), np.argpartition, X),
    "argsort": (lambda x: x.ravel().take(x.ravel().argsort()), np.argsort, X),
    "astype": (lambda x: x.astype(np.float64) * 2.0, registry.cast, X),
    "clip": (lambda x: x.clip(0.3, 0.7), np.clip, X),
    "compress": (lambda x: x.compress(np.array([True, False, True]), axis=0), np.compress, X),
    "conj": (lambda x: x.conj(), np.conjugate, X),
    "conjugate": (lambda x: x.conjugate(), np.conjugate, X),
    "copy": (lambda x: x.copy(), np.copy, X),
    "cumprod": (lambda x: x.cumprod(axis=1), np.cumprod, X),
    "cumsum": (lambda x: x.cumsum(axis=0), np.cumsum, X),
    "diagonal": (lambda x: x.diagonal(1), np.diagonal, X),
    "dot": (lambda x: x.dot(x.T), np.dot, X),
    "flatten": (lambda x: x.flatten(), np.ravel, X),
    "imag": (lambda x: x.imag + x, np.imag, X),
    "max": (lambda x: x.max(axis=0, keepdims=True), np.max, X),
    "mean": (lambda x: x.mean(axis=1), np.mean, X),
    "min": (lambda x: x.min(), np.min, X),
    "prod": (lambda x: x.prod(axis=1), np.prod, X),
    "ravel": (lambda x: x.ravel(), np.ravel, X),
    "real": (lambda x: x.real, np.real, X),
    "repeat": (lambda x: x.repeat(2, axis=0), np.repeat, X),
    "reshape": (lambda x: x.reshape(4, 3), np.reshape, X),
    "round": (lambda x: x.round(1) + x, np.round, X),
    "searchsorted": (lambda x: x.take(x.searchsorted(0.42)), np.searchsorted, SORTED),
    "squeeze": (lambda x: x.reshape(1, 3, 4).squeeze(0), np.squeeze, X),
    "std": (lambda x: x.std(axis=0), np.std, X),
    "sum": (lambda x: x.sum(axis=1, keepdims=True), np.sum, X),
    "swapaxes": (lambda x: x.swapaxes(0, 1), np.swapaxes, X),
    "take": (lambda x: x.take(np.array([0, 0, 2]), axis=1), np.take, X),
    "trace": (lambda x: x.trace(), np.trace, X),
    "transpose": (lambda x: x.transpose(1, 0), np.transpose, X),
    "var": (lambda x: x.var(ddof=1), np.var, X),
}

# JAX arrays have no .flat and no .nonzero under jax.jacobian (a value-dependent size):
# these are checked by finite differences.
BY_DIFFERENCES = {
    "flat": (lambda x: x.flat[5] * x.flat[0:3], np.ravel, X),
    "nonzero": (lambda x: x[(x > 0.5).nonzero()], np.nonzero, X),
}

# Methods that write in place, into a copy: checked by finite differences of the NumPy
# program itself (JAX arrays are immutable).
WRITES = {
    "fill": lambda y, x: y.fill(x[0, 1]),
    "sort": lambda y, x: y.sort(axis=0),
    "partition": lambda y, x: y.partition(1),
    "put": lambda y, x: y.put([0, 5], x[2, :2]),
}

# Facts about the value, equal to the plain array's.
METADATA = ("shape", "ndim", "size", "dtype", "itemsize", "nbytes", "device")

# name -> (how it is used, the library error it raises)
REFUSED = {
    "tolist": (lambda x: x.tolist(), td.TraceLeakError),
    "item": (lambda x: x.item(), td.TraceLeakError),
    "tobytes": (lambda x: x.tobytes(), td.TraceLeakError),
    "tofile": (lambda x: x.tofile("never-written.bin"), td.TraceLeakError),
    "dump": (lambda x: x.dump("never-written.pkl"), td.TraceLeakError),
    "dumps": (lambda x: x.dumps(), td.TraceLeakError),
    "resize": (lambda x: x.resize((4, 3)), td.UnsupportedOperationError),
    "byteswap": (lambda x: x.byteswap(), td.UnsupportedOperationError),
    "getfield": (lambda x: x.getfield(np.float64), td.UnsupportedOperationError),
    "setfield": (lambda x: x.setfield(1.0, np.float64), td.UnsupportedOperationError),
    "setflags": (lambda x: x.setflags(write=False), td.UnsupportedOperationError),
    "view": (lambda x: x.view(np.int64), td.UnsupportedOperationError),
    "to_device": (lambda x: x.to_device("cpu"), td.UnsupportedOperationError),
    # memory layout: also AttributeErrors, so hasattr() elsewhere stays False
    "base": (lambda x: x.base, TraceAttributeError),
    "ctypes": (lambda x: x.ctypes, TraceAttributeError),
    "data": (lambda x: x.data, TraceAttributeError),
    "flags": (lambda x: x.flags, TraceAttributeError),
    "strides": (lambda x: x.strides, TraceAttributeError),
}

# An index argument, never differentiable: refused whether or not numpy.choose has a rule.
INDEX_ONLY = {"choose": lambda x: x.choose([X, 2 * X])}


def test_every_ndarray_name_is_in_a_table():
    public = {name for name in dir(np.ndarray) if not name.startswith("_")}
    tables = [SUPPORTED, BY_DIFFERENCES, WRITES, METADATA, REFUSED, INDEX_ONLY]
    listed = [name for table in tables for name in table]
    assert len(listed) == len(set(listed)), "a name is in two tables"
    assert public - set(listed) == set(), "ndarray names with no row: add them to a table"
    assert set(listed) - public == set()
    dunders = {name for name in dir(np.ndarray) if name.startswith("__")}
    assert dunders - set(DUNDERS) == set(), "ndarray dunders with no row: add them to DUNDERS"


def _refused_for_want_of_a_rule(error: td.UnsupportedOperationError, function) -> bool:
    name = f"numpy.{registry.qualified_name(function)}"
    return name in str(error) and not registry.is_registered(function)


def _jacobian_or_refusal(call, x, function):
    """td.jacobian(call)(x) densely, or None if refused because ``function`` has no rule."""
    try:
        return np.asarray(td.jacobian(call)(x))
    except td.UnsupportedOperationError as error:
        if _refused_for_want_of_a_rule(error, function):
            return None
        raise


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_supported_method_agrees_with_jax(name, jax):
    call, function, x = SUPPORTED[name]
    ours = _jacobian_or_refusal(call, x, function)
    if ours is None:
        return  # refused naming numpy.<f>, which has no rule yet (checked above)
    expected = np.asarray(jax.jacobian(call)(jax.numpy.asarray(x)))
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(BY_DIFFERENCES))
def test_supported_method_agrees_with_differences(name):
    call, function, x = BY_DIFFERENCES[name]
    if _jacobian_or_refusal(call, x, function) is not None:
        td.check_grads(call, (x,))


@pytest.mark.parametrize("name", sorted(WRITES))
def test_method_writing_in_place_agrees_with_differences(name):
    def call(x):
        y = np.sin(x)
        WRITES[name](y, x)
        return y * x

    td.check_grads(call, (X,))


@pytest.mark.parametrize("name", METADATA)
def test_metadata_equals_the_plain_arrays(name):
    seen = []
    td.jacobian(lambda x: seen.append(getattr(x, name)) or x)(X)
    assert seen == [getattr(X, name)]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_method_names_itself(name):
    use, error = REFUSED[name]
    with pytest.raises(error, match=rf"x\.{name}\b"):
        td.jacobian(use)(X)


def test_memory_attributes_are_absent_to_hasattr():
    td.jacobian(lambda x: x if not hasattr(x, "strides") else None)(X)


def test_choose_with_a_traced_index_is_refused():
    with pytest.raises(td.TensorDiffError, match="numpy.choose"):
        td.jacobian(INDEX_ONLY["choose"])(X)


# ---- arguments: axis, keepdims, ddof, order, out= ------------------------------------
@pytest.mark.parametrize(
    "call, function",
    [
        (lambda x: x.max(1), np.max),
        (lambda x: x.min(axis=(0, 1), keepdims=True), np.min),
        (lambda x: x.sum(0, None, None, True), np.sum),
        (lambda x: x.mean(axis=-1, keepdims=True), np.mean),
        (lambda x: x.prod(), np.prod),
        (lambda x: x.cumsum(), np.cumsum),
        (lambda x: x.cumprod(), np.cumprod),
        (lambda x: x.std(1, ddof=1, keepdims=True), np.std),
        (lambda x: x.var(axis=0), np.var),
        (lambda x: x.repeat(np.array([1, 0, 2]), axis=0), np.repeat),
        (lambda x: x.take(np.array([[0, 5], [11, 3]])), np.take),
        (lambda x: x.diagonal(0, 1, 0), np.diagonal),
        (lambda x: x.trace(1), np.trace),
        (lambda x: x.clip(max=0.5), np.clip),
        (lambda x: x.clip(min=0.5), np.clip),
        (lambda x: x.reshape((2, 6), order="F"), (np.reshape, "order='F'")),
        (lambda x: x.reshape(-1), np.reshape),
        (lambda x: x.flatten("F"), (np.ravel, "order='F'")),
        (lambda x: x.transpose(), np.transpose),
        (lambda x: x.transpose((1, 0)), np.transpose),
        (lambda x: x.reshape(3, 1, 4).squeeze(), np.squeeze),
        (lambda x: x.dot(np.arange(4.0)), np.dot),
        (lambda x: x.reshape(2, 2, 3).mT, np.swapaxes),
    ],
)
def test_method_arguments_follow_numpy(call, function, jax):
    # (function, option): the rule exists but may refuse that option, naming it
    function, option = function if isinstance(function, tuple) else (function, None)
    try:
        ours = _jacobian_or_refusal(call, X, function)
    except td.UnsupportedOperationError as error:
        if option is None or f"numpy.{function.__name__}: {option}" not in str(error):
            raise
        return
    if ours is not None:
        expected = np.asarray(jax.jacobian(call)(jax.numpy.asarray(X)))
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.sum(out=np.empty(())),
        lambda x: x.max(axis=0, out=np.empty(4)),
        lambda x: x.cumsum(out=np.empty(12)),
        lambda x: x.clip(0, 1, out=np.empty((3, 4))),
        lambda x: x.dot(x.T, out=np.empty((3, 3))),
    ],
)
def test_out_is_refused(call):
    with pytest.raises(td.UnsupportedOperationError, match="out"):
        td.jacobian(call)(X)


def test_mT_of_a_vector_is_a_shape_error():
    with pytest.raises(td.ShapeError, match=r"mT"):
        td.jacobian(lambda x: x.mT)(np.ones(3))


def test_a_method_and_its_function_are_one_rule():
    # the same registered rule serves both: the recorded operation has one name
    forms = [lambda x: np.max(x, axis=0), lambda x: x.max(axis=0)]
    formulas = [td.jacobian(f)(X).formula for f in forms]
    assert formulas[0] == formulas[1]


# ---- the dunder methods --------------------------------------------------------------
C = np.array([0.3, 0.6, 0.9, 1.2])  # a constant operand, broadcast against X


def _binary(op):
    return lambda x: op(x, C)


def _reflected(op):
    return lambda x: op(C, x)


def _masked(op):  # a comparison or logical result used as a mask: differentiable through x
    return lambda x: x * op(x, C)


def _inplace(op):
    def call(x):
        y = x
        y = op(y, C)
        return y

    return call


# name -> (call, numpy function) for the operators: checked like the methods
OPERATORS = {
    "__abs__": (lambda x: abs(x - 0.5), np.absolute),
    "__neg__": (lambda x: -x, np.negative),
    "__pos__": (lambda x: +x, np.positive),
    "__invert__": (lambda x: ~(x > 0.5) * x, np.invert),
    "__add__": (_binary(operator.add), np.add),
    "__radd__": (_reflected(operator.add), np.add),
    "__sub__": (_binary(operator.sub), np.subtract),
    "__rsub__": (_reflected(operator.sub), np.subtract),
    "__mul__": (_binary(operator.mul), np.multiply),
    "__rmul__": (_reflected(operator.mul), np.multiply),
    "__truediv__": (_binary(operator.truediv), np.divide),
    "__rtruediv__": (_reflected(operator.truediv), np.divide),
    "__pow__": (_binary(operator.pow), np.power),
    "__rpow__": (_reflected(operator.pow), np.power),
    "__matmul__": (_binary(operator.matmul), np.matmul),
    "__rmatmul__": (lambda x: np.ones(3) @ x, np.matmul),
    "__floordiv__": (lambda x: x * (x // C), np.floor_divide),
    "__rfloordiv__": (lambda x: x * (C // x), np.floor_divide),
    "__mod__": (_binary(operator.mod), np.remainder),
    "__rmod__": (_reflected(operator.mod), np.remainder),
    "__divmod__": (lambda x: divmod(x, C)[1], np.divmod),
    "__rdivmod__": (lambda x: divmod(C, x)[1], np.divmod),
    "__eq__": (_masked(operator.eq), np.equal),
    "__ne__": (_masked(operator.ne), np.not_equal),
    "__lt__": (_masked(operator.lt), np.less),
    "__le__": (_masked(operator.le), np.less_equal),
    "__gt__": (_masked(operator.gt), np.greater),
    "__ge__": (_masked(operator.ge), np.greater_equal),
    "__iadd__": (_inplace(operator.iadd), np.add),
    "__isub__": (_inplace(operator.isub), np.subtract),
    "__imul__": (_inplace(operator.imul), np.multiply),
    "__itruediv__": (_inplace(operator.itruediv), np.divide),
    "__ipow__": (_inplace(operator.ipow), np.power),
    "__imatmul__": (lambda x: operator.imatmul(x, np.ones((4, 4))), np.matmul),
    # into a copy: NumPy's x * (x //= C) would multiply the floored x by itself
    "__ifloordiv__": (lambda x: x * operator.ifloordiv(x * 1.0, C), np.floor_divide),
    "__imod__": (_inplace(operator.imod), np.remainder),
}

# bitwise operators: NumPy defines them for integers and booleans only, so on a float
# traced value NumPy itself would refuse; on a (constant) boolean they are checked.
BITWISE = {
    "__and__": (lambda x: x * ((x > 0.3) & (x < 0.8)), np.bitwise_and),
    "__rand__": (lambda x: x * ((X > 0.3) & (x < 0.8)), np.bitwise_and),
    "__or__": (lambda x: x * ((x > 0.8) | (x < 0.3)), np.bitwise_or),
    "__ror__": (lambda x: x * ((X > 0.8) | (x < 0.3)), np.bitwise_or),
    "__xor__": (lambda x: x * ((x > 0.3) ^ (x < 0.8)), np.bitwise_xor),
    "__rxor__": (lambda x: x * ((X > 0.3) ^ (x < 0.8)), np.bitwise_xor),
    "__iand__": (lambda x: x * operator.iand(x > 0.3, x < 0.8), np.bitwise_and),
    "__ior__": (lambda x: x * operator.ior(x > 0.8, x < 0.3), np.bitwise_or),
    "__ixor__": (lambda x: x * operator.ixor(x > 0.3, x < 0.8), np.bitwise_xor),
    "__lshift__": (lambda x: x << 1, np.left_shift),
    "__rlshift__": (lambda x: 1 << x, np.left_shift),
    "__rshift__": (lambda x: x >> 1, np.right_shift),
    "__rrshift__": (lambda x: 1 >> x, np.right_shift),
    "__ilshift__": (lambda x: operator.ilshift(x, 1), np.left_shift),
    "__irshift__": (lambda x: operator.irshift(x, 1), np.right_shift),
}


def _assigned(x):
    """A slice assignment of a traced value into a plain buffer: NumPy asks it for numbers."""
    buffer = np.zeros(np.shape(x))
    buffer[:] = x
    return buffer


# conversions and mutations refused: (the use, the error)
REFUSED_DUNDERS = {
    "__array__": (_assigned, td.TraceLeakError),
    "__bool__": (lambda x: bool(x[0, 0]), td.TraceLeakError),
    "__float__": (lambda x: float(x[0, 0]), td.TraceLeakError),
    "__int__": (lambda x: int(x[0, 0]), td.TraceLeakError),
    "__index__": (lambda x: operator.index(x[0, 0]), td.TraceLeakError),
    "__complex__": (lambda x: complex(x[0, 0]), td.TraceLeakError),
    "__format__": (lambda x: f"{x[0, 0]:.2f}", td.TraceLeakError),
    "__reduce__": (pickle.dumps, td.TraceLeakError),
    "__reduce_ex__": (lambda x: x.__reduce_ex__(4), td.TraceLeakError),
    "__dlpack__": (lambda x: x.__dlpack__(), td.TraceLeakError),
    "__dlpack_device__": (lambda x: x.__dlpack_device__(), td.TraceLeakError),
    "__contains__": (lambda x: 0.5 in x, td.TraceLeakError),
    "__delitem__": (lambda x: x.__delitem__(0), td.UnsupportedOperationError),
}

# Supported structural dunders, checked in test_structural_dunders below.
STRUCTURAL = ("__getitem__", "__iter__", "__len__", "__repr__", "__str__", "__copy__")
STRUCTURAL += ("__deepcopy__", "__hash__", "__setitem__")

# NumPy's hooks: the two dispatch protocols every call above goes through, and the
# subclass, buffer and array-API hooks Traced deliberately lacks, so NumPy falls back
# to __array__ (TraceLeakError, test_numpy_falls_back_to_array).
PROTOCOLS = ("__array_function__", "__array_ufunc__")
ABSENT_HOOKS = (
    "__array_finalize__",
    "__array_wrap__",
    "__array_priority__",
    "__array_interface__",
    "__array_struct__",
    "__array_namespace__",
    "__buffer__",
    "__release_buffer__",
    "__class_getitem__",
    "__setstate__",
)

# Python's object machinery, the same on every object.
OBJECT = (
    "__class__",
    "__delattr__",
    "__dir__",
    "__doc__",
    "__getattribute__",
    "__getstate__",
    "__init__",
    "__init_subclass__",
    "__new__",
    "__setattr__",
    "__sizeof__",
    "__subclasshook__",
)

DUNDERS = [
    *OPERATORS,
    *BITWISE,
    *REFUSED_DUNDERS,
    *STRUCTURAL,
    *PROTOCOLS,
    *ABSENT_HOOKS,
    *OBJECT,
]


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_operator_agrees_with_jax(name, jax):
    call, function = OPERATORS[name]
    ours = _jacobian_or_refusal(call, X, function)
    if ours is not None:
        expected = np.asarray(jax.jacobian(call)(jax.numpy.asarray(X)))
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(BITWISE))
def test_bitwise_operator_is_refused_or_agrees_with_jax(name, jax):
    call, function = BITWISE[name]
    try:
        ours = np.asarray(td.jacobian(call)(X))
    except td.TensorDiffError as error:
        assert f"numpy.{registry.qualified_name(function)}" in str(error)
        return
    expected = np.asarray(jax.jacobian(call)(jax.numpy.asarray(X)))
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(REFUSED_DUNDERS))
def test_refused_dunder_raises_the_library_error(name):
    use, error = REFUSED_DUNDERS[name]
    with pytest.raises(error):
        td.jacobian(use)(X)


def test_structural_dunders(jax):
    jnp = jax.numpy
    written = lambda x: (y := x * 1.0).__setitem__((0, slice(1, 3)), x[1, :2] ** 2) or y  # noqa: E731
    expected = jax.jacobian(lambda x: (x * 1.0).at[0, 1:3].set(x[1, :2] ** 2))(jnp.asarray(X))
    np.testing.assert_allclose(np.asarray(td.jacobian(written)(X)), expected)
    for call in (lambda x: x[1:, ::2], lambda x: x[np.array([2, 0])], lambda x: x[X > 0.5]):
        expected = np.asarray(jax.jacobian(call)(jnp.asarray(X)))
        np.testing.assert_allclose(np.asarray(td.jacobian(call)(X)), expected)
    rows = lambda x: np.stack(list(x)[::-1])  # noqa: E731  (__iter__)
    expected = np.asarray(jax.jacobian(lambda x: jnp.stack(list(x)[::-1]))(jnp.asarray(X)))
    np.testing.assert_allclose(np.asarray(td.jacobian(rows)(X)), expected)

    def facts(x):
        assert len(x) == 3 and "Traced" in repr(x) and str(x) == repr(x)
        with pytest.raises(TypeError, match="unhashable"):  # like an ndarray
            hash(x)
        return x

    np.testing.assert_array_equal(np.asarray(td.jacobian(facts)(X)).reshape(12, 12), np.eye(12))


@pytest.mark.parametrize("copier", [copy.copy, copy.deepcopy])
def test_copies_route_to_numpy_copy(copier):
    call = lambda x: copier(x) * 2.0  # noqa: E731
    ours = _jacobian_or_refusal(call, X, np.copy)
    if ours is not None:
        np.testing.assert_array_equal(ours.reshape(12, 12), 2.0 * np.eye(12))


def test_numpy_falls_back_to_array():
    # np.asarray builds a traced array (tests/ops/test_array_building.py); the conversions
    # that cannot be built ask __array__ for numbers, and are refused
    for use in (lambda x: np.ones((2, 3)).dot(x), lambda x: memoryview(x)):
        with pytest.raises(td.TraceLeakError):
            td.jacobian(use)(X)
    np.testing.assert_array_equal(
        np.asarray(td.jacobian(np.asarray)(X)).reshape(12, 12), np.eye(12)
    )
    td.jacobian(lambda x: x if not hasattr(x, "__array_namespace__") else None)(X)
