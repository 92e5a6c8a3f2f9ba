"""The benchmark suite's closed forms are right: tensordiff agrees with each (no timing here)."""

import sys
from pathlib import Path

import numpy as np
import pytest

import tensordiff as td

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import run  # noqa: E402
import speed  # noqa: E402

CASES = run.cases(quick=True, rng=np.random.default_rng(0))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_closed_form_floor_matches_tensordiff(case):
    label, f, point, floor, twin = case
    np.testing.assert_allclose(np.asarray(td.jacobian(f)(point)), floor(), rtol=1e-9, atol=1e-9)
    # the twin written for other libraries computes the same function
    np.testing.assert_allclose(twin(np, np.asarray)(point), f(point), rtol=1e-12)


SPEED_CASES = speed.cases(quick=False)


@pytest.mark.parametrize("case", SPEED_CASES, ids=[f"{c.name} ({c.size})" for c in SPEED_CASES])
def test_speed_suite_floor_matches_tensordiff(case):
    """benchmarks/speed.py: each hand-written floor is the derivative tensordiff computes
    (Jacobian, gradient or Hessian), and the twin for other libraries is the function."""
    transform = {"jacobian": td.jacobian, "grad": td.grad, "hessian": td.hessian}[case.kind]
    argnums = tuple(range(len(case.args))) if len(case.args) > 1 else 0
    found = transform(case.f, argnums=argnums)(*case.args)
    expected = case.floor()
    if not isinstance(expected, tuple):
        found, expected = (found,), (expected,)
    for got, want in zip(found, expected, strict=True):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(case.twin(np, np.asarray)(*case.args), case.f(*case.args))
