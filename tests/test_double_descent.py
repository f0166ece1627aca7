"""Random features and minimum-norm least squares (regcourse.double_descent)."""

import numpy as np
import pytest

from regcourse.double_descent import (
    RandomFeatures,
    min_norm_least_squares,
    random_feature_regression,
    width_sweep,
)
from regcourse.experiments import SweepResult


def wide_problem(n=20, p=50, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, p)), rng.standard_normal(n)


def test_min_norm_equals_pinv_and_lstsq():
    X, y = wide_problem()
    coef, intercept = min_norm_least_squares(X, y)
    Xc, yc = X - X.mean(0), y - y.mean()
    assert np.allclose(coef, np.linalg.pinv(Xc) @ yc, atol=1e-10)
    assert np.allclose(coef, np.linalg.lstsq(Xc, yc, rcond=None)[0], atol=1e-10)
    assert np.isclose(intercept, y.mean() - X.mean(0) @ coef)


def test_min_norm_interpolates_and_has_the_smallest_norm():
    X, y = wide_problem()
    coef, intercept = min_norm_least_squares(X, y)
    assert np.allclose(X @ coef + intercept, y, atol=1e-10)  # p > n: it interpolates
    Xc = X - X.mean(0)
    null_direction = np.linalg.svd(Xc)[2][-1]  # a direction with Xc @ v = 0
    other = coef + 3.0 * null_direction  # another interpolant
    other_intercept = y.mean() - X.mean(0) @ other
    assert np.allclose(X @ other + other_intercept, y, atol=1e-10)
    assert np.linalg.norm(other) > np.linalg.norm(coef) + 1.0


def test_underparameterized_is_ordinary_least_squares():
    X, y = wide_problem(n=50, p=5)
    coef, intercept = min_norm_least_squares(X, y)
    design = np.column_stack([np.ones(50), X])
    reference = np.linalg.lstsq(design, y, rcond=None)[0]
    assert np.allclose([intercept, *coef], reference, atol=1e-10)


@pytest.mark.parametrize("kind", ["relu", "fourier"])
def test_feature_map_is_reproducible_under_a_seed(kind):
    X = np.random.default_rng(1).standard_normal((7, 3))
    a = RandomFeatures(3, 11, kind, seed=5)(X)
    assert a.shape == (7, 11)
    assert np.array_equal(a, RandomFeatures(3, 11, kind, seed=5)(X))
    assert not np.allclose(a, RandomFeatures(3, 11, kind, seed=6)(X))


def test_feature_formulas():
    X = np.random.default_rng(2).standard_normal((4, 2))
    relu = RandomFeatures(2, 6, "relu", seed=0)
    assert np.allclose(relu(X), np.maximum(X @ relu.weight.T + relu.bias, 0))
    fourier = RandomFeatures(2, 6, "fourier", seed=0)
    assert np.allclose(fourier(X), np.sqrt(2) * np.cos(X @ fourier.weight.T + fourier.bias))


def test_one_dimensional_inputs_are_one_feature():
    x = np.linspace(-1, 1, 5)
    features = RandomFeatures(1, 4, seed=0)
    assert np.array_equal(features(x), features(x[:, None]))


def data(seed):
    rng = np.random.default_rng(seed)
    beta = rng.standard_normal(3)

    def draw(n):
        X = rng.standard_normal((n, 3))
        return X, X @ beta + 0.1 * rng.standard_normal(n)

    return draw(30), draw(100)


def test_regression_interpolates_past_the_threshold():
    wide = random_feature_regression(*data(0), width=200, seed=0)
    narrow = random_feature_regression(*data(0), width=5, seed=0)
    assert wide["train_mse"] < 1e-20 < narrow["train_mse"]
    ridge = random_feature_regression(*data(0), width=200, seed=0, alpha=10.0)
    assert ridge["coef_norm"] < wide["coef_norm"] and ridge["train_mse"] > 1e-6


def test_width_sweep_returns_a_sweep_result():
    result = width_sweep(data, [5, 200], seeds=range(3))
    assert isinstance(result, SweepResult)
    assert result.values == [5, 200] and result.seeds == [0, 1, 2]
    assert set(result.metrics) == {"train_mse", "test_mse", "coef_norm"}
    one = random_feature_regression(*data(1), width=200, seed=1)
    assert result.get("test_mse", 200)[1] == one["test_mse"]
    fixed = width_sweep(data(0), [5], seeds=[0, 1])  # one data set for every seed
    assert fixed.get("train_mse", 5)[0] != fixed.get("train_mse", 5)[1]  # other features


@pytest.mark.parametrize("width", [0, -3, 2.5, True])
def test_bad_width_raises(width):
    with pytest.raises(ValueError, match="width"):
        RandomFeatures(3, width)
    with pytest.raises(ValueError, match="width"):
        width_sweep(data, [5, width], seeds=[0])


def test_bad_inputs_raise_clear_errors():
    (X, y), test = data(0)
    with pytest.raises(ValueError, match="X has 30 samples but y has 29"):
        random_feature_regression((X, y[:-1]), test, width=5)
    with pytest.raises(ValueError, match="empty"):
        random_feature_regression((X[:0], y[:0]), test, width=5)
    with pytest.raises(ValueError, match="must match"):
        random_feature_regression((X, y), (test[0][:, :2], test[1]), width=5)
    with pytest.raises(ValueError, match="in_features=3"):
        RandomFeatures(3, 5)(X[:, :2])
    with pytest.raises(ValueError, match="kind must be one of"):
        RandomFeatures(3, 5, kind="tanh")
    with pytest.raises(ValueError, match="kind must be one of"):
        width_sweep(data, [5], seeds=[0], kind="tanh")
    with pytest.raises(ValueError, match="seed"):
        RandomFeatures(3, 5, seed=-1)
    with pytest.raises(ValueError, match="alpha"):
        width_sweep(data, [5], seeds=[0], alpha=-1.0)
    with pytest.raises(ValueError, match="pair"):
        random_feature_regression(X, test, width=5)
    with pytest.raises(ValueError, match="X has 30 samples but y has 29"):
        min_norm_least_squares(X, y[:-1])
