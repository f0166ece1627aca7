"""Offline datasets, seeded splits and feature scaling.

Everything here runs without a network: the datasets ship with scikit-learn
(``load_digits``, ``load_breast_cancer``, ``load_diabetes``), are generated
on the spot (MNIST-1D, by the ``mnist1d`` package's own generator), or are
synthetic.
Every random choice takes a ``seed`` and uses ``np.random.default_rng(seed)``,
so the same call always returns the same arrays.

The usual pipeline of a chapter::

    splits = load_digits_splits(n_train=100, seed=0)   # small training set
    X_train, y_train = splits.train
    X_val, y_val = splits.val

Two rules the functions below keep for you:

1. The validation and test sets depend only on ``seed`` and the two fractions,
   never on ``n_train`` or ``label_noise``, so runs with different training
   sets are compared on the very same validation images.
2. Scaling statistics (mean, standard deviation) are computed on the
   *training* split only and then applied to every split. Fitting them on all
   the data would leak information about the validation set into training.
"""

from __future__ import annotations

import functools
import numbers
import random
from typing import NamedTuple

import numpy as np
from sklearn import datasets
from sklearn.model_selection import train_test_split

from regcourse._checks import in_unit_interval, non_negative, positive_int

__all__ = [
    "Splits",
    "split_indices",
    "split_dataset",
    "Standardizer",
    "standardize",
    "subsample",
    "shuffle_labels",
    "corrupt_labels",
    "load_digits_splits",
    "load_breast_cancer_splits",
    "load_diabetes_data",
    "load_mnist1d",
    "MNIST1D_TRAIN_SIZE",
    "true_curve",
    "make_curve",
    "polynomial_features",
]


class Splits(NamedTuple):
    """Training, validation and test sets, each an ``(X, y)`` pair of arrays.

    Unpack a split with ``X_train, y_train = splits.train``.
    """

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(X)}" for name, (X, _) in zip(self._fields, self))
        features = self.train[0].shape[1:]
        return f"Splits({sizes} samples; features per sample: {features})"


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def _check_fraction(name: str, value) -> float:
    """A fraction strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    return float(value)


def _check_X_y(X, y) -> tuple[np.ndarray, np.ndarray]:
    """Turn X and y into arrays and check they describe the same, non-empty, samples."""
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError("X and y must be arrays with one row per sample, got a scalar")
    if len(X) == 0:
        raise ValueError("X and y are empty: at least one sample is needed")
    if len(X) != len(y):
        raise ValueError(
            f"X and y must have the same length (one label per sample), "
            f"got {len(X)} rows in X and {len(y)} labels in y"
        )
    return X, y


def _check_labels(y, n_classes=None) -> tuple[np.ndarray, int]:
    """Check integer class labels 0 .. n_classes - 1; return them and n_classes."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integers 0, 1, ..., got dtype {y.dtype}")
    if n_classes is None:
        n_classes = int(y.max()) + 1
    n_classes = positive_int("n_classes", n_classes)
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2 to pick a different class, got {n_classes}")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(
            f"labels must lie in 0 .. n_classes - 1 = {n_classes - 1}, "
            f"got values from {y.min()} to {y.max()}"
        )
    return y, n_classes


# ---------------------------------------------------------------------------
# Splitting
# ---------------------------------------------------------------------------


def split_indices(y, val_fraction=0.2, test_fraction=0.2, seed=0, stratify=True):
    """Seeded indices of a train / validation / test split of ``len(y)`` samples.

    The test set gets ``round(test_fraction * n)`` samples, the validation set
    ``round(val_fraction * n)`` and the training set the rest. With
    ``stratify=True`` (classification labels) each part keeps the class
    proportions of ``y``; use ``stratify=False`` for regression targets.

    Returns three sorted integer arrays ``(train_idx, val_idx, test_idx)``
    that are disjoint and together cover ``0 .. n - 1``. The same arguments
    always give the same indices.
    """
    y = np.asarray(y)
    if y.ndim == 0 or len(y) == 0:
        raise ValueError("y is empty: at least one sample is needed to split")
    val_fraction = _check_fraction("val_fraction", val_fraction)
    test_fraction = _check_fraction("test_fraction", test_fraction)
    if val_fraction + test_fraction >= 1:
        raise ValueError(
            f"val_fraction + test_fraction must be < 1 so some data is left to train on, "
            f"got {val_fraction} + {test_fraction} = {val_fraction + test_fraction}"
        )
    seed = _check_seed(seed)

    n = len(y)
    n_test = round(test_fraction * n)
    n_val = round(val_fraction * n)
    n_train = n - n_val - n_test
    smallest_allowed = len(np.unique(y)) if stratify else 1
    if min(n_train, n_val, n_test) < smallest_allowed:
        raise ValueError(
            f"{n} samples are too few for this split (train={n_train}, val={n_val}, "
            f"test={n_test}): each part needs at least {smallest_allowed} sample(s)"
            + (" (one per class, as stratify=True)" if stratify else "")
        )

    all_idx = np.arange(n)
    rest_idx, test_idx = train_test_split(
        all_idx, test_size=n_test, random_state=seed, stratify=y if stratify else None
    )
    train_idx, val_idx = train_test_split(
        rest_idx, test_size=n_val, random_state=seed, stratify=y[rest_idx] if stratify else None
    )
    return np.sort(train_idx), np.sort(val_idx), np.sort(test_idx)


def split_dataset(X, y, val_fraction=0.2, test_fraction=0.2, seed=0, stratify=True) -> Splits:
    """Split ``(X, y)`` into training, validation and test sets.

    See :func:`split_indices` for how the samples are chosen: seeded,
    stratified by class when ``stratify=True``, disjoint and deterministic.
    """
    X, y = _check_X_y(X, y)
    train_idx, val_idx, test_idx = split_indices(y, val_fraction, test_fraction, seed, stratify)
    return Splits(
        train=(X[train_idx], y[train_idx]),
        val=(X[val_idx], y[val_idx]),
        test=(X[test_idx], y[test_idx]),
    )


def _stratified_counts(class_sizes: np.ndarray, n: int) -> np.ndarray:
    """How many samples to take from each class so that they add up to ``n``.

    Every class gets one sample first; the remaining ``n - k`` are shared in
    proportion to what each class has left, rounding by largest remainder.
    Integer arithmetic, so the result is exact and never exceeds a class size.
    """
    leftover = class_sizes - 1
    to_share = n - len(class_sizes)
    if to_share == 0:
        return np.ones_like(class_sizes)
    shares, remainders = np.divmod(to_share * leftover, leftover.sum())
    still_missing = to_share - shares.sum()
    largest_remainders_first = np.argsort(-remainders, kind="stable")
    shares[largest_remainders_first[:still_missing]] += 1
    return 1 + shares


def subsample(X, y, n, seed=0, stratify=True):
    """A random subset of ``n`` samples of ``(X, y)``, e.g. 100 training images.

    With ``stratify=True`` every class keeps at least one sample and the rest
    follow the class proportions of ``y``, so ``n`` must be at least the
    number of classes. Returns ``(X_subset, y_subset)``, rows in their
    original order.
    """
    X, y = _check_X_y(X, y)
    n = positive_int("n", n)
    if n > len(X):
        raise ValueError(f"n must be between 1 and the number of samples {len(X)}, got {n}")
    rng = np.random.default_rng(_check_seed(seed))

    if not stratify:
        chosen = rng.choice(len(X), size=n, replace=False)
    else:
        classes, class_sizes = np.unique(y, return_counts=True)
        if n < len(classes):
            raise ValueError(
                f"n must be at least the number of classes ({len(classes)}) when "
                f"stratify=True, so every class keeps a sample; got {n}"
            )
        counts = _stratified_counts(class_sizes, n)
        chosen = np.concatenate(
            [
                rng.choice(np.flatnonzero(y == label), size=count, replace=False)
                for label, count in zip(classes, counts)
            ]
        )
    chosen = np.sort(chosen)
    return X[chosen], y[chosen]


# ---------------------------------------------------------------------------
# Scaling
# ---------------------------------------------------------------------------


class Standardizer:
    r"""Scale every feature to mean 0 and standard deviation 1.

    ``fit`` learns, per feature :math:`j`, the mean :math:`\mu_j` and standard
    deviation :math:`\sigma_j` of the training data; ``transform`` returns
    :math:`(x_j - \mu_j) / \sigma_j`. A feature that is constant in the
    training data (some corner pixels of the digits are always 0) has
    :math:`\sigma_j = 0`; it gets :math:`\sigma_j = 1` instead, so it becomes
    0 rather than ``nan``.
    """

    def __init__(self):
        self.mean_ = None
        self.scale_ = None

    def fit(self, X) -> Standardizer:
        """Learn the mean and standard deviation of each column of X (training data only!)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) == 0:
            raise ValueError(
                f"X must be a non-empty 2-D array (samples, features), got shape {X.shape}"
            )
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def transform(self, X) -> np.ndarray:
        """Apply the learned scaling to X (any split)."""
        if self.mean_ is None:
            raise ValueError("call fit(X_train) before transform")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.mean_):
            raise ValueError(
                f"X must have shape (samples, {len(self.mean_)}) like the data fitted, "
                f"got {X.shape}"
            )
        return (X - self.mean_) / self.scale_

    def fit_transform(self, X) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def transform_splits(self, splits: Splits) -> Splits:
        """Apply the learned scaling to the features of every split; labels are unchanged."""
        return Splits(*[(self.transform(X), y) for X, y in splits])


def standardize(splits: Splits) -> Splits:
    """Standardize all splits with the mean and std of the *training* split only.

    The training features end up with mean 0 and std 1; the validation and
    test features are close to, but not exactly, that.
    """
    scaler = Standardizer().fit(splits.train[0])
    return scaler.transform_splits(splits)


# ---------------------------------------------------------------------------
# Label experiments
# ---------------------------------------------------------------------------


def shuffle_labels(y, seed=0) -> np.ndarray:
    """A random permutation of the labels (the random-label experiment of Zhang et al., 2017).

    Every image keeps *a* label, the class frequencies stay exactly the same,
    but the link between image and label is destroyed.
    """
    y = np.asarray(y)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"y must be a non-empty 1-D array of labels, got shape {y.shape}")
    return np.random.default_rng(_check_seed(seed)).permutation(y)


def corrupt_labels(y, fraction, n_classes=None, seed=0) -> np.ndarray:
    r"""Replace ``round(fraction * len(y))`` labels, chosen at random, by a different class.

    Each chosen label :math:`c` becomes :math:`(c + s) \bmod K` with the shift
    :math:`s` drawn uniformly from :math:`1, \dots, K - 1`, so the new label
    is one of the other :math:`K - 1` classes, each equally likely. ``n_classes``
    (:math:`K`) defaults to ``max(y) + 1``. Returns a new array.
    """
    y, n_classes = _check_labels(y, n_classes)
    fraction = in_unit_interval("fraction", fraction)
    rng = np.random.default_rng(_check_seed(seed))
    n_corrupt = round(fraction * len(y))
    chosen = rng.choice(len(y), size=n_corrupt, replace=False)
    shifts = rng.integers(1, n_classes, size=n_corrupt)
    noisy = y.copy()
    noisy[chosen] = (y[chosen] + shifts) % n_classes
    return noisy


# ---------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------


def _classification_splits(
    X, y, n_classes, n_train, val_fraction, test_fraction, seed, standardize, label_noise
) -> Splits:
    """Split, shrink the training set, add label noise, scale: in that order."""
    label_noise = in_unit_interval("label_noise", label_noise, include_one=False)
    splits = split_dataset(X, y, val_fraction, test_fraction, seed, stratify=True)
    X_train, y_train = splits.train
    if n_train is not None:
        n_train = positive_int("n_train", n_train)
        if not n_classes <= n_train <= len(X_train):
            raise ValueError(
                f"n_train must be between {n_classes} (one image per class) and "
                f"{len(X_train)} (the whole training split), got {n_train}"
            )
        X_train, y_train = subsample(X_train, y_train, n_train, seed=seed)
    if label_noise > 0:
        y_train = corrupt_labels(y_train, label_noise, n_classes=n_classes, seed=seed)
    splits = Splits(train=(X_train, y_train), val=splits.val, test=splits.test)
    if standardize:  # the argument; the scaling itself is done by Standardizer
        splits = Standardizer().fit(X_train).transform_splits(splits)
    return splits


def load_digits_splits(
    n_train=None, val_fraction=0.2, test_fraction=0.2, seed=0, standardize=True, label_noise=0.0
) -> Splits:
    """scikit-learn's 8x8 handwritten digits, split for training.

    1797 images of the digits 0-9, each flattened to 64 pixel intensities
    (0 to 16). The data are first split into train / validation / test (see
    :func:`split_indices`); the validation and test sets depend only on
    ``seed`` and the fractions. Then, optionally:

    - ``n_train``: keep only this many training images (stratified, seeded),
      e.g. 100, to make a small network overfit;
    - ``label_noise``: this fraction, in [0, 1), of the *training* labels is
      replaced by a different, random class (:func:`corrupt_labels`);
    - ``standardize``: scale pixels with the training split's mean and std.

    Returns :class:`Splits` with X float64 of shape (n, 64) and y int64.
    """
    digits = datasets.load_digits()
    X = digits.data.astype(np.float64)
    y = digits.target.astype(np.int64)
    return _classification_splits(
        X, y, 10, n_train, val_fraction, test_fraction, seed, standardize, label_noise
    )


def load_breast_cancer_splits(
    n_train=None, val_fraction=0.2, test_fraction=0.2, seed=0, standardize=True, label_noise=0.0
) -> Splits:
    """scikit-learn's Wisconsin breast cancer data: 569 samples, 30 features, 2 classes.

    A binary classification task (0 = malignant, 1 = benign), split and
    processed exactly as :func:`load_digits_splits`.
    """
    cancer = datasets.load_breast_cancer()
    X = cancer.data.astype(np.float64)
    y = cancer.target.astype(np.int64)
    return _classification_splits(
        X, y, 2, n_train, val_fraction, test_fraction, seed, standardize, label_noise
    )


def load_diabetes_data(standardize=True):
    """scikit-learn's diabetes regression data: 442 patients, 10 features.

    Returns ``(X, y)``: X float64 (442, 10), each feature scaled to mean 0 and
    std 1 when ``standardize`` is True (fitted on all 442 rows: this helper is
    for regularization paths of linear models, not for measuring
    generalization); y float64 (442,), disease progression one year later,
    left in its own units (about 25 to 346).
    """
    diabetes = datasets.load_diabetes()
    X = diabetes.data.astype(np.float64)
    y = diabetes.target.astype(np.float64)
    if standardize:
        X = Standardizer().fit_transform(X)
    return X, y


# ---------------------------------------------------------------------------
# MNIST-1D
# ---------------------------------------------------------------------------

#: Sequences in MNIST-1D's official training and test sets (the generator's defaults).
MNIST1D_TRAIN_SIZE = 4000
MNIST1D_TEST_SIZE = 1000
#: Seeds of the ``mnist1d`` generator: 42 is the package's default (the paper's
#: dataset); the validation sequences come from a second, independent run.
MNIST1D_SEED = 42
MNIST1D_VAL_SEED = 2020


def _generate_mnist1d(num_samples: int, train_split: float, generator_seed: int) -> dict:
    """Run ``mnist1d.data.make_dataset`` with its default arguments except the three given.

    The generator seeds Python's and NumPy's *global* random state; we save
    both before and restore them after, so loading data never changes the
    random numbers drawn elsewhere. The download path of the package
    (``get_dataset``) is never used: nothing here touches the network.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = num_samples
    args.train_split = train_split
    args.seed = generator_seed
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        return make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)


@functools.lru_cache(maxsize=1)
def _mnist1d_arrays() -> tuple[np.ndarray, ...]:
    """The three generated sets, made once per process (about a second) and kept in memory.

    Returned read-only so that no caller can change the cached copy by accident.
    """
    official = _generate_mnist1d(
        MNIST1D_TRAIN_SIZE + MNIST1D_TEST_SIZE,
        MNIST1D_TRAIN_SIZE / (MNIST1D_TRAIN_SIZE + MNIST1D_TEST_SIZE),
        MNIST1D_SEED,
    )
    extra = _generate_mnist1d(MNIST1D_TEST_SIZE, 1.0, MNIST1D_VAL_SEED)
    arrays = (
        official["x"],
        official["y"],
        extra["x"],
        extra["y"],
        official["x_test"],
        official["y_test"],
    )
    arrays = tuple(np.array(a, dtype=np.float64 if a.ndim == 2 else np.int64) for a in arrays)
    for a in arrays:
        a.flags.writeable = False
    return arrays


def load_mnist1d(n_train=None, seed=0, shuffle_positions=False, label_noise=0.0) -> Splits:
    """MNIST-1D (Greydanus, 2020): ten 1-D digit templates, each sequence of length 40.

    Every sequence is one of ten templates, padded, randomly shifted, scaled,
    sheared and blurred with correlated and independent noise, then sampled at
    40 positions. The sets are generated here by the ``mnist1d`` package's own
    generator (``mnist1d.data.make_dataset`` with its default arguments), never
    downloaded:

    - **train**: the official 4,000 training sequences (generator seed 42, the
      paper's dataset), or a stratified, seeded subset of ``n_train`` of them;
    - **test**: the official 1,000 test sequences, on which the paper reports
      logistic regression 32%, MLP 68% and CNN 94% test accuracy;
    - **val**: 1,000 further sequences (100 per class) from an independent run
      of the same generator (seed 2020), for choosing hyperparameters without
      looking at the test set and without giving up training data.

    Validation and test sets are the same for every ``seed`` and ``n_train``,
    so runs are compared on the very same sequences; ``seed`` chooses the
    training subset and the label noise. The generator already centres and
    scales each set it makes (mean 0, std 1 over all values), so no further
    scaling is applied: standardizing each position separately would distort
    the shapes that a convolution looks for.

    - ``n_train``: keep this many training sequences (10 to 4,000), e.g. 1,000;
    - ``shuffle_positions``: apply one fixed random permutation to the 40
      positions of every sequence, in every split (the paper's "shuffled"
      variant): an MLP does not care, a CNN loses its prior about neighbours;
    - ``label_noise``: this fraction, in [0, 1), of the *training* labels is
      replaced by a different, random class (:func:`corrupt_labels`).

    Returns :class:`Splits` with X float64 of shape (n, 40) and y int64 in 0..9.
    The data are generated once per process (about a second) and cached in
    memory; nothing is written to disk.
    """
    seed = _check_seed(seed)
    label_noise = in_unit_interval("label_noise", label_noise, include_one=False)
    if not isinstance(shuffle_positions, bool):
        raise ValueError(f"shuffle_positions must be True or False, got {shuffle_positions!r}")
    X_train, y_train, X_val, y_val, X_test, y_test = _mnist1d_arrays()
    if n_train is not None:
        n_train = positive_int("n_train", n_train)
        if not 10 <= n_train <= MNIST1D_TRAIN_SIZE:
            raise ValueError(
                f"n_train must be between 10 (one sequence per class) and "
                f"{MNIST1D_TRAIN_SIZE} (the whole training set), got {n_train}"
            )
        X_train, y_train = subsample(X_train, y_train, n_train, seed=seed)
    if label_noise > 0:
        y_train = corrupt_labels(y_train, label_noise, n_classes=10, seed=seed)
    splits = [(X_train, y_train), (X_val, y_val), (X_test, y_test)]
    if shuffle_positions:
        order = np.random.default_rng(0).permutation(X_train.shape[1])
        splits = [(X[:, order], y) for X, y in splits]
    return Splits(*[(np.array(X), np.array(y)) for X, y in splits])


# ---------------------------------------------------------------------------
# Synthetic curve fitting
# ---------------------------------------------------------------------------


def true_curve(x) -> np.ndarray:
    r"""The function behind :func:`make_curve`: :math:`f(x) = \sin(\pi x)`."""
    return np.sin(np.pi * np.asarray(x, dtype=np.float64))


def make_curve(n, noise=0.3, seed=0, x_range=(-1.0, 1.0)):
    r"""Noisy samples of :func:`true_curve`, for the classic curve-fitting picture.

    Draws :math:`x_i` uniformly from ``x_range`` (returned sorted, for
    plotting) and returns ``(x, y)``, both of shape (n,), with

    .. math:: y_i = \sin(\pi x_i) + \varepsilon_i, \qquad
              \varepsilon_i \sim \mathcal{N}(0, \text{noise}^2).
    """
    n = positive_int("n", n)
    noise = non_negative("noise", noise)
    low, high = x_range
    if not low < high:
        raise ValueError(f"x_range must be (low, high) with low < high, got {x_range!r}")
    rng = np.random.default_rng(_check_seed(seed))
    x = np.sort(rng.uniform(low, high, size=n))
    y = true_curve(x) + noise * rng.standard_normal(n)
    return x, y


def polynomial_features(x, degree) -> np.ndarray:
    r"""The matrix :math:`[x, x^2, \dots, x^d]` of shape (n, degree) for 1-D ``x``.

    There is no column of ones: the intercept is handled separately by the
    model (and is not penalized). ``degree=0`` gives an (n, 0) matrix, i.e. a
    model that is the intercept alone.
    """
    if isinstance(degree, bool) or not isinstance(degree, numbers.Integral) or degree < 0:
        raise ValueError(f"degree must be an integer >= 0, got {degree!r}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"x must be a 1-D array of shape (n,), got shape {x.shape}")
    powers = np.arange(1, int(degree) + 1)
    return x[:, None] ** powers[None, :]
