"""The namespace sweep: every public callable of numpy and numpy.linalg, every ufunc and
every binary ufunc's methods is either supported (its sample call differentiated and
checked against JAX or finite differences), refused by td.UnsupportedOperationError
naming it, or never routed to tensordiff by NumPy. A function NumPy adds fails
``test_every_public_callable_has_a_place`` until the table in tests/numpy_surface.py
places it, and docs/numpy-coverage.md must be regenerated from that table.
"""

import inspect
import re
from pathlib import Path

import numpy as np
import pytest
from numpy_surface import (
    BUILDING,
    CONVERTING,
    NOT_ROUTED,
    SAMPLES,
    UFUNC_METHODS,
    VECTOR,
    X,
    binary_ufuncs,
    coverage_markdown,
    public_callables,
    routed,
    sample_for,
)

import tensordiff as td
from tensordiff.trace import registry

CALLABLES = public_callables()
SUPPORTED = sorted(name for name, f in CALLABLES.items() if registry.is_registered(f))
REFUSED = sorted(
    name
    for name, f in CALLABLES.items()
    if name not in NOT_ROUTED and not registry.is_registered(f)
)
METHODS = {
    f"{name}.{method}": getattr(f, method)
    for name, f in binary_ufuncs().items()
    for method in UFUNC_METHODS
}
PAGE = Path(__file__).resolve().parents[2] / "docs" / "numpy-coverage.md"


def test_every_public_callable_has_a_place():
    unrouted = sorted(name for name, f in CALLABLES.items() if not routed(f))
    assert unrouted == sorted(NOT_ROUTED), "place these in NOT_ROUTED (or remove stale rows)"
    known = set(CALLABLES) | {
        f"{name}.{method}" for name, f in binary_ufuncs().items() for method in UFUNC_METHODS
    }
    assert set(SAMPLES) - known == set(), "samples for names NumPy does not have"
    stale = [name for name in SAMPLES if not registry.is_registered(_function(name))]
    assert stale == [], "samples of functions with no rule"


def _function(name: str):
    return CALLABLES[name] if name in CALLABLES else METHODS[name]


@pytest.mark.parametrize("name", SUPPORTED + sorted(set(SAMPLES) & set(METHODS)))
def test_supported_function_is_differentiated_correctly(name, jax):
    checked = sample_for(name, _function(name))
    f, x = checked["build"](np), checked["point"]
    ours = np.asarray(td.jacobian(f)(x))
    if checked["by_differences"]:
        np.testing.assert_allclose(ours, td.numerical_jacobian(f, (x,)), rtol=1e-6, atol=1e-7)
        return
    theirs = np.asarray(jax.jacobian(checked["build"](jax.numpy))(jax.numpy.asarray(x)))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def _required_arguments(function) -> int:
    """How many positional arguments a call of ``function`` needs (at least one)."""
    if isinstance(function, np.ufunc):
        return function.nin
    parameters = inspect.signature(function).parameters.values()
    needed = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return max(len(needed), 1)


def _refusal_pattern(function) -> str:
    pattern = rf"numpy\.{re.escape(registry.qualified_name(function))}\b"
    reason = registry.refusal_reason(function)
    return pattern + (f": {re.escape(reason)}" if reason else "")


# Calls whose first argument is not an array (by default every required argument is x).
FIRST_NOT_AN_ARRAY = {
    "savez": lambda x: np.savez("never-written.npz", x),
    "savez_compressed": lambda x: np.savez_compressed("never-written.npz", x),
}


@pytest.mark.parametrize("name", REFUSED)
def test_unsupported_function_is_refused_naming_it(name):
    function = CALLABLES[name]
    count = _required_arguments(function)
    call = FIRST_NOT_AN_ARRAY.get(name, lambda x: function(*[x] * count))
    with pytest.raises(td.UnsupportedOperationError, match=_refusal_pattern(function)):
        td.jacobian(call)(X)


@pytest.mark.parametrize("name", sorted(set(METHODS) - set(SAMPLES)))
def test_ufunc_method_is_refused_naming_it(name):
    method = METHODS[name]
    calls = {  # each call valid for a plain array, so only the tracing refuses it
        "reduce": lambda x: method(x),
        "accumulate": lambda x: method(x),
        "reduceat": lambda x: method(x, [0, 2]),
        "outer": lambda x: method(x[0], x[1]),
        "at": lambda x: method(x, [0], x[0]),
    }
    with pytest.raises(td.UnsupportedOperationError, match=_refusal_pattern(method)):
        td.jacobian(calls[name.rsplit(".", 1)[1]])(X)


@pytest.mark.parametrize("name", CONVERTING)
def test_converting_functions_refuse_a_traced_value(name):
    with pytest.raises(td.TensorDiffError):
        td.jacobian(lambda x: CALLABLES[name](x))(X)


@pytest.mark.parametrize("name", BUILDING)
def test_building_functions_pass_a_traced_value_through(name):
    J = td.jacobian(lambda x: getattr(np, name)(x))(X)  # the numpy attribute, looked up now
    np.testing.assert_array_equal(np.asarray(J).reshape(X.size, X.size), np.eye(X.size))


def test_python_object_queries_answer_as_for_an_ndarray():
    seen = []
    td.jacobian(lambda x: seen.append((np.isscalar(x), np.iterable(x))) or x)(X)
    assert seen == [(np.isscalar(X), np.iterable(X))]


def test_deliberate_refusals_have_no_rule():
    assert not any(registry.is_registered(f) for f in registry._REASONS)


def test_the_coverage_page_is_current():
    assert PAGE.read_text() == coverage_markdown(), (
        "regenerate: PYTHONPATH=$PWD python tests/numpy_surface.py > docs/numpy-coverage.md"
    )


def test_the_real_fourier_transform_a_refusal_suggests_is_numpys_and_jaxs(jax):
    """np.fft is refused (complex results); the matrix products its reason spells out give
    NumPy's numbers, and the power spectrum written with them JAX's derivative."""
    with pytest.raises(td.UnsupportedOperationError, match=r"numpy\.fft\.rfft.*np\.cos"):
        td.jacobian(lambda x: np.abs(np.fft.rfft(x)))(VECTOR)
    k = np.arange(len(VECTOR))
    angles = 2 * np.pi * np.outer(k, k) / len(VECTOR)

    def power(x):
        return (np.cos(angles) @ x) ** 2 + (-np.sin(angles) @ x) ** 2

    np.testing.assert_allclose(power(VECTOR), np.abs(np.fft.fft(VECTOR)) ** 2, rtol=1e-12)
    theirs = jax.jacobian(lambda x: jax.numpy.abs(jax.numpy.fft.fft(x)) ** 2)(VECTOR)
    np.testing.assert_allclose(np.asarray(td.jacobian(power)(VECTOR)), theirs, atol=1e-12)
