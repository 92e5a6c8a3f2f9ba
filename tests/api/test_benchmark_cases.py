"""The benchmark suite's closed forms are right: tensordiff agrees with each (no timing here)."""

import sys
from pathlib import Path

import numpy as np
import pytest

import tensordiff as td

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import run  # noqa: E402

CASES = run.cases(quick=True, rng=np.random.default_rng(0))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_closed_form_floor_matches_tensordiff(case):
    label, f, point, floor, twin = case
    np.testing.assert_allclose(np.asarray(td.jacobian(f)(point)), floor(), rtol=1e-9, atol=1e-9)
    # the twin written for other libraries computes the same function
    np.testing.assert_allclose(twin(np, np.asarray)(point), f(point), rtol=1e-12)
