"""NumPy expressions typed at the command line, parsed with ``ast`` against a whitelist.

Never ``eval``: the expression is parsed, every node is checked against the
allowed forms (arithmetic, ``@``, calls of whitelisted NumPy functions, ``.T``
and a few methods, indexing with constants), and then interpreted on arrays.
Errors carry the column they refer to, so the command line can point at it.

Hostile input is bounded before any work: an expression longer than
:data:`MAX_LENGTH` characters or nested deeper than :data:`MAX_DEPTH` levels is
refused; arithmetic on constants is folded with Python's exact integers (so
``x * 2**64`` multiplies by 2⁶⁴, not by a wrapped 64-bit 0), and a constant that
is too large or that no float64 represents exactly is refused; the arrays that
``ones``, ``zeros`` and ``eye`` would allocate are checked against the memory
limit first, and so are the results of every function that builds an array larger
than its operands (``einsum`` and its intermediates, ``stack``, ``concatenate``,
``kron``, ``outer``, ``tile``, ``pad``, ``repeat``, ``broadcast_to``, ``dot``,
``diag``, ``cov``, ``svd``, … see ``_GROWING``), of every ufunc and ``where``/``clip``
(their arguments broadcast) and of broadcasting arithmetic (``a * b``, ``a @ b``), from
their operands' shapes, before NumPy allocates them.
"""

import ast
import inspect
import math
from collections.abc import Callable

import numpy as np
import opt_einsum

import tensordiff.ops  # noqa: F401  (registers the rules the whitelist is read from)
from tensordiff.core import memory
from tensordiff.errors import JacobianTooLarge, TensorDiffError
from tensordiff.trace import registry

__all__ = ["ExpressionError", "parse_expression", "FUNCTIONS", "MAX_LENGTH", "MAX_DEPTH"]

MAX_LENGTH = 2000  # characters
MAX_DEPTH = 100  # nested operations: an a + b + ... of 100 terms is 100 deep
# A folded integer constant may have at most this many bits (2**4096 is 1234 digits);
# beyond, even computing it (10**10**10) would take the time and memory refused here.
_MAX_BITS = 4096
_INT64 = 2**63


class ExpressionError(TensorDiffError, ValueError):
    """An expression that cannot be parsed or uses something not allowed."""

    def __init__(self, message: str, column: int = 0, width: int = 1):
        super().__init__(message)
        self.column, self.width = column, max(width, 1)


def _allocating(constructor: Callable, shape_of: Callable) -> Callable:
    """``constructor`` refusing, before it allocates, an array over the memory limit."""

    def checked(*args, **kwargs):
        try:
            shape = shape_of(*args, **kwargs)
        except (TypeError, ValueError, IndexError, KeyError):
            shape = ()  # arguments NumPy will refuse: its own error says why
        _check_size(constructor.__name__, shape, kwargs.get("dtype"))
        return constructor(*args, **kwargs)

    checked.__name__ = constructor.__name__
    return checked


def _check_size(name: str, shape, dtype=None) -> None:
    """Refuse an array of ``shape`` over the memory limit (float64 unless ``dtype``)."""
    dims = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in dims) or (
        min(dims, default=0) < 0
    ):
        raise ExpressionError(f"{name}: the shape {shape!r} is not sizes")
    try:
        memory.check_dense(dims, np.dtype(dtype or np.float64))
    except JacobianTooLarge as error:
        raise JacobianTooLarge(f"{name}: {error}") from None


def _eye_shape(N, M=None, *args, **kwargs):
    return (N, N if M is None else M)


def _kron_shape(a, b):
    sa, sb = np.shape(a), np.shape(b)
    n = max(len(sa), len(sb))
    sa, sb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    return tuple(x * y for x, y in zip(sa, sb, strict=True))


def _tile_shape(A, reps):
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    shape = np.shape(A)
    n = max(len(shape), len(reps))
    shape, reps = (1,) * (n - len(shape)) + shape, (1,) * (n - len(reps)) + reps
    return tuple(int(x) * int(r) for x, r in zip(shape, reps, strict=True))


def _pad_shape(array, pad_width, *args, **kwargs):
    shape = np.shape(array)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=object), (len(shape), 2))
    return tuple(
        size + int(before) + int(after) for size, (before, after) in zip(shape, widths, strict=True)
    )


def _repeat_shape(a, repeats, axis=None):
    shape = (int(np.size(a)),) if axis is None else np.shape(a)
    axis = 0 if axis is None else int(axis) % max(len(shape), 1)
    total = int(np.sum(np.broadcast_to(np.asarray(repeats, dtype=object), (shape[axis],))))
    return shape[:axis] + (total,) + shape[axis + 1 :]


def _einsum_size(*operands, **kwargs):
    """The largest array an einsum makes (its result or an intermediate of the order
    opt_einsum picks), from stand-ins of the operands' shapes that hold no memory."""
    stand_ins = [
        np.broadcast_to(np.zeros(()), np.shape(x)) if not isinstance(x, (str, list)) else x
        for x in operands
    ]
    _, info = opt_einsum.contract_path(*stand_ins, shapes=False)
    result = math.prod(info.size_dict[c] for c in info.output_subscript)
    return (max(int(info.largest_intermediate), result),)


def _joined_size(arrays, *args, **kwargs):
    """Entries of a result joining ``arrays`` (a list, nested for ``block``): their sum."""
    stack, total = [arrays], 0
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            total += int(np.size(item))
    return (total,)


def _tensordot_shape(a, b, axes=2):
    sa, sb = np.shape(a), np.shape(b)
    if np.ndim(axes) == 0:
        n = int(axes)
        return sa[: len(sa) - n] + sb[n:]
    first, second = (
        {int(k) % max(len(shape), 1) for k in np.atleast_1d(summed)}
        for summed, shape in zip(axes, (sa, sb), strict=True)
    )
    return tuple(d for k, d in enumerate(sa) if k not in first) + tuple(
        d for k, d in enumerate(sb) if k not in second
    )


def _dot_shape(a, b, *args, **kwargs):
    sa, sb = np.shape(a), np.shape(b)
    if not sa or not sb:
        return sa or sb
    return sa[:-1] + (sb[:-2] + sb[-1:] if len(sb) >= 2 else ())


def _diag_shape(v, k=0):
    n = int(np.size(v)) if np.ndim(v) == 1 else 0
    return (n + abs(int(k)),) * 2


def _diagflat_shape(v, k=0):
    return (int(np.size(v)) + abs(int(k)),) * 2


def _covariance_shape(m, y=None, rowvar=True, *args, **kwargs):
    variables = int(np.shape(m)[0] if rowvar or np.ndim(m) < 2 else np.shape(m)[1])
    if y is not None:
        variables += int(np.shape(y)[0] if rowvar or np.ndim(y) < 2 else np.shape(y)[1])
    return (variables, variables)


def _svd_shape(a, full_matrices=True, *args, **kwargs):
    m, n = np.shape(a)[-2:]
    return (max(m, n), max(m, n)) if full_matrices else (m, n)


# Functions whose result may be far larger than their operands: checked before they run.
_GROWING = {
    "kron": _kron_shape,
    "outer": lambda a, b, *args, **kwargs: (int(np.size(a)), int(np.size(b))),
    "linalg.outer": lambda a, b, *args, **kwargs: (int(np.size(a)), int(np.size(b))),
    "tile": _tile_shape,
    "pad": _pad_shape,
    "repeat": _repeat_shape,
    "broadcast_to": lambda array, shape, *args, **kwargs: shape,
    "einsum": _einsum_size,
    "tensordot": _tensordot_shape,
    "linalg.tensordot": _tensordot_shape,
    "dot": _dot_shape,
    "inner": lambda a, b: np.shape(a)[:-1] + np.shape(b)[:-1],
    "multi_dot": lambda arrays, *args, **kwargs: (
        (np.shape(arrays[0])[:1] if np.ndim(arrays[0]) > 1 else ())
        + (np.shape(arrays[-1])[-1:] if np.ndim(arrays[-1]) > 1 else ())
    ),
    "diag": _diag_shape,
    "diagflat": _diagflat_shape,
    "vander": lambda x, N=None, *args, **kwargs: (
        int(np.size(x)),
        int(np.size(x) if N is None else N),
    ),
    "linspace": lambda start, stop, num=50, *args, **kwargs: (num,),
    "meshgrid": lambda *xs, **kwargs: (len(xs), *(int(np.size(x)) for x in xs)),
    "cov": _covariance_shape,
    "corrcoef": _covariance_shape,
    "linalg.svd": _svd_shape,
    **dict.fromkeys(
        ("stack", "concatenate", "concat", "hstack", "vstack", "dstack", "column_stack"),
        _joined_size,
    ),
    "block": _joined_size,
    "append": lambda arr, values, *args, **kwargs: _joined_size([arr, values]),
}
_GROWING["linalg.multi_dot"] = _GROWING["multi_dot"]


def _broadcast_shape(*args, **kwargs):
    """The shape the array arguments broadcast to: that of a ufunc's result (``maximum``,
    ``add``, …, ``where``, ``clip``), which may be far larger than each of them."""
    return np.broadcast_shapes(*(np.shape(a) for a in args if not isinstance(a, str)))


# Calls whose result has the shape their arguments broadcast to (besides the ufuncs).
_BROADCASTING = ("where", "clip", "isclose", "allclose")


def _functions() -> dict[str, Callable]:
    """The whitelist: every NumPy function (by its NumPy names, aliases included) that
    has a rule, and the constant constructors ``eye``, ``ones`` and ``zeros`` (these
    checked against the memory limit before they allocate)."""
    found = {}
    for prefix, namespace in (("", np), ("linalg.", np.linalg)):
        for name, value in vars(namespace).items():
            if not name.startswith("_") and callable(value) and registry.is_registered(value):
                found[prefix + name] = value
    for name, shape_of in _GROWING.items():
        if name in found:
            found[name] = _allocating(found[name], shape_of)
    for name, value in found.items():
        if isinstance(value, np.ufunc) or name in _BROADCASTING:
            found[name] = _allocating(value, _broadcast_shape)
    found["eye"] = _allocating(np.eye, _eye_shape)
    found["ones"] = _allocating(np.ones, lambda shape, *args, **kwargs: shape)
    found["zeros"] = _allocating(np.zeros, lambda shape, *args, **kwargs: shape)
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
    text = text.strip()
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is {len(text):,} characters long; at most {MAX_LENGTH:,} are"
            " accepted (define intermediate variables with --value instead)",
            MAX_LENGTH,
        )
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        column = (error.offset or 1) - 1
        raise ExpressionError(f"syntax error: {error.msg}", column) from None
    except (RecursionError, MemoryError):  # the parser's own stack: nested too deeply
        raise ExpressionError(_too_deep("more than the parser's")) from None
    _check_depth(tree.body)
    variables: list[str] = []
    _check(tree.body, variables)
    tree.body = _Converter(text).visit(_Folder(text).visit(tree.body))

    def evaluate(*values):
        return _evaluate(tree.body, dict(zip(variables, values, strict=True)))

    evaluate.__signature__ = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in variables]
    )
    evaluate.__name__ = "f"
    return evaluate, variables


def _too_deep(depth) -> str:
    return (
        f"the expression nests {depth} levels deep; at most {MAX_DEPTH} are accepted"
        " (a sum of many terms nests one level per term: use sum() over a stacked array)"
    )


def _check_depth(root: ast.expr) -> None:
    """Refuse nesting deeper than MAX_DEPTH, walking without recursion (the checks and the
    interpretation below recurse)."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(_too_deep(f"over {MAX_DEPTH}"), node.col_offset)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


class _Folder(ast.NodeTransformer):
    """Arithmetic on constants done exactly, with Python's integers (bounded in size);
    each constant that is left is then converted as NumPy will take it."""

    def __init__(self, text: str):
        self.text = text

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        self.generic_visit(node)
        if not _is_number(node.operand):
            return node
        value = node.operand.value
        return ast.copy_location(ast.Constant(-value if _is(node.op, ast.USub) else value), node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        if not (_is_number(node.left) and _is_number(node.right)) or _is(node.op, ast.MatMult):
            return node  # (NumPy refuses scalars in @; let it say so)
        value = _fold(node.op, node.left.value, node.right.value, node, self.text)
        return ast.copy_location(ast.Constant(value), node)

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        return node  # converted by _Converter once every fold is done


class _Converter(_Folder):
    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        value = _as_numpy_takes(node.value, node, self.text)
        return ast.copy_location(ast.Constant(value), node)


def _is(op, kind) -> bool:
    return isinstance(op, kind)


def _is_number(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and not isinstance(node.value, bool)
    )


def _where(node: ast.expr) -> tuple[int, int]:
    return node.col_offset, (node.end_col_offset or node.col_offset + 1) - node.col_offset


def _source(node: ast.expr, text: str) -> str:
    """The text of ``node`` in the expression, shortened to stay on one line."""
    segment = ast.get_source_segment(text, node) or ast.unparse(node)
    return segment if len(segment) <= 40 else segment[:37] + "..."


def _fold(op: ast.operator, a, b, node: ast.expr, text: str):
    """``a op b`` exactly; refused when the result would be huge or is not a real number."""
    name = _source(node, text)
    if _is(op, ast.Pow) and isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        if (abs(a).bit_length() - 1) * b > _MAX_BITS:  # checked before computing it
            raise ExpressionError(f"the constant {name} is too large", *_where(node))
    try:
        if _is(op, ast.Add):
            value = a + b
        elif _is(op, ast.Sub):
            value = a - b
        elif _is(op, ast.Mult):
            value = a * b
        elif _is(op, ast.Div):
            value = a / b
        else:
            value = a**b
    except ZeroDivisionError:
        raise ExpressionError(f"the constant {name} divides by zero", *_where(node)) from None
    except OverflowError:
        raise ExpressionError(f"the constant {name} is too large", *_where(node)) from None
    if isinstance(value, complex):
        raise ExpressionError(f"the constant {name} is complex", *_where(node))
    if isinstance(value, int) and value.bit_length() > _MAX_BITS:
        raise ExpressionError(f"the constant {name} is too large", *_where(node))
    return value


def _as_numpy_takes(value, node: ast.expr, text: str):
    """An integer beyond int64 (where NumPy would wrap or refuse it) as the float64 that
    equals it exactly; refused when there is none."""
    if not isinstance(value, int) or isinstance(value, bool) or -_INT64 <= value < _INT64:
        return value
    as_float = float(value) if value.bit_length() <= 1024 else math.inf
    if as_float != value:
        raise ExpressionError(
            f"the constant {_source(node, text)} has no exact float64 value; write it as a"
            " float (e.g. 1e20) to accept rounding",
            *_where(node),
        )
    return as_float


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
        a, b = _evaluate(node.left, env), _evaluate(node.right, env)
        _check_size(_OPERATOR_NAMES[type(node.op)], _binary_shape(node.op, a, b))
        return _BINARY[type(node.op)](a, b)
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


_OPERATOR_NAMES = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_OPERATOR_NAMES[ast.MatMult] = "@"


def _binary_shape(op: ast.operator, a, b) -> tuple[int, ...]:
    """The shape of ``a op b``, from the operands' shapes (a mismatch is left to NumPy)."""
    sa, sb = np.shape(a), np.shape(b)
    try:
        if not isinstance(op, ast.MatMult):
            return np.broadcast_shapes(sa, sb)
        if len(sa) >= 2 and len(sb) >= 2:
            return np.broadcast_shapes(sa[:-2], sb[:-2]) + (sa[-2], sb[-1])
    except ValueError:
        pass
    return ()  # a product with a vector is no larger than its operands


def _index(node: ast.expr, env: dict):
    if isinstance(node, ast.Slice):
        parts = (node.lower, node.upper, node.step)
        return slice(*(None if p is None else _evaluate(p, env) for p in parts))
    if isinstance(node, ast.Tuple):
        return tuple(_index(element, env) for element in node.elts)
    return _evaluate(node, env)
