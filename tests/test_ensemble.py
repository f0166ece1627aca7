"""Tests for regcourse.ensemble: the bootstrap, training members, averaging and scores."""

import math

import numpy as np
import pytest
import torch

import regcourse.numpy as rnp
import regcourse.torch as rt
from regcourse import ensemble as ens
from regcourse.experiments import expected_calibration_error


def random_probs(rng, shape):
    z = rng.standard_normal(shape)
    return np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)


# --- the bootstrap ----------------------------------------------------------------------------


def test_bootstrap_is_reproducible_under_a_seed():
    a = ens.bootstrap_indices(500, 3)
    np.testing.assert_array_equal(a, ens.bootstrap_indices(500, 3))
    np.testing.assert_array_equal(a, ens.bootstrap_indices(500, np.random.default_rng(3)))
    assert not np.array_equal(a, ens.bootstrap_indices(500, 4))
    assert a.shape == (500,) and a.min() >= 0 and a.max() < 500


def test_bootstrap_samples_with_replacement_and_leaves_out_about_one_in_e():
    # The out-of-bag count N0 = sum_j [j never drawn] has mean n q, q = (1 - 1/n)^n, and
    # variance n q (1 - q) + n (n - 1) ((1 - 2/n)^n - q^2) ~ n e^-1 (1 - 2 e^-1) for large n:
    # std of the fraction ~ 0.31 / sqrt(n) = 0.001 here. We allow 6 std, for each of 5 seeds.
    n = 100_000
    q = (1 - 1 / n) ** n
    var = n * q * (1 - q) + n * (n - 1) * ((1 - 2 / n) ** n - q**2)
    sd_fraction = math.sqrt(var) / n
    assert 0.0008 < sd_fraction < 0.0012
    for seed in range(5):
        indices = ens.bootstrap_indices(n, seed)
        assert len(np.unique(indices)) < n  # with replacement: repeats
        fraction = ens.out_of_bag(indices, n).mean()
        assert abs(fraction - q) < 6 * sd_fraction
    assert abs(q - 1 / math.e) < 1e-5


def test_out_of_bag_marks_the_examples_never_drawn():
    mask = ens.out_of_bag(np.array([0, 0, 2, 4]), 6)
    np.testing.assert_array_equal(mask, [False, True, False, True, False, True])


@pytest.mark.parametrize(
    "call, word",
    [
        (lambda: ens.bootstrap_indices(0, 0), "n "),
        (lambda: ens.bootstrap_indices(2.5, 0), "n "),
        (lambda: ens.bootstrap_indices(10, -1), "rng"),
        (lambda: ens.bootstrap_indices(10, "seed"), "rng"),
        (lambda: ens.out_of_bag(np.array([0, 7]), 5), r"\[0, 4\]"),
        (lambda: ens.out_of_bag(np.array([0.5]), 5), "integers"),
    ],
)
def test_bootstrap_rejects_bad_input(call, word):
    with pytest.raises(ValueError, match=word):
        call()


# --- training the members ---------------------------------------------------------------------


def test_member_seeds():
    assert ens.member_seeds(3, 4) == [3, 1003, 2003, 3003]
    assert ens.member_seeds(0, 1) == [0]
    with pytest.raises(ValueError, match="k "):
        ens.member_seeds(0, 0)
    with pytest.raises(ValueError, match="seed"):
        ens.member_seeds(-1, 3)


def test_train_members_passes_seeds_and_reproducible_resamples():
    calls = []
    members = ens.train_members(lambda seed, idx: calls.append((seed, idx)) or seed, [5, 9])
    assert members == [5, 9] and calls == [(5, None), (9, None)]
    bagged = ens.train_members(lambda seed, idx: idx, [5, 9], bootstrap_size=50)
    again = ens.train_members(lambda seed, idx: idx, [5, 9], bootstrap_size=50)
    assert all(np.array_equal(a, b) for a, b in zip(bagged, again))
    assert not np.array_equal(bagged[0], bagged[1])
    # the resample is not drawn from default_rng(seed), which fit uses for the batch order
    assert not np.array_equal(bagged[0], ens.bootstrap_indices(50, 5))


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"train_fn": lambda s, i: s, "seeds": []}, "k >= 1"),
        ({"train_fn": "not a function", "seeds": [0]}, "train_fn"),
        ({"train_fn": lambda s, i: s, "seeds": [0], "bootstrap_size": 0}, "bootstrap_size"),
    ],
)
def test_train_members_rejects_bad_input(kwargs, word):
    with pytest.raises(ValueError, match=word):
        ens.train_members(**kwargs)


# --- averaging --------------------------------------------------------------------------------


def test_average_of_known_probabilities():
    a = np.array([[1.0, 0.0], [0.5, 0.5]])
    b = np.array([[0.0, 1.0], [0.1, 0.9]])
    c = np.array([[0.5, 0.5], [0.3, 0.7]])
    expected = np.array([[0.5, 0.5], [0.3, 0.7]])
    np.testing.assert_allclose(ens.average_probabilities([a, b, c]), expected)
    np.testing.assert_allclose(ens.average_probabilities(np.stack([a, b, c])), expected)
    np.testing.assert_allclose(ens.average_probabilities(a), a)  # one member
    prefixes = ens.prefix_averages([a, b, c])
    np.testing.assert_allclose(prefixes[0], a)
    np.testing.assert_allclose(prefixes[1], [[0.5, 0.5], [0.3, 0.7]])
    np.testing.assert_allclose(prefixes[2], expected)


def test_prefix_averages_match_direct_averages():
    probs = random_probs(np.random.default_rng(0), (6, 20, 4))
    prefixes = ens.prefix_averages(probs)
    for j in range(1, 7):
        np.testing.assert_allclose(prefixes[j - 1], probs[:j].mean(axis=0), atol=1e-15)
    np.testing.assert_allclose(prefixes.sum(axis=-1), 1.0)


def test_an_ensemble_of_identical_members_is_one_member_on_both_sides():
    x = np.random.default_rng(1).standard_normal((7, 5))
    rnp.manual_seed(0)
    np_net = rnp.mlp([5, 8, 3])
    np_single = ens.predict_proba(np_net, x)
    np.testing.assert_allclose(ens.Ensemble([np_net] * 4).predict_proba(x), np_single, atol=1e-15)
    torch.manual_seed(0)
    t_net = rt.mlp([5, 8, 3])
    t_single = ens.predict_proba(t_net, x)
    assert t_single.dtype == np.float64 and t_single.shape == (7, 3)
    np.testing.assert_allclose(ens.Ensemble([t_net] * 3).predict_proba(x), t_single, atol=1e-15)
    module = ens.torch_module([t_net, t_net])
    np.testing.assert_allclose(ens.predict_proba(module, x), t_single, atol=1e-6)


def test_torch_module_outputs_log_of_the_mean_probability():
    torch.manual_seed(0)
    members = [rt.mlp([4, 6, 3]) for _ in range(3)]
    x = torch.randn(5, 4)
    module = ens.torch_module(members).eval()
    expected = torch.stack([torch.softmax(m(x), dim=1) for m in members]).mean(0)
    torch.testing.assert_close(torch.exp(module(x)), expected)
    probs = ens.Ensemble(members).predict_proba(x)
    np.testing.assert_allclose(probs, expected.detach().double().numpy(), atol=1e-6)
    y = torch.tensor([0, 1, 2, 0, 1])
    loss, acc = rt.evaluate(module, rt.CrossEntropyLoss(), x, y)
    assert loss == pytest.approx(-np.log(probs[np.arange(5), y.numpy()]).mean(), rel=1e-5)
    assert acc == np.mean(probs.argmax(1) == y.numpy())
    with pytest.raises(ValueError, match="member 1"):
        ens.torch_module([members[0], "not a module"])
    with pytest.raises(ValueError, match="k >= 1"):
        ens.torch_module([])


def test_torch_module_on_the_meta_device():
    torch.manual_seed(0)
    module = ens.torch_module([rt.mlp([4, 6, 3]).to("meta") for _ in range(2)])
    out = module(torch.empty(5, 4, device="meta"))
    assert out.device.type == "meta" and out.shape == (5, 3)


@pytest.mark.parametrize(
    "probs, word",
    [
        ([], "k >= 1"),
        ([np.full((2, 2), 0.5), np.full((3, 2), 0.5)], "same"),
        ([np.full((2, 2), 0.5), np.full((2, 3), 1 / 3)], "same"),
        ([np.array([[0.5, 0.4], [0.5, 0.5]])], "sum to 1"),
        ([np.array([[2.0, -1.0]])], ">= 0"),
        ([np.array([[np.nan, 1.0]])], "finite"),
        ([np.zeros((0, 3))], "N >= 1"),
        ([np.full(3, 1 / 3)], r"\(N, C\)"),
    ],
)
def test_averaging_rejects_bad_probabilities(probs, word):
    with pytest.raises(ValueError, match=word):
        ens.average_probabilities(probs)


def test_unknown_models_need_a_predict_proba():
    with pytest.raises(ValueError, match="predict_proba"):
        ens.predict_proba(object(), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="k >= 1"):
        ens.Ensemble([])
    const = ens.Ensemble(["a", "b"], predict_proba=lambda m, X: np.full((len(X), 2), 0.5))
    np.testing.assert_allclose(const.predict_proba(np.zeros((3, 1))), 0.5)


# --- scores -----------------------------------------------------------------------------------


def test_probability_metrics_on_a_known_example():
    probs = np.array([[0.8, 0.2], [0.4, 0.6], [0.9, 0.1], [0.3, 0.7]])
    y = np.array([0, 0, 0, 1])
    m = ens.probability_metrics(probs, y, n_bins=10)
    assert m["acc"] == 0.75
    assert m["nll"] == pytest.approx(-np.mean(np.log([0.8, 0.4, 0.9, 0.7])))
    assert m["brier"] == pytest.approx(np.mean([0.08, 0.72, 0.02, 0.18]))
    assert m["ece"] == pytest.approx(expected_calibration_error(probs, y, n_bins=10))


def test_ensemble_scores_obey_jensen_and_the_ambiguity_decomposition():
    rng = np.random.default_rng(2)
    probs, y = random_probs(rng, (5, 200, 4)), rng.integers(0, 4, size=200)
    mean = ens.average_probabilities(probs)
    ensemble = ens.probability_metrics(mean, y)
    members = [ens.probability_metrics(p, y) for p in probs]
    assert ensemble["nll"] <= np.mean([m["nll"] for m in members])
    diversity = np.mean(np.sum((probs - mean) ** 2, axis=-1))
    brier_members = np.mean([m["brier"] for m in members])
    assert ensemble["brier"] == pytest.approx(brier_members - diversity, abs=1e-12)


def test_probability_metrics_survives_a_zero_probability_and_rejects_bad_labels():
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert np.isfinite(ens.probability_metrics(probs, np.array([1, 1]))["nll"])
    with pytest.raises(ValueError, match="integer labels"):
        ens.probability_metrics(probs, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="integer labels"):
        ens.probability_metrics(probs, np.array([0]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ens.probability_metrics(probs, np.array([0, 2]))
    with pytest.raises(ValueError, match="average_probabilities"):
        ens.probability_metrics(np.stack([probs, probs]), np.array([0, 1]))
