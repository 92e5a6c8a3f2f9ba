"""Terms (dense factors × Kronecker deltas) and their contraction, against np.einsum."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensordiff.core.dense import write_dense
from tensordiff.core.term import Term, axis_classes, contract_terms, fresh_class, renamed
from tensordiff.errors import ShapeError


def reference(term: Term) -> np.ndarray:
    """The dense array of ``term`` entry by entry from its definition (no library code):
    an entry is zero unless every class takes one value on all its axes, and is then the
    product of the factors summed over the classes that are on no axis."""
    shape = tuple(math.prod(term.sizes[c] for c in axis) for axis in term.axes)
    factor_sizes = {}
    for array, classes in term.factors:
        factor_sizes.update(zip(classes, np.shape(array), strict=True))
    on_axes = {c for axis in term.axes for c in axis}
    summed = [c for c in dict.fromkeys(c for _, cl in term.factors for c in cl) if c not in on_axes]
    out = np.zeros(shape)
    for index in np.ndindex(*shape):
        value: dict[int, int] = {}
        consistent = True
        for axis, i in zip(term.axes, index, strict=True):
            pieces = np.unravel_index(i, [term.sizes[c] for c in axis]) if axis else ()
            for c, piece in zip(axis, pieces, strict=True):
                consistent &= value.setdefault(c, int(piece)) == int(piece)
        if not consistent:
            continue
        total = 0.0
        for choice in itertools.product(*(range(factor_sizes[c]) for c in summed)):
            value.update(zip(summed, choice, strict=True))
            entry = 1.0
            for array, classes in term.factors:
                entry *= np.asarray(array)[tuple(value[c] for c in classes)]
            total += entry
        out[index] = total
    return out


def shape_of(term: Term) -> tuple[int, ...]:
    return tuple(math.prod(term.sizes[c] for c in axis) for axis in term.axes)


def densely(term: Term) -> np.ndarray:
    return write_dense([term], shape_of(term), np.float64)


# ---- hand-built terms, each with its dense value built independently -------------------
def dense(array):
    return Term.dense(array), array


def identity(n):
    c = fresh_class()
    return Term((), ((c,), (c,)), {c: n}), np.eye(n)


def diagonal(v):
    c = fresh_class()
    return Term(((v, (c,)),), ((c,), (c,)), {c: len(v)}), np.diag(v)


def three_way_diagonal(v):
    """δ[i,j,k] v[i]: one class on three axes."""
    c, n = fresh_class(), len(v)
    expected = np.zeros((n, n, n))
    for i in range(n):
        expected[i, i, i] = v[i]
    return Term(((v, (c,)),), ((c,), (c,), (c,)), {c: n}), expected


def flattening(p, q):
    """∂y/∂x for y = x.reshape(p*q): the y axis is the composite (a, b) of x's classes."""
    a, b = fresh_class(), fresh_class()
    term = Term((), ((a, b), (a,), (b,)), {a: p, b: q})
    return term, np.eye(p * q).reshape(p * q, p, q)


def unflattening(p, q):
    """∂y/∂x for y = x.reshape(p, q), x of length p*q."""
    a, b = fresh_class(), fresh_class()
    term = Term((), ((a,), (b,), (a, b)), {a: p, b: q})
    return term, np.eye(p * q).reshape(p, q, p * q)


def composite(array):
    """A dense factor of shape (p, q, ...) whose first two axes make one axis of size p*q."""
    classes = tuple(fresh_class() for _ in array.shape)
    sizes = dict(zip(classes, array.shape, strict=True))
    axes = (classes[:2], *((c,) for c in classes[2:]))
    term = Term(((array, classes),), axes, sizes)
    return term, array.reshape(array.shape[0] * array.shape[1], *array.shape[2:])


def broadcast(v, n):
    """v[i] constant along a second axis of size n (a class on no factor)."""
    a, b = fresh_class(), fresh_class()
    term = Term(((v, (a,)),), ((a,), (b,)), {a: len(v), b: n})
    return term, v[:, None] * np.ones(n)


def einsum_of(pairs, labels, out):
    return np.einsum(",".join(labels) + "->" + out, *(d for _, d in pairs))


def check_contraction(pairs, labels, out):
    """The lazy and the collapsed contraction both equal np.einsum of the dense operands."""
    operands = [(term, tuple(spec)) for (term, _), spec in zip(pairs, labels, strict=True)]
    expected = einsum_of(pairs, labels, out)
    lazy = contract_terms(operands, tuple(out), max_factors=None)
    assert shape_of(lazy) == expected.shape
    np.testing.assert_allclose(densely(lazy), expected, atol=1e-12)
    np.testing.assert_allclose(reference(lazy), expected, atol=1e-12)
    collapsed = contract_terms(operands, tuple(out), max_factors=1)
    assert len(collapsed.factors) <= 1
    np.testing.assert_allclose(densely(collapsed), expected, atol=1e-12)
    return lazy


R = np.random.default_rng(7)


def normal(*shape):
    return R.normal(size=shape)


CASES = {
    "matrix product": lambda: ([dense(normal(2, 3)), dense(normal(3, 4))], ["ij", "jk"], "ik"),
    "matrix product transposed out": lambda: (
        [dense(normal(2, 3)), dense(normal(3, 4))],
        ["ij", "jk"],
        "ki",
    ),
    "hadamard (shared labels kept)": lambda: (
        [dense(normal(2, 3)), dense(normal(2, 3))],
        ["ij", "ij"],
        "ij",
    ),
    "outer product": lambda: ([dense(normal(2)), dense(normal(3))], ["i", "j"], "ji"),
    "label of three operands summed": lambda: (
        [dense(normal(2, 3)), dense(normal(3)), dense(normal(3, 4))],
        ["ij", "j", "jk"],
        "ik",
    ),
    "label of three operands kept": lambda: (
        [dense(normal(2, 3)), dense(normal(3)), dense(normal(3, 4))],
        ["ij", "j", "jk"],
        "jik",
    ),
    "everything summed": lambda: (
        [dense(normal(2, 3)), dense(normal(3, 2))],
        ["ij", "ji"],
        "",
    ),
    "identity then dense": lambda: ([identity(3), dense(normal(3, 4))], ["ij", "jk"], "ik"),
    "dense then identity": lambda: ([dense(normal(4, 3)), identity(3)], ["kj", "ji"], "ki"),
    "identity times identity": lambda: ([identity(3), identity(3)], ["ij", "jk"], "ki"),
    "trace of an identity (a summed pure delta)": lambda: (
        [identity(4), identity(4)],
        ["ij", "ij"],
        "",
    ),
    "diagonal chain": lambda: ([diagonal(normal(3)), diagonal(normal(3))], ["ij", "jk"], "ik"),
    "diagonal against dense, delta kept": lambda: (
        [diagonal(normal(3)), dense(normal(3, 2))],
        ["ij", "jk"],
        "ijk",
    ),
    "delta on three axes": lambda: (
        [three_way_diagonal(normal(3)), dense(normal(3, 2))],
        ["ijk", "kl"],
        "ilj",
    ),
    "broadcast axis": lambda: ([broadcast(normal(2), 3), dense(normal(3, 4))], ["ij", "jk"], "ik"),
    "broadcast axis kept": lambda: ([broadcast(normal(2), 3), dense(normal(2))], ["ij", "i"], "ji"),
    "flattening against a single class (split)": lambda: (
        [dense(normal(5, 6)), flattening(2, 3)],
        ["ky", "yab"],
        "kab",
    ),
    "flattening against a single class, reversed": lambda: (
        [flattening(2, 3), dense(normal(5, 6))],
        ["yab", "ky"],
        "kab",
    ),
    "composite against single, summed": lambda: (
        [composite(normal(2, 3, 4)), dense(normal(6))],
        ["yr", "y"],
        "r",
    ),
    "single against composite, kept": lambda: (
        [dense(normal(6)), composite(normal(2, 3, 4))],
        ["y", "yr"],
        "ry",
    ),
    "composite 2x6 against composite 4x3": lambda: (
        [composite(normal(2, 6)), composite(normal(4, 3))],
        ["y", "y"],
        "y",
    ),
    "composite 2x6 against composite 4x3, summed": lambda: (
        [composite(normal(2, 6)), composite(normal(4, 3))],
        ["y", "y"],
        "",
    ),
    "unflatten then flatten": lambda: (
        [unflattening(2, 3), flattening(2, 3)],
        ["abx", "yab"],
        "yx",
    ),
    "flatten then unflatten with finer pieces": lambda: (
        [flattening(2, 6), composite(normal(4, 3, 2))],
        ["yab", "yr"],
        "abr",
    ),
    "size-1 axes": lambda: (
        [dense(normal(2, 1, 3)), dense(normal(1, 3))],
        ["ixj", "xj"],
        "ix",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_contraction_equals_einsum_of_the_dense_operands(case):
    pairs, labels, out = CASES[case]()
    check_contraction(pairs, labels, out)


def test_the_same_term_twice_is_renamed_apart():
    term, array = dense(normal(3, 3))
    check_contraction([(term, array), (term, array)], ["ij", "jk"], "ik")
    check_contraction([(term, array), (term, array)], ["ij", "ij"], "")
    check_contraction([(term, array), (term, array), (term, array)], ["ij", "jk", "kl"], "li")
    flat = flattening(2, 2)
    check_contraction([flat, flat], ["yab", "yab"], "")


def test_an_identity_is_never_materialised():
    A = normal(3, 4)
    result = check_contraction([identity(3), dense(A)], ["ij", "jk"], "ik")
    assert result.stored_nbytes == A.nbytes
    assert len(result.factors) == 1


def test_a_reshape_delta_is_never_materialised():
    M = normal(5, 6)
    result = check_contraction([dense(M), flattening(2, 3)], ["ky", "yab"], "kab")
    assert result.stored_nbytes == M.nbytes


def test_deltas_contract_to_deltas_without_factors():
    result = check_contraction([identity(3), identity(3)], ["ij", "jk"], "ik")
    assert result.factors == () and result.stored_nbytes == 0
    result = check_contraction([flattening(2, 3), unflattening(2, 3)], ["yab", "abx"], "yx")
    assert result.factors == ()


def test_diagonals_stay_lazy_under_contraction():
    v, w = normal(3), normal(3)
    result = check_contraction([diagonal(v), diagonal(w)], ["ij", "jk"], "ik")
    assert result.stored_nbytes == v.nbytes + w.nbytes
    assert {id(array) for array, _ in result.factors} == {id(v), id(w)}


def test_max_factors_collapses_only_past_the_limit():
    pairs = [dense(normal(2, 3)), dense(normal(3)), dense(normal(3, 4))]
    operands = [(t, tuple(s)) for (t, _), s in zip(pairs, ["ij", "j", "jk"], strict=True)]
    assert len(contract_terms(operands, ("i", "k"), max_factors=3).factors) == 3
    collapsed = contract_terms(operands, ("i", "k"), max_factors=2)
    assert len(collapsed.factors) == 1
    np.testing.assert_allclose(densely(collapsed), einsum_of(pairs, ["ij", "j", "jk"], "ik"))


def test_contraction_leaves_its_operands_unchanged():
    (F, F_dense), (M, M_dense) = flattening(2, 3), dense(normal(5, 6))
    before = (F.axes, dict(F.sizes), M.axes, dict(M.sizes), M.factors[0][1])
    contract_terms([(M, "ky"), (F, "yab")], ("k", "a", "b"))
    assert (F.axes, dict(F.sizes), M.axes, dict(M.sizes), M.factors[0][1]) == before
    np.testing.assert_array_equal(densely(F), F_dense)
    np.testing.assert_array_equal(densely(M), M_dense)


def test_layouts_that_cannot_line_up_are_a_shape_error():
    # (2, 3) against (3, 2): 3 is not a multiple of 2, so no split lines the pieces up.
    with pytest.raises(ShapeError, match="line up"):
        contract_terms([(composite(normal(2, 3))[0], "y"), (composite(normal(3, 2))[0], "y")], "")


def test_dense_term_squeezes_size_one_axes():
    array = normal(2, 1, 3)
    term = Term.dense(array)
    assert term.axes[1] == () and len(term.sizes) == 2
    assert term.factors[0][0].shape == (2, 3)
    np.testing.assert_array_equal(densely(term), array)


def test_axis_classes_gives_fresh_classes_and_none_for_size_one():
    axes, sizes = axis_classes((2, 1, 3))
    other, _ = axis_classes((2, 1, 3))
    assert axes[1] == () and [sizes[axis[0]] for axis in (axes[0], axes[2])] == [2, 3]
    assert {c for axis in axes for c in axis}.isdisjoint(c for axis in other for c in axis)


def test_renamed_is_the_same_tensor_over_new_classes():
    for term, expected in [dense(normal(2, 3)), diagonal(normal(3)), flattening(2, 3)]:
        copy = renamed(term)
        assert copy.classes().isdisjoint(term.classes())
        assert copy.structure_key() == term.structure_key()
        np.testing.assert_array_equal(densely(copy), expected)


def test_structure_key_tells_delta_patterns_apart():
    assert identity(3)[0].structure_key() == diagonal(normal(3))[0].structure_key()
    assert identity(3)[0].structure_key() != identity(4)[0].structure_key()
    assert identity(3)[0].structure_key() != dense(normal(3, 3))[0].structure_key()
    assert flattening(2, 3)[0].structure_key() != dense(normal(6, 2, 3))[0].structure_key()
    assert flattening(2, 3)[0].structure_key() != flattening(3, 2)[0].structure_key()


def test_core_and_collapsed_agree_with_the_factors():
    A, v = normal(2, 3), normal(3)
    a, b = fresh_class(), fresh_class()
    term = Term(((A, (a, b)), (v, (b,))), ((a,), (a,)), {a: 2})  # δ[i,j] Σ_b A[i,b] v[b]
    np.testing.assert_allclose(term.core([a]), A @ v)
    collapsed = term.collapsed()
    assert len(collapsed.factors) == 1 and collapsed.axes == term.axes
    np.testing.assert_allclose(densely(collapsed), np.diag(A @ v))
    np.testing.assert_allclose(densely(term), np.diag(A @ v))


# ---- random contractions ---------------------------------------------------------------
LAYOUTS = {1: [()], 2: [(2,)], 3: [(3,)], 4: [(4,), (2, 2)], 6: [(6,), (2, 3)]}


@st.composite
def term_for(draw, labels, sizes):
    """A random term over ``labels``: composite axes, deltas between axes of equal layout,
    classes on no factor, a summed class, zero to two factors."""
    axes, class_sizes = [], {}
    for label in labels:
        layout = draw(st.sampled_from(LAYOUTS[sizes[label]]))
        twins = [axis for axis in axes if [class_sizes[c] for c in axis] == list(layout)]
        if twins and layout and draw(st.booleans()):
            axes.append(draw(st.sampled_from(twins)))  # a delta with an earlier axis
            continue
        axis = tuple(fresh_class() for _ in layout)
        class_sizes.update(zip(axis, layout, strict=True))
        axes.append(axis)
    classes = list(class_sizes)
    in_factors = [c for c in classes if draw(st.booleans())]
    factor_sizes = {c: class_sizes[c] for c in in_factors}
    if draw(st.booleans()):  # a class summed inside the term
        extra = fresh_class()
        factor_sizes[extra] = draw(st.integers(2, 3))
        in_factors.append(extra)
        summed = {extra: factor_sizes[extra]}  # listed in sizes, as index_term does
    else:
        summed = {}
    n_factors = draw(st.integers(0 if not in_factors else 1, 2))
    members = [[] for _ in range(n_factors)]
    for c in in_factors:
        for n in draw(st.sets(st.integers(0, n_factors - 1), min_size=1)):
            members[n].append(c)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    factors = tuple((rng.normal(size=[factor_sizes[c] for c in cl]), tuple(cl)) for cl in members)
    return Term(factors, tuple(axes), {**class_sizes, **summed})


@st.composite
def contractions(draw):
    pool = "ijkl"
    sizes = {label: draw(st.sampled_from([1, 2, 3, 4, 6])) for label in pool}
    operands = []
    for _ in range(draw(st.integers(1, 3))):
        labels = "".join(draw(st.permutations(pool))[: draw(st.integers(0, 3))])
        operands.append((draw(term_for(labels, sizes)), labels))
    present = sorted({label for _, labels in operands for label in labels})
    out = "".join(draw(st.permutations(present))[: draw(st.integers(0, len(present)))])
    return operands, out


@settings(max_examples=150, deadline=None)
@given(contractions())
def test_random_contractions_equal_einsum(contraction):
    operands, out = contraction
    pairs = [(term, reference(term)) for term, _ in operands]
    check_contraction(pairs, [labels for _, labels in operands], out)


def test_a_term_loaded_in_a_fresh_process_gets_blocks_with_classes_of_their_own():
    """Class ids restart in every process: a term unpickled there moves the counter past its
    own ids, so a block's new classes never collide with them (it did on Dask workers)."""
    import pickle
    import subprocess
    import sys

    import tensordiff as td

    J = td.jacobian(lambda w: np.tanh(w @ np.arange(1.0, 4.0)))(np.ones((2, 3)))
    code = (
        "import pickle, sys, numpy as np\n"
        "J = pickle.loads(sys.stdin.buffer.read())\n"
        "sys.stdout.buffer.write(pickle.dumps(np.asarray(J[0:2, 1:2, ::2])))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=pickle.dumps(J),
        capture_output=True,
        check=True,
        timeout=120,
    )
    np.testing.assert_array_equal(pickle.loads(done.stdout), np.asarray(J)[0:2, 1:2, ::2])
