import numpy as np
import pytest

import tensordiff as td

RNG = np.random.default_rng(14)
W = RNG.normal(size=(6, 7))
X = RNG.normal(size=7)
B = RNG.normal(size=6)


@pytest.fixture(
    params=["tanh-layer-wrt-W", "hessian", "reshape", "elementwise"],
)
def jacobian(request):
    """Jacobians of several structures (δ with dense factors, a Hessian, a reshape)."""
    return {
        "tanh-layer-wrt-W": lambda: td.jacobian(lambda w: np.tanh(w @ X + B), out="i", wrt="jk")(W),
        "hessian": lambda: td.hessian(lambda x: np.sum(np.tanh(W @ x) ** 2), wrt="a")(X),
        "reshape": lambda: td.jacobian(lambda w: np.sin(w.reshape(3, 14)))(W),
        "elementwise": lambda: td.jacobian(np.exp)(RNG.normal(size=(4, 5))),
    }[request.param]()
