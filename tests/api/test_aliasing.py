"""No result aliases what the user passed: every dense result is a fresh array or a
read-only view, and no argument or closure array is modified by any API call."""

import hashlib

import numpy as np
import pytest

import tensordiff as td

A = np.random.default_rng(1).normal(size=(3, 4))
B = np.random.default_rng(2).normal(size=(4, 3))
c = np.random.default_rng(3).normal(size=3)
CLOSURES = (A, B, c)

# Functions of a 3-vector reading closure arrays; several are linear, so their
# Jacobian is (a transpose of) a closure array and the temptation is to hand it over.
CORPUS = {
    "v @ A": lambda v: v @ A,
    "einsum ij,i->j": lambda v: np.einsum("ij,i->j", A, v),
    "dot(v, A)": lambda v: np.dot(v, A),
    "B @ v": lambda v: B @ v,
    "A.T @ v": lambda v: A.T @ v,
    "v * c": lambda v: v * c,
    "v + c": lambda v: v + c,
    "identity": lambda v: v,
    "v.T": lambda v: v.T,
    "reshape": lambda v: v.reshape(3, 1),
    "outer(v, c)": lambda v: np.outer(v, c),
    "tanh(v @ A) @ B": lambda v: np.tanh(v @ A) @ B,
    "v[[2, 0]]": lambda v: v[[2, 0]],
    "constant": lambda v: c,
}
SCALAR = {
    "sum(v @ A)": lambda v: np.sum(v @ A),
    "c . v": lambda v: c @ v,
    "sum(v * c)": lambda v: np.sum(v * c),
    "sum(v)": lambda v: np.sum(v),
    "v @ A @ B @ v": lambda v: v @ A @ B @ v,
}


def digest(array) -> str:
    array = np.asarray(array)
    return hashlib.sha256(array.tobytes() + str((array.shape, array.strides)).encode()).hexdigest()


def dense_results(f, x, scalar):
    """Every dense array the API gives for f at x."""
    out = []
    for mode in ("auto", "forward", "reverse"):
        out.append(np.asarray(td.jacobian(f, mode=mode)(x)))
    jf = td.jit(td.jacobian(f))
    out += [np.asarray(jf(x)), np.asarray(jf(x))]  # the recording and a replay
    J = td.jacobian(f)(x)
    out.append(np.asarray(td.contract(J, out=J.indices[::-1])))
    out.append(np.asarray(J.relabel(J.indices)))
    out.append(np.asarray(td.chain(td.jacobian(lambda y: y)(np.asarray(f(x))), J)))
    if scalar:
        out.append(np.asarray(td.grad(f)(x)))
        jg = td.jit(td.grad(f))
        out += [np.asarray(jg(x)), np.asarray(jg(x))]
        out.append(np.asarray(td.hessian(f)(x)))
    return out


def assert_not_aliased(result, protected):
    for array in protected:
        if np.shares_memory(result, array):
            assert not result.flags.writeable, "a writeable view of an input or closure"


@pytest.mark.parametrize("name", [*CORPUS, *SCALAR])
def test_results_are_fresh_or_read_only_and_inputs_unchanged(name):
    scalar = name in SCALAR
    f = (SCALAR if scalar else CORPUS)[name]
    x = np.array([0.5, -1.0, 2.0])
    protected = (x, *CLOSURES)
    before = [digest(array) for array in protected]
    results = dense_results(f, x, scalar)
    for result in results:
        assert_not_aliased(result, protected)
        if result.flags.writeable:
            result[...] = 7.0  # writing into a result must not reach the user's arrays
    assert [digest(array) for array in protected] == before


def test_chain_and_contract_of_user_tensors_do_not_alias():
    x = np.array([0.5, -1.0, 2.0])
    protected = (x, *CLOSURES)
    before = [digest(array) for array in protected]
    T = td.Tensor(A, "ij")
    results = [
        np.asarray(T),
        np.asarray(T.transpose("ji")),
        np.asarray(td.contract(T, out="ij")),
        np.asarray(td.contract(T, td.Tensor(np.ones(4), "j"))),
    ]
    dA = td.jacobian(lambda y: y @ A)(x)
    dB = td.jacobian(lambda v: v)(x)
    results.append(np.asarray(td.chain(dA, dB)))
    for result in results:
        assert_not_aliased(result, protected)
        if result.flags.writeable:
            result[...] = 7.0
    assert [digest(array) for array in protected] == before
