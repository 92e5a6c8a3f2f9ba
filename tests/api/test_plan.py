"""Contraction orders: optimal on chains, and never worse than forward or reverse order."""

import numpy as np
import pytest
from cases import cases

import tensordiff as td
from tensordiff.core import paths

rng = np.random.default_rng(11)


def matrix_chain_flops(dims: list[int]) -> int:
    """The exact optimum of multiplying matrices of shapes (dims[k+1], dims[k]), a textbook DP.

    FLOPs are counted as opt_einsum does: a multiply-add is 2.
    """
    n = len(dims) - 1
    best = [[0] * n for _ in range(n)]
    for span in range(1, n):
        for i in range(n - span):
            j = i + span
            best[i][j] = min(
                best[i][k] + best[k + 1][j] + 2 * dims[i] * dims[k + 1] * dims[j + 1]
                for k in range(i, j)
            )
    return best[0][n - 1]


def linear_chain(widths):
    matrices = [rng.normal(size=(widths[k + 1], widths[k])) for k in range(len(widths) - 1)]

    def f(x):
        for A in matrices:
            x = A @ x
        return x

    return f


def tanh_chain(widths):
    matrices = [
        rng.normal(size=(widths[k + 1], widths[k])) / widths[k] for k in range(len(widths) - 1)
    ]

    def f(x):
        for A in matrices[:-1]:
            x = np.tanh(A @ x)
        return matrices[-1] @ x

    return f


CHAINS = {
    "hourglass": [10, 50, 8, 50, 10],
    "bottleneck": [50, 4, 50, 4, 50],
    "fan-out": [4, 20, 20, 20, 200],
    "fan-in": [200, 20, 20, 20, 4],
    "wide-narrow": [200, 5, 200, 5, 200],
    "nine-layers": [60, 5, 60, 5, 60, 5, 60, 5, 60, 5],
}


@pytest.mark.parametrize("widths", CHAINS.values(), ids=CHAINS.keys())
def test_optimal_order_matches_the_exact_dynamic_program_on_chains(widths):
    report = td.plan(linear_chain(widths))(rng.normal(size=widths[0]))
    assert report.costs["optimal"]["flops"] == matrix_chain_flops(widths)


@pytest.mark.parametrize("widths", CHAINS.values(), ids=CHAINS.keys())
def test_chosen_order_is_never_worse_than_forward_or_reverse(widths):
    report = td.plan(tanh_chain(widths))(rng.normal(size=widths[0]))
    best_classic = min(report.costs["forward"]["flops"], report.costs["reverse"]["flops"])
    assert report.costs[report.chosen]["flops"] <= best_classic
    assert report.chosen == "optimal"


def test_all_orders_give_the_same_jacobian():
    f = tanh_chain(CHAINS["hourglass"])
    x = rng.normal(size=10)
    dense = {
        mode: np.asarray(td.jacobian(f, mode=mode)(x))
        for mode in ("forward", "reverse", "optimal", "auto")
    }
    for mode in ("forward", "reverse", "auto"):
        np.testing.assert_allclose(dense[mode], dense["optimal"], rtol=1e-12, atol=1e-15)


def test_structure_costs_nothing_for_deltas_and_a_diagonal_for_elementwise():
    # ∂tanh(x)/∂x is a diagonal: the optimal order never multiplies a dense identity
    report = td.plan(lambda x: np.tanh(np.tanh(x)))(rng.normal(size=500))
    assert report.costs["optimal"]["flops"] <= 2 * 500
    assert report.costs["optimal"]["largest_intermediate"] <= 500 * 500


def test_memory_limit_refuses_measuring_before_work_starts():
    f = linear_chain([300, 300])
    x = rng.normal(size=300)
    # Predicting writes nothing dense: the 720 kB Jacobian (the matrix itself) is only planned.
    report = td.plan(f, memory_limit=1000)(x)
    assert report.shape == (300, 300) and not report.costs["optimal"]["over_limit"]
    with pytest.raises(td.JacobianTooLarge, match="over the (memory )?limit"):
        td.plan(f, memory_limit=1000, measure=True)(x)


def test_an_intermediate_over_the_limit_in_every_order_is_refused():
    f = linear_chain([2, 400, 400, 2])  # each order forms a 400 x 2 or 2 x 400 product at least
    with pytest.raises(td.JacobianTooLarge, match="over the (memory )?limit"):
        td.plan(f, memory_limit=8 * 100)(rng.normal(size=2))


def test_memory_limit_picks_the_cheapest_order_that_fits():
    # 50 -> 1000 -> 3 -> 2: the fewest FLOPs form the 2 x 1000 product of the last two
    # matrices first; under a limit of 150 entries the order must start with 3 x 50.
    f = linear_chain([50, 1000, 3, 2])
    x = rng.normal(size=50)
    free = td.plan(f)(x)
    fitting = td.plan(f, memory_limit=8 * 150)(x)
    assert free.costs["optimal"]["largest_intermediate"] == 2000
    assert fitting.costs["optimal"]["largest_intermediate"] <= 150
    assert fitting.costs["optimal"]["flops"] > free.costs["optimal"]["flops"]
    # Reverse order's first product is 2 x 1000: over the limit, reported as such.
    assert fitting.costs["reverse"]["over_limit"] and not fitting.costs["optimal"]["over_limit"]
    assert "over the memory limit" in str(fitting)
    np.testing.assert_allclose(
        np.asarray(td.jacobian(f)(x)), np.asarray(td.jacobian(f, mode="forward")(x))
    )


def _metered_run(f, x, order) -> dict:
    """FLOPs and largest intermediate of really computing the dense Jacobian in ``order``."""
    with paths.metered() as meter:
        np.asarray(td.jacobian(f, mode=order)(x))
    return {key: meter[key] for key in ("flops", "largest_intermediate")}


ONE_ARGUMENT = [case for case in cases() if len(case["shapes"]) == 1]


@pytest.mark.parametrize("case", ONE_ARGUMENT, ids=[case["id"] for case in ONE_ARGUMENT])
def test_predicted_costs_are_the_costs_of_a_real_run(case):
    # The plan runs the chain rule dry (nothing computed); its counts must be exactly
    # what computing the Jacobian in that order counts.
    x = rng.uniform(case["low"], case["high"], size=case["shapes"][0])
    report = td.plan(case["f"])(x)
    for order in ("forward", "reverse", "optimal"):
        predicted = {key: report.costs[order][key] for key in ("flops", "largest_intermediate")}
        assert predicted == _metered_run(case["f"], x, order), order


@pytest.mark.parametrize("widths", [[7, 30, 3, 30, 7], [5, 40, 40, 2]])
def test_predicted_costs_of_chains_are_the_costs_of_a_real_run(widths):
    f = tanh_chain(widths)
    x = rng.normal(size=widths[0])
    report = td.plan(f)(x)
    for order in ("forward", "reverse", "optimal"):
        predicted = {key: report.costs[order][key] for key in ("flops", "largest_intermediate")}
        assert predicted == _metered_run(f, x, order), order


def test_a_plan_computes_no_jacobian_unless_asked_to_measure(monkeypatch):
    # Every dense write goes through core.dense.dense_writer; predicting never calls it.
    from tensordiff.core import dense

    written = []
    real_writer = dense.dense_writer
    monkeypatch.setattr(dense, "dense_writer", lambda *a: written.append(a) or real_writer(*a))
    f, x = tanh_chain([5, 30, 5]), rng.normal(size=5)
    td.plan(f)(x)
    td.explain(f)(x)
    assert written == []
    td.plan(f, measure=True)(x)
    assert len(written) == 3  # one dense Jacobian per order


def test_report_prints_every_order_and_the_choice():
    f, x = tanh_chain([5, 30, 5]), rng.normal(size=5)
    text = str(td.plan(f)(x))
    for word in ("forward", "reverse", "optimal", "chosen by mode='auto'", "FLOPs"):
        assert word in text
    assert "peak memory" not in text
    measured = td.plan(f, measure=True)(x)
    assert "peak memory" in str(measured)
    assert all(measured.costs[order]["seconds"] > 0 for order in measured.costs)
    with pytest.raises(td.TensorDiffError, match="measure=True"):
        td.plan(f)(x).table(timings=True)


def test_a_computed_jacobian_carries_its_cost_report():
    f = tanh_chain([5, 30, 5])
    x = rng.normal(size=5)
    J = td.jacobian(f)(x)
    report = J.relabel("ab").plan()
    assert report.costs["optimal"]["flops"] == td.plan(f)(x).costs["optimal"]["flops"]
    with pytest.raises(td.TensorDiffError, match="td.plan"):
        td.jit(td.jacobian(f))(x).plan()
    with pytest.raises(td.TensorDiffError, match="td.plan"):
        td.chain(J, td.jacobian(np.tanh)(x)).plan()


def test_a_jacobian_over_the_memory_limit_is_planned_and_explained_but_not_measured():
    x, b = rng.normal(size=300), rng.normal(size=200)
    W = rng.normal(size=(200, 300))

    def layer(W):
        return np.tanh(W @ x + b)

    with td.memory_limit(10**6):  # the dense Jacobian needs 96 MB
        report = td.plan(layer)(W)
        assert report.costs["optimal"]["flops"] == 200 * 300  # (1 − V²)[i] x[k], one product
        assert "x[k]" in td.explain(layer)(W).formula
        with pytest.raises(td.JacobianTooLarge):
            td.plan(layer, measure=True)(W)


def test_each_leaf_of_a_nested_result_carries_its_cost_report():
    params = {"W": rng.normal(size=(5, 4)), "layers": [rng.normal(size=(3, 5))]}
    x = rng.normal(size=4)

    def f(params, x):
        hidden = np.tanh(params["layers"][0] @ np.tanh(params["W"] @ x))
        return {"h": hidden, "s": np.sum(hidden**2)}, {"hidden": hidden}

    J, _ = td.jacobian(f, argnums=(0, 1), has_aux=True)(params, x)
    # the leaf's report is td.plan of f seen as a function of that array to that array
    by_hand = td.plan(lambda L: np.tanh(L @ np.tanh(params["W"] @ x)))(params["layers"][0])
    report = J["h"][0]["layers"][0].plan()
    assert report.shape == (3, 3, 5)
    assert report.costs == by_hand.costs and report.chosen == by_hand.chosen
    by_hand = td.plan(
        lambda x: np.sum(np.tanh(params["layers"][0] @ np.tanh(params["W"] @ x)) ** 2)
    )(x)
    assert J["s"][1].plan().costs == by_hand.costs
    g = td.grad(lambda p: np.sum(np.tanh(p["W"] @ x)))(params)
    assert g["W"].plan().shape == (5, 4) and g["layers"][0].plan().costs["optimal"]["flops"] == 0
    with pytest.raises(td.TensorDiffError, match="per-sample"):
        td.jacobian(np.tanh, batch=0)(rng.normal(size=(3, 2))).plan()
