"""Central differences: the derivative of any plain NumPy (or scipy) function, for tests."""

import numpy as np


def central_differences(f, x, step=1e-6) -> np.ndarray:
    """∂f/∂x as an array of shape f(x).shape + x.shape, by (f(x + h) − f(x − h)) / 2h;
    ``f`` may write into its argument (it gets a copy of ``x``)."""
    columns = []
    for n in range(x.size):
        bump = np.zeros(x.size)
        bump[n] = step
        bump = bump.reshape(x.shape)
        columns.append((np.asarray(f(x + bump)) - np.asarray(f(x - bump))) / (2 * step))
    return np.moveaxis(np.array(columns), 0, -1).reshape(np.shape(f(x.copy())) + x.shape)
