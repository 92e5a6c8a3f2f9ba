"""The contraction executor and the memory-aware planner, against np.einsum."""

import numpy as np
import opt_einsum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensordiff as td
from tensordiff.core import paths
from tensordiff.core.execute import LoweredPath

LETTERS = "abcdef"


@st.composite
def equations(draw):
    """Random einsum equations of 1-4 operands over a few letters: products, sums,
    batches, repeated letters (diagonals) and letters summed inside one operand."""
    sizes = {ch: draw(st.integers(1, 4)) for ch in LETTERS}
    n = draw(st.integers(1, 4))
    terms = [
        "".join(draw(st.lists(st.sampled_from(LETTERS), min_size=0, max_size=3))) for _ in range(n)
    ]
    present = sorted(set("".join(terms)))
    output = "".join(draw(st.permutations(present))[: draw(st.integers(0, len(present)))])
    shapes = [tuple(sizes[ch] for ch in term) for term in terms]
    return ",".join(terms) + "->" + output, shapes


@settings(max_examples=300, deadline=None)
@given(equations(), st.integers(0, 2**31), st.booleans())
def test_every_lowering_matches_einsum(equation_shapes, seed, planned_here):
    # dp's order lowered, or the planner's own (0-d operands, scale factors, multiplied in
    # first)
    equation, shapes = equation_shapes
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=shape) for shape in shapes]
    if planned_here:
        contraction = paths.compiled(equation, tuple(shapes))
    else:
        path, _ = opt_einsum.contract_path(equation, *shapes, shapes=True, optimize="dp")
        contraction = LoweredPath(equation, shapes, path)
    result = contraction(*arrays)
    np.testing.assert_allclose(result, np.einsum(equation, *arrays), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "equation, sizes",
    [
        ("dcb,ac->dba", dict(d=32, c=64, b=16, a=256)),  # per-sample Jacobians: a stack of 32
        ("xyk,kz->xyz", dict(x=3, y=2000, k=50, z=20)),  # rows over the threshold: one GEMM
        ("xyk,kz->zyx", dict(x=40, y=4, k=60, z=300)),  # too few rows per GEMM: one GEMM
        ("pqrk,zk->rzqp", dict(p=5, q=6, r=30, k=64, z=40)),  # stacked over p·q, transposed
    ],
)
def test_mid_size_products_run_as_stacks_of_single_threaded_gemms(equation, sizes, rng):
    inputs = equation.split("->")[0].split(",")
    shapes = [tuple(sizes[ch] for ch in term) for term in inputs]
    arrays = [rng.normal(size=shape) for shape in shapes]
    result = LoweredPath(equation, shapes, [(0, 1)])(*arrays)
    np.testing.assert_allclose(result, np.einsum(equation, *arrays), rtol=1e-12, atol=1e-12)


def test_a_product_made_in_an_operands_own_order_matches_einsum(rng):
    a, b = rng.normal(size=(4, 3, 5)), rng.normal(size=(5, 3))
    result = LoweredPath("dba,ab->abd", [a.shape, b.shape], [(0, 1)])(a, b)
    np.testing.assert_allclose(result, np.einsum("dba,ab->abd", a, b), rtol=1e-14)
    swapped = LoweredPath("ab,dba->abd", [b.shape, a.shape], [(0, 1)])(b, a)
    np.testing.assert_allclose(swapped, np.einsum("dba,ab->abd", a, b), rtol=1e-14)


@pytest.mark.parametrize(
    "equation, shapes",
    [
        ("ab,cb->ac", [(2000, 20), (10, 20)]),  # tall and narrow: run as (Yᵀ Xᵀ)ᵀ
        ("ab,bc->ac", [(2000, 20), (20, 10)]),
        ("ba,cb->ca", [(20, 2000), (10, 20)]),  # wide: as it is
        ("ab,bc->ca", [(30, 20), (20, 40)]),  # run as Yᵀ Xᵀ, already in the output's order
    ],
)
@pytest.mark.parametrize("reverse", [False, True])
def test_either_orientation_of_a_matrix_product_matches_einsum(equation, shapes, reverse, rng):
    if reverse:  # the same product with the operands given the other way round
        inputs, output = equation.split("->")
        equation = ",".join(inputs.split(",")[::-1]) + "->" + output
        shapes = shapes[::-1]
    arrays = [rng.normal(size=shape) for shape in shapes]
    contraction = LoweredPath(equation, shapes, [(0, 1)])
    result = contraction(*arrays)
    np.testing.assert_allclose(result, np.einsum(equation, *arrays), rtol=1e-12, atol=1e-12)
    # a tall product comes back as the transpose of the wide one computed; any other in
    # the output's own order (contiguous)
    tall = result.shape[0] >= 2000
    assert result.flags.f_contiguous if tall else result.flags.c_contiguous, contraction.source


def test_a_chain_runs_as_matrix_products_and_scalings(rng):
    shapes = [(10, 500), (500,), (500, 20), (20, 500)]
    arrays = [rng.normal(size=shape) for shape in shapes]
    path, _ = opt_einsum.contract_path("ab,b,bc,cd->ad", *shapes, shapes=True, optimize="dp")
    contraction = LoweredPath("ab,b,bc,cd->ad", shapes, path)
    assert "einsum" not in contraction.source and "matmul" in contraction.source
    np.testing.assert_allclose(
        contraction(*arrays), np.einsum("ab,b,bc,cd->ad", *arrays), rtol=1e-10, atol=1e-9
    )


def test_the_planner_keeps_intermediates_under_the_memory_limit():
    # The cheapest order forms the 1000 x 1000 product of the two outer factors first.
    equation, shapes = "ab,bc,cd->ad", ((1000, 2), (2, 1000), (1000, 1000))
    _, free = paths.path_info(equation, shapes)
    assert free.largest_intermediate == 1_000_000
    with td.memory_limit(8 * 1_000_100):
        _, limited = paths.path_info(equation, shapes)
    assert limited.largest_intermediate <= 1_000_100 and limited.opt_cost >= free.opt_cost


def test_no_order_under_the_limit_is_refused_before_any_work():
    with td.memory_limit(8 * 100), pytest.raises(td.JacobianTooLarge, match="every order"):
        paths.path_info("ab,bc->ac", ((30, 2), (2, 30)))


def test_scale_factors_do_not_change_the_order_of_the_rest():
    # The first-layer gradient of an MLP with its −1 and 1/B: planned with the two 0-d
    # operands among the others, dp went through a 32 × 128 × 10 intermediate.
    shapes = ((32, 10), (128, 10), (32, 128), (32, 64))
    _, bare = paths.path_info("ab,cb,ac,ad->dc", shapes)
    _, scaled = paths.path_info(",,ab,cb,ac,ad->dc", ((), (), *shapes))
    assert scaled.largest_intermediate == bare.largest_intermediate < 32 * 128 * 10
    assert scaled.opt_cost <= bare.opt_cost + 2 * 32 * 10
