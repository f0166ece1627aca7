"""Tests for regcourse.data: splits, scaling, subsets, label noise, synthetic curves."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from regcourse.data import (
    Splits,
    Standardizer,
    corrupt_labels,
    load_breast_cancer_splits,
    load_diabetes_data,
    load_digits_splits,
    load_mnist1d,
    make_curve,
    polynomial_features,
    shuffle_labels,
    split_dataset,
    split_indices,
    standardize,
    subsample,
    true_curve,
)


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return data.data, data.target


# --- splits -----------------------------------------------------------------


def test_split_indices_are_disjoint_and_cover_everything(digits):
    _, y = digits
    train_idx, val_idx, test_idx = split_indices(y, seed=0)
    all_idx = np.concatenate([train_idx, val_idx, test_idx])
    assert len(all_idx) == len(y)
    assert np.array_equal(np.sort(all_idx), np.arange(len(y)))


def test_split_sizes(digits):
    X, y = digits
    splits = split_dataset(X, y, val_fraction=0.2, test_fraction=0.1, seed=0)
    n = len(y)
    assert len(splits.val[0]) == round(0.2 * n)
    assert len(splits.test[0]) == round(0.1 * n)
    assert len(splits.train[0]) == n - round(0.2 * n) - round(0.1 * n)
    for X_part, y_part in splits:
        assert len(X_part) == len(y_part)


def test_splits_are_stratified(digits):
    _, y = digits
    full_counts = np.bincount(y)
    for idx in split_indices(y, seed=3):
        expected = full_counts * len(idx) / len(y)
        assert np.all(np.abs(np.bincount(y[idx], minlength=10) - expected) <= 1)


def test_splits_are_deterministic_and_depend_on_seed(digits):
    _, y = digits
    first = split_indices(y, seed=1)
    again = split_indices(y, seed=1)
    other = split_indices(y, seed=2)
    for a, b in zip(first, again):
        assert np.array_equal(a, b)
    assert not np.array_equal(first[1], other[1])


def test_split_dataset_rows_match_indices(digits):
    X, y = digits
    splits = split_dataset(X, y, seed=0)
    train_idx, val_idx, test_idx = split_indices(y, seed=0)
    assert np.array_equal(splits.val[0], X[val_idx])
    assert np.array_equal(splits.test[1], y[test_idx])
    X_train, y_train = splits.train  # unpacks as (X, y)
    assert np.array_equal(X_train, X[train_idx])


def test_unstratified_split_for_regression_targets():
    x, y = make_curve(50, seed=0)
    splits = split_dataset(x, y, stratify=False)
    assert sum(len(part[0]) for part in splits) == 50


def test_splits_repr_shows_sizes(digits):
    text = repr(split_dataset(*digits))
    assert "train=" in text and "val=" in text and "test=" in text


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"val_fraction": 0.0}, "val_fraction"),
        ({"val_fraction": 1.0}, "val_fraction"),
        ({"test_fraction": -0.1}, "test_fraction"),
        ({"test_fraction": 1.5}, "test_fraction"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "< 1"),
        ({"seed": -1}, "seed"),
    ],
)
def test_split_rejects_bad_arguments(digits, kwargs, word):
    X, y = digits
    with pytest.raises(ValueError, match=word):
        split_dataset(X, y, **kwargs)


def test_split_rejects_mismatched_and_empty_input():
    with pytest.raises(ValueError, match="same length"):
        split_dataset(np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(ValueError, match="empty"):
        split_dataset(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(ValueError, match="too few"):
        split_dataset(np.zeros((6, 2)), np.repeat([0, 1, 2], 2))


# --- standardization ----------------------------------------------------------


def test_standardize_uses_training_statistics_only(digits):
    splits = standardize(split_dataset(*digits, seed=0))
    X_train, X_val = splits.train[0], splits.val[0]
    varying = X_train.std(axis=0) > 0
    assert np.allclose(X_train.mean(axis=0), 0, atol=1e-12)
    assert np.allclose(X_train.std(axis=0)[varying], 1)
    # The validation set was not used to fit, so its mean is not exactly 0.
    assert np.abs(X_val.mean(axis=0)[varying]).max() > 1e-3
    assert not np.isnan(X_val).any()


def test_constant_features_give_no_nan():
    X = np.column_stack([np.zeros(5), np.arange(5.0)])
    scaled = Standardizer().fit_transform(X)
    assert not np.isnan(scaled).any()
    assert np.all(scaled[:, 0] == 0)


def test_standardizer_needs_fit_and_matching_shape():
    with pytest.raises(ValueError, match="fit"):
        Standardizer().transform(np.zeros((2, 2)))
    scaler = Standardizer().fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match="shape"):
        scaler.transform(np.ones((3, 5)))


# --- subsets -------------------------------------------------------------------


def test_subsample_is_stratified_seeded_and_sized(digits):
    X, y = digits
    X_small, y_small = subsample(X, y, 100, seed=0)
    assert X_small.shape == (100, 64) and len(y_small) == 100
    assert np.all(np.bincount(y_small) >= 9)  # ~10 per class
    X_again, _ = subsample(X, y, 100, seed=0)
    X_other, _ = subsample(X, y, 100, seed=1)
    assert np.array_equal(X_small, X_again)
    assert not np.array_equal(X_small, X_other)


def test_subsample_keeps_every_class_and_allows_everything(digits):
    X, y = digits
    _, y_ten = subsample(X, y, 10)
    assert np.array_equal(np.sort(y_ten), np.arange(10))
    X_all, _ = subsample(X, y, len(X))
    assert len(X_all) == len(X)
    X_any, _ = subsample(X, y, 3, stratify=False)
    assert len(X_any) == 3


@pytest.mark.parametrize(
    "n, word", [(0, "positive"), (-5, "positive"), (2000, "between"), (5, "classes")]
)
def test_subsample_rejects_bad_sizes(digits, n, word):
    X, y = digits
    with pytest.raises(ValueError, match=word):
        subsample(X, y, n)


# --- label experiments -----------------------------------------------------


def test_shuffle_labels_preserves_counts(digits):
    _, y = digits
    shuffled = shuffle_labels(y, seed=0)
    assert np.array_equal(np.bincount(shuffled), np.bincount(y))
    assert not np.array_equal(shuffled, y)


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.37, 1.0])
def test_corrupt_labels_changes_exact_number_to_other_classes(digits, fraction):
    _, y = digits
    noisy = corrupt_labels(y, fraction, seed=0)
    assert np.sum(noisy != y) == round(fraction * len(y))
    assert noisy.min() >= 0 and noisy.max() <= 9
    assert noisy is not y


def test_corrupt_labels_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        corrupt_labels(np.array([0, 1, 1]), 1.5)
    with pytest.raises(ValueError, match="integers"):
        corrupt_labels(np.array([0.0, 1.0]), 0.5)
    with pytest.raises(ValueError, match="n_classes"):
        corrupt_labels(np.array([0, 3]), 0.5, n_classes=2)


# --- datasets ----------------------------------------------------------------


def test_load_digits_splits_types_and_shapes():
    splits = load_digits_splits()
    assert isinstance(splits, Splits)
    X_train, y_train = splits.train
    assert X_train.dtype == np.float64 and y_train.dtype == np.int64
    assert X_train.shape[1] == 64
    assert sum(len(part[0]) for part in splits) == 1797


def test_small_training_set_keeps_validation_and_test_fixed():
    full = load_digits_splits(seed=0, standardize=False)
    small = load_digits_splits(n_train=100, seed=0, standardize=False)
    assert len(small.train[0]) == 100
    for name in ("val", "test"):
        assert np.array_equal(getattr(full, name)[0], getattr(small, name)[0])
        assert np.array_equal(getattr(full, name)[1], getattr(small, name)[1])


def test_standardization_fitted_on_the_reduced_training_set():
    small = load_digits_splits(n_train=100, seed=0)
    assert np.allclose(small.train[0].mean(axis=0), 0, atol=1e-12)


def test_label_noise_only_touches_training_labels():
    clean = load_digits_splits(seed=0, standardize=False)
    noisy = load_digits_splits(seed=0, standardize=False, label_noise=0.25)
    n_train = len(clean.train[1])
    assert np.sum(clean.train[1] != noisy.train[1]) == round(0.25 * n_train)
    assert np.array_equal(clean.val[1], noisy.val[1])
    assert np.array_equal(clean.train[0], noisy.train[0])


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"label_noise": 1.0}, "label_noise"),
        ({"label_noise": -0.1}, "label_noise"),
        ({"n_train": 0}, "n_train"),
        ({"n_train": 5}, "n_train"),
        ({"n_train": 100_000}, "n_train"),
        ({"val_fraction": 0.7, "test_fraction": 0.3}, "< 1"),
    ],
)
def test_load_digits_splits_rejects_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        load_digits_splits(**kwargs)


def test_breast_cancer_and_diabetes_helpers():
    splits = load_breast_cancer_splits(seed=0)
    assert splits.train[0].shape[1] == 30
    assert set(np.unique(splits.train[1])) == {0, 1}
    X, y = load_diabetes_data()
    assert X.shape == (442, 10) and y.shape == (442,)
    assert np.allclose(X.std(axis=0), 1)


# --- synthetic curves ----------------------------------------------------------


def test_make_curve_is_seeded_sorted_and_noisy():
    x, y = make_curve(30, noise=0.3, seed=0)
    assert x.shape == (30,) and y.shape == (30,)
    assert np.all(np.diff(x) >= 0) and x.min() >= -1 and x.max() <= 1
    assert np.array_equal(make_curve(30, seed=0)[1], y)
    x_clean, y_clean = make_curve(30, noise=0.0, seed=0)
    assert np.allclose(y_clean, true_curve(x_clean))


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"n": 0}, "n must"),
        ({"n": 5, "noise": -1}, "noise"),
        ({"n": 5, "x_range": (1, -1)}, "x_range"),
    ],
)
def test_make_curve_rejects_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        make_curve(**kwargs)


def test_polynomial_features():
    x = np.array([1.0, 2.0, 3.0])
    assert np.array_equal(polynomial_features(x, 3), [[1, 1, 1], [2, 4, 8], [3, 9, 27]])
    assert polynomial_features(x, 0).shape == (3, 0)


@pytest.mark.parametrize("degree", [-1, 2.5, True])
def test_polynomial_features_rejects_bad_degree(degree):
    with pytest.raises(ValueError, match="degree"):
        polynomial_features(np.arange(3.0), degree)


def test_polynomial_features_needs_1d_x():
    with pytest.raises(ValueError, match="1-D"):
        polynomial_features(np.ones((3, 2)), 2)


# ---------------------------------------------------------------------------
# MNIST-1D
# ---------------------------------------------------------------------------


def test_mnist1d_sizes_types_and_official_test_set():
    from mnist1d.data import make_dataset

    splits = load_mnist1d()
    assert [len(X) for X, _ in splits] == [4000, 1000, 1000]
    for X, y in splits:
        assert X.shape[1:] == (40,) and X.dtype == np.float64 and y.dtype == np.int64
        assert set(np.unique(y)) == set(range(10))
    official = make_dataset()  # the package's defaults: the paper's dataset
    np.testing.assert_array_equal(splits.train[0], official["x"])
    np.testing.assert_array_equal(splits.test[1], official["y_test"])
    # validation sequences come from an independent run: none equals a training one
    assert not np.isin(splits.val[0][:, 0], splits.train[0][:, 0]).any()
    assert np.bincount(splits.val[1]).tolist() == [100] * 10


def test_mnist1d_is_deterministic_and_leaves_global_random_state_alone():
    import random

    np.random.seed(123)
    random.seed(123)
    expected_np, expected_py = np.random.rand(), random.random()
    np.random.seed(123)
    random.seed(123)
    a = load_mnist1d(n_train=300, seed=3)
    assert np.random.rand() == expected_np and random.random() == expected_py
    b = load_mnist1d(n_train=300, seed=3)
    for (Xa, ya), (Xb, yb) in zip(a, b):
        np.testing.assert_array_equal(Xa, Xb)
        np.testing.assert_array_equal(ya, yb)


def test_mnist1d_subset_is_stratified_seeded_and_keeps_val_and_test_fixed():
    full = load_mnist1d()
    small = load_mnist1d(n_train=500, seed=1)
    other = load_mnist1d(n_train=500, seed=2)
    assert len(small.train[0]) == 500
    assert np.bincount(small.train[1]).min() >= 49 and np.bincount(small.train[1]).max() <= 51
    assert not np.array_equal(small.train[0], other.train[0])
    # the subset is made of official training sequences
    assert np.isin(small.train[0][:, 5], full.train[0][:, 5]).all()
    for name in ("val", "test"):
        np.testing.assert_array_equal(getattr(small, name)[0], getattr(full, name)[0])


def test_mnist1d_cache_cannot_be_changed_by_callers():
    splits = load_mnist1d()
    splits.train[0][0, 0] = 1e6  # a caller's copy
    assert load_mnist1d().train[0][0, 0] != 1e6


def test_mnist1d_shuffled_positions_are_one_permutation_for_all_splits():
    plain = load_mnist1d(n_train=200, seed=0)
    shuffled = load_mnist1d(n_train=200, seed=0, shuffle_positions=True)
    order = None
    for (X, y), (Xs, ys) in zip(plain, shuffled):
        np.testing.assert_array_equal(y, ys)
        if order is None:  # find the permutation from the first sequence's columns
            order = [int(np.flatnonzero((X == Xs[:, [j]]).all(axis=0))[0]) for j in range(40)]
        np.testing.assert_array_equal(Xs, X[:, order])
    assert sorted(order) == list(range(40)) and order != list(range(40))


def test_mnist1d_label_noise_touches_training_labels_only():
    clean = load_mnist1d(n_train=1000, seed=0)
    noisy = load_mnist1d(n_train=1000, seed=0, label_noise=0.2)
    assert (clean.train[1] != noisy.train[1]).sum() == 200
    np.testing.assert_array_equal(clean.val[1], noisy.val[1])


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"n_train": 9}, "n_train"),
        ({"n_train": 4001}, "n_train"),
        ({"n_train": 0}, "n_train"),
        ({"n_train": 2.5}, "n_train"),
        ({"seed": -1}, "seed"),
        ({"label_noise": 1.0}, "label_noise"),
        ({"shuffle_positions": "yes"}, "shuffle_positions"),
    ],
)
def test_mnist1d_rejects_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        load_mnist1d(**kwargs)


def test_mnist1d_never_uses_the_network(monkeypatch):
    import socket

    from regcourse import data

    def no_network(*args, **kwargs):
        raise AssertionError("load_mnist1d tried to open a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    data._mnist1d_arrays.cache_clear()
    assert len(load_mnist1d().train[0]) == 4000
