"""Names for the values a traced function sees, so formulas read like its source.

Arguments are named by the function's parameters; arrays it reaches through a
closure or a global variable by that variable's name. Anything else is a
constant K1, K2, ... (see :meth:`tensordiff.trace.graph.Trace.name_of`).
"""

import inspect

import numpy as np

__all__ = ["parameter_names", "visible_arrays"]


def parameter_names(f, count: int) -> list[str]:
    """Names of ``f``'s first ``count`` positional parameters (x0, x1, ... if unknown)."""
    try:
        parameters = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = []
    for n in range(count):
        if n < len(parameters) and parameters[n].kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            names.append(parameters[n].name)
        else:
            names.append(f"x{n}")
    return names


def visible_arrays(f, args, names) -> dict[str, object]:
    """Arrays ``f`` can see by name: its arguments, closure cells and globals it uses."""
    found = {name: value for name, value in zip(names, args, strict=False) if _is_array(value)}
    code_owner = inspect.unwrap(f) if callable(f) else f
    code = getattr(code_owner, "__code__", None)
    if code is None:
        return found
    for name, cell in zip(code.co_freevars, code_owner.__closure__ or (), strict=False):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if _is_array(value):
            found.setdefault(name, value)
    module_globals = getattr(code_owner, "__globals__", {})
    for name in code.co_names:
        value = module_globals.get(name)
        if _is_array(value):
            found.setdefault(name, value)
    return found


def _is_array(value) -> bool:
    return isinstance(value, np.ndarray) and value.ndim > 0
