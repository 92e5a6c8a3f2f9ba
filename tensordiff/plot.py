"""Pictures (the ``plot`` extra, matplotlib): a Jacobian's entries, a plan's contraction
tree, a Jacobian's tensor network. Each function returns a matplotlib Figure drawn on
the Agg canvas (never shown, so it works on servers and in tests); ``J.plot()`` and
``td.plan(f)(x).plot()`` call them.

>>> import numpy as np, tensordiff as td
>>> x = np.arange(1.0, 5.0)
>>> J = td.jacobian(lambda W: W @ x)(np.ones((3, 4)))
>>> jacobian_figure(J).axes[0].images[0].get_array().shape   # (out, in): 3 × 12
(3, 12)
>>> network_figure(J).axes[0].get_title()
'δ[i,j] x[k]'
"""

import io
import math

import numpy as np

from tensordiff.core import memory
from tensordiff.errors import JacobianTooLarge
from tensordiff.text import notation

__all__ = ["jacobian_figure", "plan_figure", "network_figure", "svg", "MAX_ENTRIES"]

# A heatmap of more entries than this has more cells than a screen has pixels.
MAX_ENTRIES = 1_000_000
_DIGIT_SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉"


def _figure(width: float, height: float):
    """A Figure on the Agg canvas, outside pyplot (no global state, no window)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: optional extra
        from matplotlib.figure import Figure  # lazy: optional extra
    except ImportError as error:
        raise ImportError(
            "tensordiff's pictures need the 'plot' extra: pip install 'tensordiff[plot]'"
        ) from error
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def svg(figure) -> str:
    """The figure as SVG text, the same bytes for the same figure (no date, fixed ids)."""
    from matplotlib import rc_context  # lazy: optional extra

    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": "tensordiff"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def jacobian_figure(J, max_entries: int = MAX_ENTRIES):
    """The Jacobian as a heatmap of its matrix (out × in, row-major as ``np.reshape``),
    with lines between the blocks of the outermost label on each side.

    At most ``max_entries`` cells are drawn: a larger matrix is shown in patches of
    p × q entries, each cell the entry of largest magnitude in its patch (so a δ's
    diagonal stays visible). The dense array is formed only within the memory limit
    (a Jacobian over it is refused, pointing to :func:`network_figure`).

    >>> import tensordiff as td
    >>> J = td.jacobian(lambda x: np.tanh(x))(np.ones(100))
    >>> jacobian_figure(J, max_entries=400).axes[0].images[0].get_array().shape
    (20, 20)
    """
    n_out = len(J.out_indices)
    rows, columns = math.prod(J.shape[:n_out]), math.prod(J.shape[n_out:])
    patch = _patch(rows, columns, max_entries)
    try:  # the dense array, and for patches a padded copy and a regrouped one
        memory.check_dense(((3,) if patch != (1, 1) else ()) + J.shape, J.dtype)
    except JacobianTooLarge:
        raise JacobianTooLarge(
            f"J.plot(): the {rows:,} × {columns:,} matrix of this Jacobian does not fit the"
            " memory limit; plot the same function at smaller sizes (its block pattern is"
            " the same), or draw its structure with J.plot_network()"
        ) from None
    matrix = _largest_in_patches(np.asarray(J).reshape(rows, columns), *patch)
    biggest = float(np.max(np.abs(matrix))) if matrix.size else 0.0
    figure = _figure(*_heatmap_size(*matrix.shape))
    axes = figure.add_subplot()
    image = axes.imshow(
        matrix,
        cmap="RdBu_r",
        vmin=-biggest or -1.0,
        vmax=biggest or 1.0,
        interpolation="nearest",
        aspect="auto" if max(matrix.shape) > 40 * min(matrix.shape) else "equal",
    )
    figure.colorbar(image, ax=axes, shrink=0.8)
    _blocks(axes, J.out_indices, J.shape[:n_out], "y", patch[0])
    _blocks(axes, J.in_indices, J.shape[n_out:], "x", patch[1])
    top = notation.signature(J.numerator, J.out_indices)
    bottom = notation.signature(J.denominator, J.in_indices)
    axes.set_ylabel(f"{top}  (rows)")
    axes.set_xlabel(f"{bottom}  (columns)")
    title = J.formula
    if patch != (1, 1):
        title += f"\n(each cell: the largest-magnitude entry of {patch[0]} × {patch[1]})"
    axes.set_title(title, fontsize=10)
    return figure


def _patch(rows: int, columns: int, max_entries: int) -> tuple[int, int]:
    """Patch sizes (p, q), as equal as the shape allows, leaving at most max_entries cells."""
    p = q = 1
    while math.ceil(rows / p) * math.ceil(columns / q) > max(max_entries, 1):
        if math.ceil(rows / p) >= math.ceil(columns / q):
            p += 1
        else:
            q += 1
    return p, q


def _largest_in_patches(matrix: np.ndarray, p: int, q: int) -> np.ndarray:
    """Each p × q patch of ``matrix`` (zero-padded) as its entry of largest magnitude."""
    if (p, q) == (1, 1):
        return matrix
    rows, columns = math.ceil(matrix.shape[0] / p), math.ceil(matrix.shape[1] / q)
    padded = np.zeros((rows * p, columns * q), matrix.dtype)
    padded[: matrix.shape[0], : matrix.shape[1]] = matrix
    patches = padded.reshape(rows, p, columns, q).transpose(0, 2, 1, 3).reshape(rows, columns, -1)
    largest = np.abs(patches).argmax(axis=2)[..., None]
    return np.take_along_axis(patches, largest, axis=2)[..., 0]


def _heatmap_size(rows: int, columns: int) -> tuple[float, float]:
    longest = max(rows, columns, 1)
    return 2.5 + 6.0 * columns / longest, 1.5 + 5.0 * rows / longest


def _blocks(axes, labels, shape, side: str, per_cell: int = 1) -> None:
    """Rule the blocks of the outermost label (``j=0``, ``j=1``, …) along one side, whose
    cells each hold ``per_cell`` entries."""
    if not labels:
        (axes.set_yticks if side == "y" else axes.set_xticks)([0])
        (axes.set_yticklabels if side == "y" else axes.set_xticklabels)(["(scalar)"])
        return
    count, block = shape[0], math.prod(shape[1:])
    rule = axes.axhline if side == "y" else axes.axvline
    if block > 1 and count <= 200:  # (more rules than that would only grey the picture)
        for edge in range(1, count):
            rule(edge * block / per_cell - 0.5, color="0.35", linewidth=0.8)
    step = max(1, count // 12)  # at most a dozen tick labels
    ticks = [(n * block + block / 2) / per_cell - 0.5 for n in range(0, count, step)]
    names = [f"{labels[0]}={n}" for n in range(0, count, step)]
    (axes.set_yticks if side == "y" else axes.set_xticks)(ticks)
    (axes.set_yticklabels if side == "y" else axes.set_xticklabels)(names, fontsize=8)


def plan_figure(plan):
    """The chosen order's contraction tree (each step with its FLOPs and result size),
    beside the FLOPs of forward, reverse and optimal order."""
    trees = plan.trees[:3]
    panels = max(len(trees), 1)
    figure = _figure(4.0 + 4.5 * panels, 4.5)
    grid = figure.add_gridspec(1, 1 + panels, width_ratios=[1] + [1.6] * panels)
    _order_bars(figure.add_subplot(grid[0, 0]), plan)
    for n, tree in enumerate(trees):
        _tree(figure.add_subplot(grid[0, 1 + n]), tree, n, len(plan.trees))
    if not trees:
        axes = figure.add_subplot(grid[0, 1])
        axes.set_axis_off()
        text = (
            "backpropagation: one vector–Jacobian\nproduct per operation"
            if plan.chosen == "reverse"
            else "no contraction: every term is a\nsingle factor times deltas"
        )
        axes.text(0.5, 0.5, text, ha="center", va="center")
    return figure


def _order_bars(axes, plan) -> None:
    orders = [order for order, cost in plan.costs.items() if not cost["over_limit"]]
    flops = [plan.costs[order]["flops"] for order in orders]
    colours = ["tab:orange" if order == plan.chosen else "tab:blue" for order in orders]
    bars = axes.bar(orders, flops, color=colours)
    for bar, order in zip(bars, orders, strict=True):
        largest = plan.costs[order]["largest_intermediate"]
        axes.annotate(
            f"{bar.get_height():,.0f}\nmax {largest:,}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center", va="bottom", fontsize=8,
        )  # fmt: skip
    axes.set_ylabel("FLOPs (a multiply-add is 2)")
    axes.set_title(f"orders; chosen: {plan.chosen}", fontsize=10)
    axes.margins(y=0.25)


def _tree(axes, tree: dict, n: int, count: int) -> None:
    """Leaves (the factors) on the bottom row, each step one level above its operands."""
    # leaves staggered in two rows so long names do not overlap
    nodes = [
        {"x": float(k), "y": -0.35 * (k % 2), "text": name} for k, name in enumerate(tree["leaves"])
    ]
    # the operands still to be contracted, in the order opt_einsum numbers them
    waiting = list(range(len(nodes)))
    for step in tree["steps"]:
        taken = [waiting[k] for k in step["operands"]]
        for k in sorted(step["operands"], reverse=True):
            del waiting[k]
        x = sum(nodes[k]["x"] for k in taken) / len(taken)
        y = 1.0 + max(nodes[k]["y"] for k in taken)
        text = f"{step['einsum']}\n{step['flops']:,} FLOPs, {step['size']:,} entries"
        nodes.append({"x": x, "y": y, "text": text})
        for k in taken:
            axes.plot([nodes[k]["x"], x], [nodes[k]["y"], y], color="0.4", zorder=1)
        waiting.append(len(nodes) - 1)
    for k, node in enumerate(nodes):
        leaf = k < len(tree["leaves"])
        axes.annotate(
            node["text"], (node["x"], node["y"]), ha="center", va="center", fontsize=8,
            bbox={"boxstyle": "round", "fc": "white" if leaf else "#fde9c9", "ec": "0.4"},
        )  # fmt: skip
    axes.set_axis_off()
    axes.set_xlim(-0.8, max(len(tree["leaves"]) - 0.2, 1.0))
    axes.set_ylim(-0.9, max((node["y"] for node in nodes), default=0) + 0.6)
    which = f" (term {n + 1} of {count})" if count > 1 else ""
    axes.set_title(f"contraction tree{which}: factors below, steps above", fontsize=10)


def network_figure(J, max_terms: int = 4):
    """The tensor network of each term of ``J``: factors as nodes, labels as edges (a
    summed label joins two factors), output labels open on the left and the argument's
    on the right, and each δ a bare wire between the labels it joins."""
    networks = notation.network(J)[:max_terms] or [
        {"text": "0", "factors": [], "deltas": [], "legs": []}
    ]
    figure = _figure(6.0 * len(networks), 3.8)
    for n, network in enumerate(networks):
        _network(figure.add_subplot(1, len(networks), n + 1), network, set(J.out_indices))
    return figure


def _network(axes, network: dict, out_labels: set) -> None:
    def side(piece: str) -> str:
        return "out" if piece.rstrip(_DIGIT_SUBSCRIPTS) in out_labels else "in"

    legs = {}
    for x, which in ((0.0, "out"), (3.0, "in")):
        pieces = [piece for piece in network["legs"] if side(piece) == which]
        for k, piece in enumerate(pieces):
            legs[piece] = (x, _spread(k, len(pieces)))
            axes.annotate(
                piece, legs[piece], ha="right" if which == "out" else "left", va="center",
                xytext=(-6 if which == "out" else 6, 0), textcoords="offset points",
            )  # fmt: skip
            axes.plot(*legs[piece], "o", color="black", markersize=3)
    factors = {
        name: (1.5, _spread(k, len(network["factors"])))
        for k, (name, _) in enumerate(network["factors"])
    }
    for name, labels in network["factors"]:
        for label in labels:
            if label in legs:  # an open label: a line out to its leg
                _wire(axes, factors[name], legs[label], label, "0.3")
            else:  # a summed label: a line to each other factor carrying it
                for other, other_labels in network["factors"]:
                    if other > name and label in other_labels:
                        _wire(axes, factors[name], factors[other], label, "tab:blue")
    for joined in network["deltas"]:
        for a, b in zip(joined, joined[1:], strict=False):
            _wire(axes, legs[a], legs[b], "δ", "tab:red", curved=True)
    for name, (x, y) in factors.items():
        axes.annotate(
            name, (x, y), ha="center", va="center", fontsize=9,
            bbox={"boxstyle": "round", "fc": "#e8f0fb", "ec": "tab:blue"},
        )  # fmt: skip
    axes.set_xlim(-0.8, 3.8)
    axes.set_ylim(-0.2, 1.2)
    axes.set_axis_off()
    axes.set_title(network["text"], fontsize=10)


def _spread(k: int, count: int) -> float:
    return 0.5 if count == 1 else 1.0 - k / (count - 1)


def _wire(axes, start, end, label: str, colour: str, curved: bool = False) -> None:
    if curved and start[0] == end[0]:  # two labels on the same side: bow outwards
        bow = 0.5 if start[0] > 1.5 else -0.5
        ys = np.linspace(start[1], end[1], 30)
        xs = start[0] + bow * np.sin(np.linspace(0, np.pi, 30))
    else:
        xs, ys = np.array([start[0], end[0]]), np.array([start[1], end[1]])
    axes.plot(xs, ys, color=colour, linewidth=1.5, zorder=0)
    middle = len(xs) // 2
    if len(xs) == 2:
        x, y = xs.mean(), ys.mean()
    else:
        x, y = xs[middle], ys[middle]
    axes.annotate(label, (x, y), color=colour, fontsize=9, ha="center", va="bottom")
