"""Names for the values a traced function sees, so formulas read like its source.

Arguments are named by the function's parameters; arrays it reaches through a
closure or a global variable by that variable's name. Anything else is a
constant K1, K2, ... (see :meth:`tensordiff.trace.graph.Trace.name_of`).
"""

import functools
import inspect
import types

import numpy as np

__all__ = ["parameter_names", "visible_arrays", "visible_names", "visible_values"]


def parameter_names(f, count: int) -> list[str]:
    """Names of ``f``'s first ``count`` positional parameters (x0, x1, ... if unknown)."""
    plain = not (hasattr(f, "__wrapped__") or hasattr(f, "__signature__"))
    if type(f) is types.FunctionType and plain:  # a plain function's names are its code's
        return list(_code_parameter_names(f.__code__, count))
    return _parameter_names(f, count)


@functools.lru_cache(maxsize=256)
def _code_parameter_names(code: types.CodeType, count: int) -> tuple[str, ...]:
    """(inspect.signature costs more than many a traced call; a code object's
    positional parameters are its first ``co_argcount`` variable names.)"""
    positional = code.co_varnames[: code.co_argcount]
    return tuple(positional[n] if n < len(positional) else f"x{n}" for n in range(count))


def _parameter_names(f, count: int) -> list[str]:
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
    for name, value in visible_names(inspect.unwrap(f) if callable(f) else f):
        if _is_array(value):
            found.setdefault(name, value)
    return found


def visible_names(f):
    """``(name, value)`` for what ``f``'s own code reads by name from outside: closure
    cells, default values, and the globals it uses (a name it does not define is None).

    >>> scale = 2.0
    >>> [pair for pair in visible_names(lambda x, k=3: scale * x) if pair[0] == "scale"]
    [('scale', 2.0)]
    """
    code = getattr(f, "__code__", None)
    if code is None:
        return
    for name, cell in zip(code.co_freevars, f.__closure__ or (), strict=False):
        try:
            yield name, cell.cell_contents
        except ValueError:  # an empty cell
            continue
    defaults = f.__defaults__ or ()
    positional = code.co_varnames[: code.co_argcount]
    yield from zip(positional[len(positional) - len(defaults) :], defaults, strict=True)
    yield from (f.__kwdefaults__ or {}).items()
    module_globals = getattr(f, "__globals__", {})
    for name in code.co_names:
        yield name, module_globals.get(name)


def visible_values(f) -> tuple:
    """The values of :func:`visible_names`, in the same order, read without the names:
    what ``td.jit`` compares on every replayed call, so it is kept lean.

    >>> scale = 2.0
    >>> f = lambda x, k=3: scale * x
    >>> visible_values(f) == tuple(value for _, value in visible_names(f))
    True
    """
    code = getattr(f, "__code__", None)
    if code is None:
        return ()
    values = []
    for cell in f.__closure__ or ():
        try:
            values.append(cell.cell_contents)
        except ValueError:  # an empty cell
            continue
    values += f.__defaults__ or ()
    values += (f.__kwdefaults__ or {}).values()
    module_globals = getattr(f, "__globals__", {})
    values += map(module_globals.get, code.co_names)
    return tuple(values)


def _is_array(value) -> bool:
    return isinstance(value, np.ndarray) and value.ndim > 0
