"""Generated functions: a straight line of calls on local variables, compiled once.

A planned computation replayed many times (a contraction path, a recorded tape)
spends much of a small call in Python: a loop over steps, a closure's frame per
step, a list of intermediate values. Written out as one function of local
variables, the same calls cost only themselves.

>>> import numpy as np
>>> code = Code(np=np)
>>> scale = code.constant(2.0)
>>> code.line(f"t0 = np.multiply(x0, {scale})")
>>> double = code.function("double", ["x0"], "t0")
>>> double(np.arange(3.0))
array([0., 2., 4.])
"""

import itertools
from collections.abc import Callable

__all__ = ["Code"]


class Code:
    """The lines of a function being generated and the namespace its names refer to:
    ``names`` given up front (modules, helpers) and constants added by :meth:`constant`."""

    def __init__(self, **names):
        self.namespace = dict(names)
        self.lines: list[str] = []
        self._numbers = itertools.count()

    def constant(self, value) -> str:
        """A name under which ``value`` (any object) is reachable from the generated code."""
        name = f"c{next(self._numbers)}"
        self.namespace[name] = value
        return name

    def line(self, text: str) -> None:
        """Append one statement to the function's body."""
        self.lines.append(f"    {text}")

    def source(self, name: str, parameters: list[str], returns: str) -> str:
        return "\n".join(
            [f"def {name}({', '.join(parameters)}):", *self.lines, f"    return {returns}"]
        )

    def function(self, name: str, parameters: list[str], returns: str) -> Callable:
        """The function ``name(*parameters)`` running the lines and returning ``returns``."""
        exec(self.source(name, parameters, returns), self.namespace)  # noqa: S102 (our own text)
        return self.namespace[name]
