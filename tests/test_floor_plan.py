"""The floor plan holds: tensordiff's imports go one way (no cycles, no upward imports).

Every module of the package is parsed (not imported); each import of another
tensordiff module, at module level or inside a function, is an edge. The
layers below are the plan of README's "How it works": a module may import its
own room and the rooms of lower layers only. A rule (``ops``) may use the
mechanism (``trace``), never the reverse; the mechanism and the text never see
derivatives; the algebra (``core``) sees nothing of tensordiff but ``errors``.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tensordiff"

# Lowest first. A room is a subpackage or a top-level module of tensordiff.
LAYERS = [
    {"errors"},
    {"core"},  # structured-tensor algebra, the context state
    {"text", "trace", "io"},  # index notation and LaTeX; the tracing mechanism; storage
    {"ops"},  # every NumPy rule
    {"chain_rule"},  # forward / reverse / optimal orders
    {"plot"},  # pictures of Jacobians, plans and tensor networks (matplotlib, lazily)
    {"tensor"},  # Tensor, Jacobian, contract
    {"differentiate"},  # trace f, run the chain rule, label the result
    {"plan", "per_sample"},  # the cost of each order; per-sample Jacobians (batch=)
    {"derivatives"},  # td.jacobian, td.grad, td.chain
    {"web"},  # an explanation as HTML (vendored KaTeX), the page's app (Starlette, lazily)
    {"hessian", "jit", "explain", "testing"},
    {"cli"},
    {"__init__", "__main__"},
]
LAYER_OF = {room: n for n, rooms in enumerate(LAYERS) for room in rooms}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def room(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def imported_modules(module: str, node: ast.AST) -> list[str]:
    """The tensordiff modules an import statement loads (a name imported from a package
    that is itself a module counts as that module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.startswith("tensordiff")]
    if not isinstance(node, ast.ImportFrom) or node.level:
        return []
    base = node.module or ""
    if not base.startswith("tensordiff"):
        return []
    found = []
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        found.append(candidate if candidate in MODULES else base)
    return found


def imports() -> list[tuple[str, str, int, bool]]:
    """``(importer, imported, line, inside_a_function)`` for every tensordiff import."""
    edges = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        late = set()
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                late |= {id(node) for node in ast.walk(function)}
        for node in ast.walk(tree):
            for target in imported_modules(module, node):
                edges.append((module, target, node.lineno, id(node) in late))
    return edges


EDGES = imports()


def test_every_room_has_a_layer():
    rooms = {room(module) for module in MODULES}
    assert rooms <= set(LAYER_OF), f"rooms missing from LAYERS: {sorted(rooms - set(LAYER_OF))}"


def test_the_parser_sees_the_imports_it_must():
    """The test itself can fail: known edges of the plan are found."""
    pairs = {(a, b) for a, b, _, _ in EDGES}
    assert ("tensordiff.differentiate", "tensordiff.chain_rule") in pairs
    assert ("tensordiff.ops.linear", "tensordiff.trace.registry") in pairs
    assert ("tensordiff.core.paths", "tensordiff.core.memory") in pairs


@pytest.mark.parametrize("importer, imported, line, late", EDGES)
def test_imports_go_down_the_layers(importer, imported, line, late):
    here, there = room(importer), room(imported)
    if here == there:
        return
    assert LAYER_OF[there] < LAYER_OF[here], (
        f"{importer} (line {line}) imports {imported}: {there!r} is not below {here!r}"
        " in the floor plan"
    )


def test_no_import_is_hidden_inside_a_function():
    """A late import is how a cycle hides; optional extras may be imported lazily, with a
    comment on the line saying so."""
    lines = {
        module: path.read_text(encoding="utf-8").splitlines() for module, path in MODULES.items()
    }
    hidden = [
        f"{importer}:{line} imports {imported}"
        for importer, imported, line, late in EDGES
        if late and "lazy" not in lines[importer][line - 1]
    ]
    assert not hidden


def test_there_is_no_import_cycle():
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for importer, imported, _, _ in EDGES:
        if imported in graph and imported != importer:
            graph[importer].add(imported)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(module, path):
        state[module] = 1
        for other in sorted(graph[module]):
            if state.get(other) == 1:
                cycles.append(path[path.index(other) :] + [other])
            elif other not in state:
                visit(other, path + [other])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, " ; ".join(" -> ".join(cycle) for cycle in cycles)
