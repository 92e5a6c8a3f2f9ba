"""tensordiff: derivatives of arrays as explicit, labelled tensors.

>>> import numpy as np, tensordiff as td
>>> J = td.jacobian(lambda W, x: W @ x, out="i", wrt="jk")(np.ones((2, 3)), np.arange(3.0))
>>> J.shape, J.indices
((2, 2, 3), ('i', 'j', 'k'))
"""

from tensordiff.core.memory import get_memory_limit, memory_limit, set_memory_limit
from tensordiff.derivatives import chain, grad, jacobian, value_and_grad, value_and_jacobian
from tensordiff.errors import (
    JacobianTooLarge,
    OptionError,
    ShapeError,
    StaleStructure,
    TensorDiffError,
    TraceLeakError,
    UnsupportedDTypeError,
    UnsupportedOperationError,
)
from tensordiff.explain import Explanation, explain
from tensordiff.hessian import Hessian, hessian
from tensordiff.jit import CacheInfo, Jitted, jit
from tensordiff.plan import Plan, plan
from tensordiff.tensor import Jacobian, Tensor, contract
from tensordiff.testing import check_grads, numerical_jacobian
from tensordiff.trace.registry import supported_operations

__all__ = [
    "Tensor",
    "Jacobian",
    "contract",
    "jacobian",
    "grad",
    "value_and_grad",
    "value_and_jacobian",
    "chain",
    "hessian",
    "jit",
    "Jitted",
    "CacheInfo",
    "explain",
    "plan",
    "Plan",
    "Explanation",
    "Hessian",
    "check_grads",
    "numerical_jacobian",
    "supported_operations",
    "get_memory_limit",
    "set_memory_limit",
    "memory_limit",
    "TensorDiffError",
    "ShapeError",
    "OptionError",
    "UnsupportedOperationError",
    "UnsupportedDTypeError",
    "TraceLeakError",
    "JacobianTooLarge",
    "StaleStructure",
]

__version__ = "0.1.0"
