r"""Random-feature regression with minimum-norm least squares: double descent in a few lines.

A random-feature model fixes a random map :math:`\phi: \mathbb{R}^d \to \mathbb{R}^p`
(one hidden layer whose weights are drawn once and never trained) and fits only the
output layer, by least squares:

.. math:: f(x) = \phi(x)^\top w + b, \qquad
          \phi_j(x) = \sigma(v_j^\top x + c_j), \quad j = 1, \dots, p.

The width :math:`p` is the capacity knob. With :math:`n` training points and
:math:`p < n` (more exactly :math:`p < n - 1`, the intercept takes one degree of
freedom) least squares has a unique solution that does not interpolate; past the
*interpolation threshold* infinitely many :math:`w` fit the training data exactly,
and we take the one of smallest Euclidean norm,

.. math:: w^\dagger = \Phi_c^{+} y_c = \arg\min \{\lVert w\rVert_2 :
          \Phi_c w = y_c\},

where :math:`\Phi_c, y_c` are the centred features and targets and :math:`^{+}`
is the Moore-Penrose pseudo-inverse. This is what gradient descent started at
:math:`w = 0` converges to, and it is :func:`regcourse.linear.fit_ridge` with
``alpha = 0``, which we reuse. Its test error against :math:`p` rises towards the
threshold and falls again beyond it: double descent (Belkin et al. 2019).

- :class:`RandomFeatures`: the seeded feature map (``"relu"`` or ``"fourier"``);
- :func:`min_norm_least_squares`: :math:`(w^\dagger, b)` from a feature matrix;
- :func:`random_feature_regression`: fit one width, return its errors and norm;
- :func:`width_sweep`: every width times every seed, as a
  :class:`regcourse.experiments.SweepResult`.
"""

from __future__ import annotations

import numbers

import numpy as np

from regcourse._checks import non_negative, positive_int
from regcourse.experiments import sweep
from regcourse.linear import _check_xy, fit_ridge

__all__ = [
    "FEATURE_KINDS",
    "RandomFeatures",
    "min_norm_least_squares",
    "random_feature_regression",
    "width_sweep",
]

#: The random feature maps this module draws.
FEATURE_KINDS = ("relu", "fourier")


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def _as_inputs(X) -> np.ndarray:
    """Inputs as a float64 array (n, d); a 1-D array is n inputs of one feature each."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"X must be a 1-D or 2-D array (samples, features), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError("X is empty: give at least one sample")
    return X


class RandomFeatures:
    r"""A fixed random feature map :math:`\phi: \mathbb{R}^d \to \mathbb{R}^p`, drawn from ``seed``.

    - ``kind="relu"``: :math:`\phi_j(x) = \max(0, v_j^\top x + c_j)` with
      :math:`v_j \sim \mathcal{N}(0, I_d / d)` and :math:`c_j \sim \mathcal{N}(0, 1)`:
      a one-hidden-layer ReLU network whose hidden layer is never trained;
    - ``kind="fourier"``: :math:`\phi_j(x) = \sqrt{2}\cos(v_j^\top x + c_j)` with
      :math:`v_j \sim \mathcal{N}(0, I_d / d)` and :math:`c_j \sim U[0, 2\pi)`
      (random Fourier features of a Gaussian kernel, Rahimi & Recht 2007).

    The same ``(in_features, width, kind, seed)`` always gives the same map, and a
    wider map with the same seed does not share its first columns with a narrower
    one (each width is its own draw). No :math:`1/\sqrt{p}` factor is applied:
    scaling every feature by :math:`s` scales :math:`w^\dagger` by :math:`1/s` and
    leaves the fitted function unchanged.
    """

    def __init__(self, in_features: int, width: int, kind: str = "relu", seed: int = 0):
        self.in_features = positive_int("in_features", in_features)
        self.width = positive_int("width (the number of random features p)", width)
        if kind not in FEATURE_KINDS:
            raise ValueError(f"kind must be one of {FEATURE_KINDS}, got {kind!r}")
        self.kind = kind
        self.seed = _check_seed(seed)
        rng = np.random.default_rng(self.seed)
        d = self.in_features
        self.weight = rng.standard_normal((self.width, d)) / np.sqrt(d)  # (p, d), as Linear
        if kind == "relu":
            self.bias = rng.standard_normal(self.width)
        else:
            self.bias = rng.uniform(0.0, 2 * np.pi, self.width)

    def __call__(self, X) -> np.ndarray:
        """The features :math:`\\phi(X)`, shape (n, width), for inputs of shape (n, d) or (n,)."""
        X = _as_inputs(X)
        if X.shape[1] != self.in_features:
            raise ValueError(
                f"X has {X.shape[1]} features per sample but this map was drawn for "
                f"in_features={self.in_features}"
            )
        z = X @ self.weight.T + self.bias
        if self.kind == "relu":
            return np.maximum(z, 0.0)
        return np.sqrt(2.0) * np.cos(z)

    def __repr__(self) -> str:
        return (
            f"RandomFeatures(in_features={self.in_features}, width={self.width}, "
            f"kind={self.kind!r}, seed={self.seed})"
        )


def min_norm_least_squares(features, y):
    r"""Least squares with an unpenalized intercept; the minimum-norm solution if not unique.

    Returns ``(coef, intercept)`` with :math:`w^\dagger = \Phi_c^{+} y_c` (centred
    data) and :math:`b = \bar y - \bar\phi^\top w^\dagger`. Below the interpolation
    threshold (full column rank) this is ordinary least squares; beyond it, of all the
    :math:`w` that fit the training data exactly, the one with the smallest
    :math:`\lVert w\rVert_2`. Computed by :func:`regcourse.linear.fit_ridge` with
    ``alpha = 0`` (a thin SVD, singular values below the rounding level count as 0).
    """
    return fit_ridge(features, y, 0.0)


def _check_split(name: str, split):
    try:
        X, y = split
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (X, y), got {type(split).__name__}") from None
    X = _as_inputs(X)
    X, y = _check_xy(X, y)
    return X, y


def random_feature_regression(
    train, test, width: int, kind: str = "relu", seed: int = 0, alpha: float = 0.0
):
    r"""Fit the minimum-norm random-feature model of one ``width``; return its numbers.

    ``train`` and ``test`` are pairs ``(X, y)`` (X of shape (n, d) or (n,), y of
    shape (n,)). The feature map is ``RandomFeatures(d, width, kind, seed)``.
    ``alpha > 0`` fits ridge regression instead, :math:`\lVert y - \Phi w - b\rVert^2 +
    \alpha \lVert w\rVert^2` (``fit_ridge``); ``alpha = 0`` is the minimum-norm fit.
    Returns a dict with ``train_mse``, ``test_mse`` (mean squared errors) and
    ``coef_norm`` :math:`\lVert w\rVert_2`, ready for :func:`width_sweep`.
    """
    X_train, y_train = _check_split("train", train)
    X_test, y_test = _check_split("test", test)
    if X_test.shape[1] != X_train.shape[1]:
        raise ValueError(
            f"train has {X_train.shape[1]} features per sample and test has "
            f"{X_test.shape[1]}: they must match"
        )
    features = RandomFeatures(X_train.shape[1], width, kind, seed)
    coef, intercept = fit_ridge(features(X_train), y_train, alpha)
    train_pred = features(X_train) @ coef + intercept
    test_pred = features(X_test) @ coef + intercept
    return {
        "train_mse": float(np.mean((train_pred - y_train) ** 2)),
        "test_mse": float(np.mean((test_pred - y_test) ** 2)),
        "coef_norm": float(np.linalg.norm(coef)),
    }


def width_sweep(data, widths, seeds, kind: str = "relu", alpha: float = 0.0):
    """Run :func:`random_feature_regression` for every width and seed (the experiment kit's sweep).

    ``data`` is either a pair ``(train, test)`` used by every seed, or a function
    ``seed -> (train, test)`` that draws a new sample per seed. The seed also draws
    the feature map, so each (width, seed) is one random model. Returns a
    :class:`regcourse.experiments.SweepResult` named ``"width"`` with the metrics
    ``train_mse``, ``test_mse`` and ``coef_norm``; e.g. ``result.mean_std("test_mse")``.
    ``alpha`` is passed on (0: minimum norm; > 0: ridge).
    """
    if kind not in FEATURE_KINDS:
        raise ValueError(f"kind must be one of {FEATURE_KINDS}, got {kind!r}")
    non_negative("alpha", alpha)
    widths = list(widths)
    for width in widths:
        positive_int("every width (the number of random features p)", width)

    def run(width, seed):
        train, test = data(seed) if callable(data) else data
        return random_feature_regression(train, test, width, kind, seed, alpha)

    return sweep(run, widths, seeds, name="width")
