"""The pictures: the heatmap is the Jacobian (checked against JAX), its blocks ruled by
labels, large ones refused without densifying; the plan's tree and bars are the plan's
numbers; the tensor network has each δ as a wire. Figures never touch pyplot."""

import subprocess
import sys

import numpy as np
import pytest

import tensordiff as td
from tensordiff.text import notation

pytest.importorskip("matplotlib")


def test_the_heatmap_is_the_jacobian_as_a_matrix(jax, rng):
    W, x = rng.normal(size=(3, 4)), rng.normal(size=4)

    def f(W, np=np):
        return np.tanh(W @ x) * np.sum(W)

    figure = td.jacobian(f)(W).plot()
    expected = np.asarray(jax.jacobian(lambda W: f(W, jax.numpy))(W)).reshape(3, 12)
    np.testing.assert_allclose(figure.axes[0].images[0].get_array(), expected, rtol=1e-12)


def test_blocks_of_the_outer_labels_are_ruled_and_named():
    J = td.jacobian(lambda W: W @ np.arange(1.0, 5.0))(np.ones((3, 4)))  # δ[i,j] x[k]
    axes = J.plot().axes[0]
    vertical = sorted(
        line.get_xdata()[0] for line in axes.lines if line.get_xdata()[0] == line.get_xdata()[1]
    )
    assert vertical == [3.5, 7.5]  # between j=0 | j=1 | j=2, each 4 columns (k) wide
    assert [tick.get_text() for tick in axes.get_xticklabels()] == ["j=0", "j=1", "j=2"]
    assert [tick.get_text() for tick in axes.get_yticklabels()] == ["i=0", "i=1", "i=2"]
    matrix = axes.images[0].get_array()
    for i in range(3):  # the δ[i,j] pattern: only block j = i is non-zero in row i
        nonzero_blocks = {column // 4 for column in np.flatnonzero(matrix[i])}
        assert nonzero_blocks == {i}


def test_a_large_jacobian_is_refused_before_it_is_densified():
    W, x = np.ones((2000, 2000)), np.ones(2000)  # J: 8·10⁹ entries, 64 GB dense
    J = td.jacobian(lambda W: W @ x)(W)
    with pytest.raises(td.JacobianTooLarge, match=r"2,000 × 4,000,000 matrix.*plot_network"):
        J.plot()
    figure = J.plot_network()  # the structure is drawn at any size
    assert figure.axes[0].get_title() == "δ[i,j] x[k]"


def test_a_larger_jacobian_is_drawn_in_patches_of_its_largest_entries(jax, rng):
    W, x = rng.normal(size=(6, 8)), rng.normal(size=8)
    figure = td.jacobian(lambda W: np.tanh(W @ x))(W).plot(max_entries=50)
    shown = figure.axes[0].images[0].get_array()
    matrix = np.asarray(jax.jacobian(lambda W: jax.numpy.tanh(W @ x))(W)).reshape(6, 48)
    p, q = 6 // shown.shape[0], 48 // shown.shape[1]
    assert shown.size <= 50 and (p, q) == (1, 6)
    for r in range(shown.shape[0]):
        for c in range(shown.shape[1]):
            patch = matrix[r * p : (r + 1) * p, c * q : (c + 1) * q].ravel()
            np.testing.assert_allclose(shown[r, c], patch[np.argmax(np.abs(patch))], rtol=1e-10)
    assert "largest-magnitude entry of 1 × 6" in figure.axes[0].get_title()


def test_the_plan_picture_shows_the_plans_numbers():
    A, B, x = np.ones((5, 4)), np.ones((4, 3)), np.ones(3)
    plan = td.plan(lambda x: np.tanh(A @ np.tanh(B @ x)))(x)
    figure = plan.plot()
    bars, tree = figure.axes
    heights = [patch.get_height() for patch in bars.patches]
    assert heights == [plan.costs[order]["flops"] for order in ("forward", "reverse", "optimal")]
    [term] = plan.trees
    assert sum(step["flops"] for step in term["steps"]) == plan.costs["optimal"]["flops"]
    shown = [text.get_text() for text in tree.texts]
    assert len(shown) == len(term["leaves"]) + len(term["steps"])
    assert len(term["steps"]) == len(term["leaves"]) - 1  # a binary tree over the factors
    assert all(f"{step['flops']:,} FLOPs" in "\n".join(shown) for step in term["steps"])


def test_the_network_draws_each_delta_as_a_wire_between_its_labels():
    x = np.arange(1.0, 5.0)
    J = td.jacobian(lambda W: W @ x)(np.ones((3, 4)))
    [term] = notation.network(J)
    assert term["deltas"] == [["i", "j"]] and term["factors"] == [("x[k]", ["k"])]
    axes = J.plot_network().axes[0]
    wires = {text.get_text(): text.get_color() for text in axes.texts if text.get_text() in "δk"}
    assert wires == {"δ": "tab:red", "k": "0.3"}


def test_figures_use_the_agg_canvas_and_never_pyplot():
    code = (
        "import sys, numpy as np, tensordiff as td;"
        "J = td.jacobian(lambda x: np.tanh(x))(np.ones(3));"
        "figures = [J.plot(), J.plot_network(), td.plan(lambda x: np.tanh(x))(np.ones(3)).plot()];"
        "print(type(figures[0].canvas).__name__, 'matplotlib.pyplot' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout.split() == ["FigureCanvasAgg", "False"], run.stderr


def test_without_matplotlib_pictures_say_which_extra_and_pages_still_render():
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"  # as if it were not installed
        "import numpy as np, tensordiff as td\n"
        "J = td.jacobian(lambda x: np.tanh(x))(np.ones(3))\n"
        "try:\n    J.plot()\nexcept ImportError as error:\n    print(error)\n"
        "page = td.explain(lambda x: np.tanh(x))(np.ones(3)).html()\n"
        "print(page.count('data-tex') > 0, page.count('pip install &#x27;tensordiff[plot]'))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout.splitlines() == [
        "tensordiff's pictures need the 'plot' extra: pip install 'tensordiff[plot]'",
        "True 3",
    ], run.stderr
