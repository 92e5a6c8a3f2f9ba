"""The rule registry: registration, lookup, refusals and the names it reports."""

import operator

import numpy as np
import pytest

import tensordiff as td
from tensordiff.trace import registry


@pytest.fixture
def rules(monkeypatch):
    """The registry's table, swapped for a copy the test may change freely."""
    table = dict(registry._RULES)
    monkeypatch.setattr(registry, "_RULES", table)
    return table


def dummy_function(x):
    """A stand-in for a NumPy function nobody registered."""
    return x


def test_a_registered_rule_is_found(rules):
    def rule(x):
        return "ruled"

    assert registry.implements(dummy_function)(rule) is rule  # a decorator: rule unchanged
    assert registry.rule_for(dummy_function) is rule


def test_a_second_rule_for_one_function_is_refused(rules):
    def first(x):
        return 1

    def second(x):
        return 2

    registry.implements(dummy_function)(first)
    with pytest.raises(KeyError, match="already has a rule"):
        registry.implements(dummy_function)(second)
    assert registry.rule_for(dummy_function) is first


def test_a_second_rule_for_a_numpy_function_is_refused(rules):
    existing = registry.rule_for(np.tanh)
    size = len(rules)
    with pytest.raises(KeyError, match=r"numpy\.tanh"):
        registry.implements(np.tanh)(lambda x: x)
    assert registry.rule_for(np.tanh) is existing and len(rules) == size


def test_a_refused_registration_registers_nothing(rules):
    # One function of the group already has a rule: the whole registration fails,
    # and the other function must not be left with a rule nobody accepted.
    with pytest.raises(KeyError):
        registry.implements(dummy_function, np.tanh)(lambda x: x)
    assert dummy_function not in rules


def test_the_fixture_leaves_the_real_table_alone():
    assert dummy_function not in registry._RULES


@pytest.mark.parametrize(
    "function, name",
    [
        (np.busday_count, "numpy.busday_count"),
        (np.linalg.matrix_rank, "numpy.linalg.matrix_rank"),
        (np.subtract.accumulate, "numpy.subtract.accumulate"),
        (np.fft.fft, "numpy.fft.fft"),
    ],
)
def test_an_unknown_function_is_refused_by_name(function, name):
    with pytest.raises(td.UnsupportedOperationError, match=name.replace(".", r"\.")) as error:
        registry.rule_for(function)
    assert isinstance(error.value, TypeError) and isinstance(error.value, td.TensorDiffError)
    assert "supported_operations" in str(error.value)


@pytest.mark.parametrize(
    "function, name",
    [
        (np.linalg.norm, "linalg.norm"),
        (np.add.reduce, "add.reduce"),
        (np.multiply.outer, "multiply.outer"),
        (np.tanh, "tanh"),
        (np.einsum, "einsum"),
        (np.fft.fft, "fft.fft"),
        (registry.cast, "ndarray.astype"),
        (operator.getitem, "ndarray.__getitem__"),
    ],
)
def test_qualified_names(function, name):
    assert registry.qualified_name(function) == name


def test_supported_operations_lists_the_rules_sorted():
    names = td.supported_operations()
    assert names == sorted(names)
    assert len(names) == len(set(names))
    assert {"numpy.tanh", "numpy.linalg.inv", "numpy.add.reduce", "numpy.einsum"} <= set(names)
    assert all(name.startswith(("numpy.", "scipy.special.", "scipy.linalg.")) for name in names)


def test_supported_operations_leaves_out_the_method_stand_ins():
    assert callable(registry.rule_for(registry.cast))
    assert callable(registry.rule_for(operator.getitem))
    names = registry.supported_operations()
    assert "numpy.ndarray.astype" not in names and "numpy.ndarray.__getitem__" not in names


def test_supported_operations_follows_the_table(rules):
    name = f"numpy.{registry.qualified_name(dummy_function)}"
    registry.implements(dummy_function)(lambda *args: None)
    assert name in registry.supported_operations()
    del rules[dummy_function]
    assert name not in registry.supported_operations()


@pytest.fixture
def reasons(monkeypatch):
    """The registry's refusal reasons, swapped for a copy the test may change freely."""
    table = dict(registry._REASONS)
    monkeypatch.setattr(registry, "_REASONS", table)
    return table


def test_a_deliberate_refusal_gives_its_reason(rules, reasons):
    registry.refuses("it is only a stand-in", dummy_function)
    assert registry.refusal_reason(dummy_function) == "it is only a stand-in"
    with pytest.raises(td.UnsupportedOperationError, match=": it is only a stand-in"):
        registry.rule_for(dummy_function)


def test_a_function_has_a_rule_or_a_reason_never_both(rules, reasons):
    with pytest.raises(KeyError, match="already has a rule"):
        registry.refuses("no", np.tanh)
    registry.refuses("refused", dummy_function)
    with pytest.raises(KeyError, match="refused on purpose"):
        registry.implements(dummy_function)(lambda x: x)
    assert dummy_function not in rules
