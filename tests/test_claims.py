"""Tests for regcourse.claims: the experiments of the chapter "Claims checked".

Every experiment runs here with tiny settings (two seeds, a few dozen images, a
handful of hidden units, one or two epochs): the tests check shapes, that a seed
makes a run repeatable, the exact identities the chapter relies on, and that bad
arguments are refused. The chapter's own settings are exercised by running it.
"""

import numpy as np
import pytest

import regcourse.claims as claims
import regcourse.numpy as rnp

SEEDS = [0, 1]
TINY = dict(n_train=40, hidden=8, epochs=2)


def assert_per_seed(result, keys, shape=(len(SEEDS),)):
    assert set(result) == set(keys)
    for key in keys:
        assert isinstance(result[key], np.ndarray), key
        assert result[key].shape == shape, key


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


# --- dropout -----------------------------------------------------------------


def test_inverted_vs_vanilla_dropout_shapes_and_identity():
    result = claims.inverted_vs_vanilla_dropout(SEEDS, p=0.3, **TINY)
    assert_per_seed(result, ["inverted", "vanilla", "rescaled_logit_diff"])
    assert ((0 <= result["inverted"]) & (result["inverted"] <= 1)).all()
    # rescaled init and learning rate: the same network, whatever p
    assert (result["rescaled_logit_diff"] < 1e-10).all()


def test_inverted_vs_vanilla_dropout_is_repeatable():
    assert_same(
        claims.inverted_vs_vanilla_dropout([3], **TINY),
        claims.inverted_vs_vanilla_dropout([3], **TINY),
    )


def test_dropout_test_time_scaling_ratios():
    p = 0.4
    result = claims.dropout_test_time_scaling(SEEDS, p=p, n_masks=50, **TINY)
    keys = [
        f"{mode}_{rule}_{stat}"
        for mode in ("inverted", "vanilla")
        for rule in ("nothing", "scaled")
        for stat in ("ratio", "loss", "acc", "conf")
    ]
    assert_per_seed(result, keys)
    # the right rule keeps the mean; the other is off by the factor 1 - p
    np.testing.assert_allclose(result["inverted_nothing_ratio"], 1, atol=0.05)
    np.testing.assert_allclose(result["vanilla_scaled_ratio"], 1, atol=0.05)
    np.testing.assert_allclose(result["inverted_scaled_ratio"], 1 - p, atol=0.05)
    np.testing.assert_allclose(result["vanilla_nothing_ratio"], 1 / (1 - p), atol=0.1)


def test_dropout_on_digits_pairs_and_p_zero():
    result = claims.dropout_on_digits(SEEDS, p=0.5, label_noise=0.2, **TINY)
    assert_per_seed(result, ["without", "with"])
    same = claims.dropout_on_digits(SEEDS, p=0.0, **TINY)
    np.testing.assert_array_equal(same["without"], same["with"])  # p = 0 is no dropout


@pytest.mark.parametrize(
    "function",
    [
        claims.inverted_vs_vanilla_dropout,
        claims.dropout_test_time_scaling,
        claims.dropout_on_digits,
    ],
)
@pytest.mark.parametrize("p", [1.0, -0.1, "0.5"])
def test_dropout_experiments_refuse_bad_p(function, p):
    with pytest.raises(ValueError):
        function(SEEDS, p=p, **TINY)


# --- L2 and weight decay ---------------------------------------------------------


def test_l2_vs_weight_decay_sgd_is_exact():
    result = claims.l2_vs_weight_decay_sgd(SEEDS, lam=0.05, **TINY)
    assert_per_seed(result, ["max_abs_diff", "weight_norm"])
    assert (result["max_abs_diff"] < 1e-12).all()
    assert (result["weight_norm"] > 0).all()


def test_adam_l2_vs_adamw_shapes():
    lams = [0.0, 0.1, 1.0]
    result = claims.adam_l2_vs_adamw(SEEDS, lams=lams, **TINY)
    keys = [
        "adam_val",
        "adam_test",
        "adamw_val",
        "adamw_test",
        "adam_norm",
        "adamw_norm",
        "relative_diff",
    ]
    assert_per_seed(result, keys, shape=(len(lams), len(SEEDS)))
    # without decay Adam and AdamW are the same optimizer
    np.testing.assert_allclose(result["relative_diff"][0], 0, atol=1e-12)
    assert (result["relative_diff"][2] > 0.01).all()


def test_best_by_validation_picks_on_validation():
    val = np.array([[0.5, 0.6], [0.9, 0.8], [0.7, 0.7]])
    test = np.array([[1.0, 1.0], [0.2, 0.3], [0.0, 0.0]])
    index, row = claims.best_by_validation(val, test)
    assert index == 1
    np.testing.assert_array_equal(row, [0.2, 0.3])
    with pytest.raises(ValueError):
        claims.best_by_validation(val, test[:2])
    with pytest.raises(ValueError):
        claims.best_by_validation([0.5, 0.6], [0.1, 0.2])


def test_l2_penalty_value_is_half_the_squared_norm():
    lam = 0.02
    result = claims.l2_penalty_value(SEEDS, lam=lam, hidden=5)
    assert_per_seed(
        result, ["penalty", "half_squared", "norm", "grad_error", "grad_size", "norm_grad_size"]
    )
    np.testing.assert_allclose(result["penalty"], result["half_squared"], rtol=1e-12)
    np.testing.assert_allclose(result["norm_grad_size"], lam)
    assert (result["grad_error"] == 0).all()
    with pytest.raises(ValueError):
        claims.l2_penalty_value(SEEDS, lam=-1.0)


def test_penalty_parameter_count():
    result = claims.penalty_parameter_count(SEEDS, lam_l1=0.05, **TINY)
    keys = [
        f"{name}_{stat}" for name in ("plain", "l2", "l1") for stat in ("params", "zero", "acc")
    ]
    assert_per_seed(result, keys)
    expected = 64 * 8 + 8 + 8 * 10 + 10
    for name in ("plain", "l2", "l1"):
        assert (result[f"{name}_params"] == expected).all()
    assert (result["l2_zero"] == 0).all()
    assert (result["l1_zero"] > 0).all()  # the proximal step makes exact zeros
    with pytest.raises(ValueError):
        claims.penalty_parameter_count(SEEDS, lam_l1=-0.1, **TINY)


# --- penalty strength and overfitting ---------------------------------------------


def test_penalty_sweep_shapes_and_repeatability():
    lams = [0.0, 0.1]
    for penalty in ("l2", "elastic net"):
        result = claims.penalty_sweep(SEEDS, lams, penalty=penalty, **TINY)
        assert_per_seed(result, ["train_acc", "val_acc", "test_acc"], shape=(len(lams), len(SEEDS)))
    assert_same(claims.penalty_sweep([2], lams, **TINY), claims.penalty_sweep([2], lams, **TINY))


@pytest.mark.parametrize("kwargs", [dict(penalty="l3"), dict(l1_ratio=1.5)])
def test_penalty_sweep_refuses_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        claims.penalty_sweep(SEEDS, [0.0], **kwargs, **TINY)


def test_penalty_sweep_refuses_bad_lams():
    with pytest.raises(ValueError):
        claims.penalty_sweep(SEEDS, [], **TINY)
    with pytest.raises(ValueError):
        claims.penalty_sweep(SEEDS, [-0.1], **TINY)


def test_overfitting_reduction():
    train = np.array([[1.0, 0.9], [0.9, 0.8], [0.5, 0.5]])
    test = np.array([[0.8, 0.7], [0.8, 0.7], [0.5, 0.5]])
    reduction = claims.overfitting_reduction(train, test)
    np.testing.assert_allclose(reduction, [[0, 0], [0.5, 0.5], [1, 1]])
    with pytest.raises(ValueError):
        claims.overfitting_reduction(train, test[:2])
    with pytest.raises(ValueError):
        claims.overfitting_reduction(train, test, baseline=3)
    with pytest.raises(ValueError):
        claims.overfitting_reduction(train, test, baseline=2)  # no gap to reduce


# --- batch norm -------------------------------------------------------------------


def test_random_shift_layer():
    layer = claims.RandomShift(3, scale=0.5, shift=1.0)
    x = np.random.default_rng(0).standard_normal((4, 3))
    rnp.manual_seed(0)
    y = layer(x)
    assert y.shape == x.shape and not np.allclose(y, x)
    assert ((0.5 <= layer._s) & (layer._s <= 1.5)).all()
    np.testing.assert_allclose(layer.backward(np.ones_like(x)), np.broadcast_to(layer._s, x.shape))
    np.testing.assert_array_equal(layer.eval()(x), x)  # the identity in evaluation
    with pytest.raises(ValueError):
        claims.RandomShift(3, scale=1.0)
    with pytest.raises(ValueError):
        claims.RandomShift(0)


def test_covariate_shift_with_noise_after_bn_shapes():
    result = claims.covariate_shift_with_noise_after_bn(
        SEEDS, depth=2, width=8, n_train=40, epochs=2, target=0.0
    )
    keys = [f"{variant} {stat}" for variant in claims.VARIANTS for stat in ("acc", "epochs")]
    assert_per_seed(result, keys)
    for variant in claims.VARIANTS:
        assert (result[f"{variant} epochs"] == 1).all()  # a target of 0 is met at once
    with pytest.raises(ValueError):
        claims.covariate_shift_with_noise_after_bn(SEEDS, depth=0)


# --- memorization -----------------------------------------------------------------


def test_memorize_random_labels_shapes_and_repeatability():
    for optimizer in ("adam", "sgd"):
        result = claims.memorize_random_labels(
            SEEDS, optimizer=optimizer, p=0.2, weight_decay=1e-3, **TINY
        )
        assert_per_seed(result, ["train_acc", "test_acc", "epochs_to_fit"])
    assert_same(
        claims.memorize_random_labels([1], **TINY), claims.memorize_random_labels([1], **TINY)
    )


@pytest.mark.parametrize(
    "kwargs", [dict(optimizer="rmsprop"), dict(weight_decay=-1.0), dict(lr=-0.1), dict(n_train=0)]
)
def test_memorize_random_labels_refuses_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        claims.memorize_random_labels(SEEDS, **{**TINY, **kwargs})


@pytest.mark.parametrize("seeds", [[], [0.5], ["a"]])
def test_seeds_are_checked(seeds):
    with pytest.raises(ValueError):
        claims.dropout_on_digits(seeds, **TINY)
