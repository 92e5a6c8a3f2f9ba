"""NumPy expressions typed at the command line, parsed with ``ast`` against a whitelist.

Never ``eval``: the expression is parsed, every node is checked against the
allowed forms (arithmetic, ``@``, calls of whitelisted NumPy functions, ``.T``
and a few methods, indexing with constants), and then interpreted on arrays.
Errors carry the column they refer to, so the command line can point at it.
"""

import ast
import inspect
from collections.abc import Callable

import numpy as np

import tensordiff.ops  # noqa: F401  (registers the rules the whitelist is read from)
from tensordiff.errors import TensorDiffError
from tensordiff.trace import registry

__all__ = ["ExpressionError", "parse_expression", "FUNCTIONS"]


class ExpressionError(TensorDiffError, ValueError):
    """An expression that cannot be parsed or uses something not allowed."""

    def __init__(self, message: str, column: int = 0, width: int = 1):
        super().__init__(message)
        self.column, self.width = column, max(width, 1)


def _functions() -> dict[str, Callable]:
    """The whitelist: every NumPy function (by its NumPy names, aliases included) that
    has a rule, and the constant constructors ``eye``, ``ones`` and ``zeros``."""
    found = {"eye": np.eye, "ones": np.ones, "zeros": np.zeros}
    for prefix, namespace in (("", np), ("linalg.", np.linalg)):
        for name, value in vars(namespace).items():
            if not name.startswith("_") and callable(value) and registry.is_registered(value):
                found[prefix + name] = value
    return found


FUNCTIONS = _functions()
_METHODS = {"sum", "mean", "max", "min", "prod", "reshape", "ravel", "transpose", "dot", "T"}
_BINARY = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
    ast.Pow: np.power,
    ast.MatMult: np.matmul,
}


def parse_expression(text: str) -> tuple[Callable, list[str]]:
    """A function of the expression's variables, and their names in order of appearance.

    >>> f, names = parse_expression("sum((W @ x - y) ** 2)")
    >>> names
    ['W', 'x', 'y']
    >>> float(f(np.eye(2), np.ones(2), np.zeros(2)))
    2.0
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        column = (error.offset or 1) - 1
        raise ExpressionError(f"syntax error: {error.msg}", column) from None
    variables: list[str] = []
    _check(tree.body, variables)

    def evaluate(*values):
        return _evaluate(tree.body, dict(zip(variables, values, strict=True)))

    evaluate.__signature__ = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in variables]
    )
    evaluate.__name__ = "f"
    return evaluate, variables


def _function_name(node: ast.expr) -> str | None:
    """``tanh`` for ``tanh`` or ``np.tanh``; ``linalg.inv`` for ``np.linalg.inv``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    parts.reverse()
    if parts[0] in ("np", "numpy"):
        parts = parts[1:]
    return ".".join(parts)


def _check(node: ast.expr, variables: list[str]) -> None:
    """Raise ExpressionError for anything outside the whitelist; collect variable names."""
    where = (node.col_offset, (node.end_col_offset or node.col_offset + 1) - node.col_offset)
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise ExpressionError(f"operator {type(node.op).__name__} is not supported", *where)
        _check(node.left, variables)
        _check(node.right, variables)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ExpressionError("only unary + and - are supported", *where)
        _check(node.operand, variables)
    elif isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute) and node.func.attr in _METHODS:
            name = _function_name(node.func)
            if name not in FUNCTIONS:  # a method call such as W.sum(axis=0)
                _check(node.func.value, variables)
        else:
            name = _function_name(node.func)
            if name not in FUNCTIONS:
                func = node.func
                raise ExpressionError(
                    f"unknown function {name or ast.unparse(func)!r}; allowed:"
                    f" {', '.join(sorted(FUNCTIONS))}",
                    func.col_offset,
                    (func.end_col_offset or func.col_offset + 1) - func.col_offset,
                )
        for argument in node.args:
            _check(argument, variables)
        for keyword in node.keywords:
            if keyword.arg is None:
                raise ExpressionError("**keywords are not supported", *where)
            _check(keyword.value, variables)
    elif isinstance(node, ast.Attribute):
        if node.attr != "T":
            raise ExpressionError(f"attribute .{node.attr} is not supported (only .T)", *where)
        _check(node.value, variables)
    elif isinstance(node, ast.Subscript):
        _check(node.value, variables)
        _check_index(node.slice, variables)
    elif isinstance(node, (ast.Tuple, ast.List)):
        for element in node.elts:
            _check(element, variables)
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS or node.id in ("np", "numpy"):
            raise ExpressionError(f"{node.id} is a function; call it", *where)
        if node.id not in variables:
            variables.append(node.id)
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, (int, float, str, bool)) or node.value is None:
            raise ExpressionError(f"constant {node.value!r} is not supported", *where)
    else:
        raise ExpressionError(f"{type(node).__name__} is not supported here", *where)


def _check_index(node: ast.expr, variables: list[str]) -> None:
    if isinstance(node, ast.Slice):
        for part in (node.lower, node.upper, node.step):
            if part is not None:
                _check(part, variables)
    elif isinstance(node, ast.Tuple):
        for element in node.elts:
            _check_index(element, variables)
    else:
        _check(node, variables)


def _evaluate(node: ast.expr, env: dict):
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, env), _evaluate(node.right, env))
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, env)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Call):
        args = [_evaluate(argument, env) for argument in node.args]
        kwargs = {k.arg: _evaluate(k.value, env) for k in node.keywords}
        name = _function_name(node.func)
        if name in FUNCTIONS:
            return FUNCTIONS[name](*args, **kwargs)
        method = getattr(_evaluate(node.func.value, env), node.func.attr)
        return method(*args, **kwargs)
    if isinstance(node, ast.Attribute):
        return _evaluate(node.value, env).T
    if isinstance(node, ast.Subscript):
        return _evaluate(node.value, env)[_index(node.slice, env)]
    if isinstance(node, ast.Tuple):
        return tuple(_evaluate(element, env) for element in node.elts)
    if isinstance(node, ast.List):
        return [_evaluate(element, env) for element in node.elts]
    if isinstance(node, ast.Name):
        return env[node.id]
    return node.value  # ast.Constant


def _index(node: ast.expr, env: dict):
    if isinstance(node, ast.Slice):
        parts = (node.lower, node.upper, node.step)
        return slice(*(None if p is None else _evaluate(p, env) for p in parts))
    if isinstance(node, ast.Tuple):
        return tuple(_index(element, env) for element in node.elts)
    return _evaluate(node, env)
