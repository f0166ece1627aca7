r"""Ensembles and bagging: train k models, average their predicted probabilities.

An ensemble of k classifiers predicts with the mean of its members'
probabilities,

.. math:: \bar p(x) = \frac{1}{k} \sum_{i=1}^{k} p_i(x),

a point of the probability simplex again. The members differ in their seed
(initial weights, order of the mini-batches) and, for **bagging** (Breiman
1996, "bootstrap aggregating"), in their training data: member i trains on a
bootstrap resample, n draws with replacement from the n training examples.

The helpers here work for both sides of the package. A member is any model;
its probabilities come from a ``predict_proba(model, X)`` callable, by default
:func:`predict_proba`, which knows ``regcourse.numpy`` modules and any
``torch.nn.Module`` (softmax of the package's ``predict``, in evaluation mode).

- :func:`bootstrap_indices`, :func:`out_of_bag`: the resample of one member;
- :func:`member_seeds`, :func:`train_members`: train k members with your own
  ``train_fn(seed, indices)``;
- :func:`average_probabilities`, :func:`prefix_averages`: the ensemble of all
  k members, and the ensembles of the first 1, 2, ..., k members at once;
- :func:`probability_metrics`: accuracy, cross-entropy, Brier score and ECE
  (the ECE of :func:`regcourse.experiments.expected_calibration_error`);
- :class:`Ensemble`: members and their ``predict_proba`` in one object;
- :func:`torch_module`: torch members as one ``torch.nn.Module`` whose outputs
  are :math:`\log \bar p`, so ``regcourse.torch.evaluate`` scores the ensemble.

Nothing here imports PyTorch unless a torch model is handed in.
"""

from __future__ import annotations

import functools
import math
import numbers
import sys

import numpy as np

from regcourse._checks import positive_int
from regcourse.experiments import PROB_SUM_TOL, expected_calibration_error

__all__ = [
    "BOOTSTRAP_STREAM",
    "bootstrap_indices",
    "out_of_bag",
    "member_seeds",
    "train_members",
    "predict_proba",
    "member_probabilities",
    "average_probabilities",
    "prefix_averages",
    "probability_metrics",
    "Ensemble",
    "torch_module",
]

#: train_members draws member s's resample from ``np.random.default_rng([BOOTSTRAP_STREAM, s])``:
#: a stream apart from ``default_rng(s)``, which ``fit`` uses for the order of the mini-batches.
BOOTSTRAP_STREAM = 7919


# --- the bootstrap ----------------------------------------------------------------------------


def _as_generator(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise ValueError(
        f"rng must be a numpy Generator or a seed (an integer >= 0), got {type(rng).__name__}"
    )


def bootstrap_indices(n: int, rng) -> np.ndarray:
    r"""A bootstrap resample of ``range(n)``: n indices drawn uniformly **with** replacement.

    ``rng`` is a ``numpy.random.Generator`` or a seed; the same seed gives the
    same resample. Each example is left out with probability
    :math:`(1 - 1/n)^n \to 1/e \approx 0.368`, so a resample holds about 63%
    of the distinct examples, some of them twice or more.
    """
    n = positive_int("n (the number of training examples)", n)
    return _as_generator(rng).integers(0, n, size=n)


def out_of_bag(indices, n: int) -> np.ndarray:
    """Boolean mask of length ``n``: True for the examples that ``indices`` never drew."""
    n = positive_int("n (the number of training examples)", n)
    indices = np.asarray(indices)
    if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"indices must be a 1-D array of integers, got {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise ValueError(
            f"indices must lie in [0, {n - 1}], got [{indices.min()}, {indices.max()}]"
        )
    mask = np.ones(n, dtype=bool)
    mask[indices] = False
    return mask


# --- training the members ---------------------------------------------------------------------


def member_seeds(seed: int, k: int, stride: int = 1000) -> list[int]:
    """The seeds of k members: ``seed, seed + stride, ..., seed + (k - 1) * stride``.

    Member 0 gets ``seed`` itself, so it is the single model that a run with
    ``seed`` trains; the stride keeps the members of ensembles with nearby
    seeds (0, 1, 2, ...) apart.
    """
    k = positive_int("k (the number of members)", k)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    stride = positive_int("stride", stride)
    return [int(seed) + i * stride for i in range(k)]


def train_members(train_fn, seeds, bootstrap_size: int | None = None) -> list:
    """Train one member per seed with ``train_fn(seed, indices)``; return the members.

    ``indices`` is ``None`` for a plain seed ensemble (train on all the data);
    with ``bootstrap_size=n`` it is the member's bootstrap resample of
    ``range(n)``, drawn from ``np.random.default_rng([BOOTSTRAP_STREAM, seed])``
    (bagging): ``train_fn`` trains on ``X[indices], y[indices]``.
    """
    if not callable(train_fn):
        raise ValueError(
            f"train_fn must be a function (seed, indices) -> model, got {type(train_fn).__name__}"
        )
    seeds = list(seeds)
    if len(seeds) < 1:
        raise ValueError("an ensemble needs k >= 1 members: seeds is empty")
    if bootstrap_size is not None:
        bootstrap_size = positive_int("bootstrap_size", bootstrap_size)
    members = []
    for seed in seeds:
        indices = None
        if bootstrap_size is not None:
            rng = np.random.default_rng([BOOTSTRAP_STREAM, seed])
            indices = bootstrap_indices(bootstrap_size, rng)
        members.append(train_fn(seed, indices))
    return members


# --- probabilities ----------------------------------------------------------------------------


def _is_torch_module(model) -> bool:
    torch = sys.modules.get("torch")  # a torch model cannot exist unless torch is imported
    return torch is not None and isinstance(model, torch.nn.Module)


def predict_proba(model, X) -> np.ndarray:
    """Softmax probabilities of a classifier on ``X``, in evaluation mode, as float64 NumPy (N, C).

    A ``regcourse.numpy`` module goes through ``regcourse.numpy.predict``; a
    ``torch.nn.Module`` through ``regcourse.torch.predict`` (``X`` is moved to
    the model's device and dtype), its logits cast to float64 *before* the
    softmax, so that a confident network's small probabilities do not round
    to 0. For any other model, pass your own ``predict_proba`` to the functions
    that take one.
    """
    if _is_torch_module(model):
        import torch

        import regcourse.torch as rt
        from regcourse.torch.train import model_device_and_dtype

        device, dtype = model_device_and_dtype(model)
        X = torch.as_tensor(X if torch.is_tensor(X) else np.asarray(X))
        logits = rt.predict(model, X.to(device=device, dtype=dtype))
        return torch.softmax(logits.double(), dim=-1).cpu().numpy()
    from regcourse.numpy.core import Module

    if isinstance(model, Module):
        import regcourse.numpy as rnp

        return rnp.softmax(rnp.predict(model, X))
    raise ValueError(
        f"predict_proba knows regcourse.numpy modules and torch.nn.Modules, got "
        f"{type(model).__name__}; pass predict_proba=your_function(model, X) -> (N, C) array"
    )


def _check_stack(probs) -> np.ndarray:
    """``probs`` as a float64 array (k, N, C) of probability rows; clear errors otherwise."""
    if isinstance(probs, np.ndarray):
        members = list(probs) if probs.ndim == 3 else [probs]
    else:
        members = list(probs)
    if len(members) < 1:
        raise ValueError("an ensemble needs k >= 1 members: got no probabilities")
    arrays = []
    for i, p in enumerate(members):
        if hasattr(p, "detach"):
            p = p.detach().cpu().numpy()
        try:
            p = np.asarray(p, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"member {i}: probabilities must be numbers") from None
        if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] == 0:
            raise ValueError(
                f"member {i}: probabilities must have shape (N, C) with N >= 1 samples and "
                f"C >= 1 classes, got {p.shape}"
            )
        if arrays and p.shape != arrays[0].shape:
            raise ValueError(
                f"all members must predict the same (N, C): member 0 gave {arrays[0].shape}, "
                f"member {i} gave {p.shape}"
            )
        if not np.all(np.isfinite(p)) or p.min() < 0:
            raise ValueError(
                f"member {i}: probabilities must be finite and >= 0 (softmax outputs, not logits)"
            )
        sums = p.sum(axis=1)
        worst = int(np.argmax(np.abs(sums - 1)))
        if abs(sums[worst] - 1) > PROB_SUM_TOL:
            raise ValueError(
                f"member {i}: every row must sum to 1 (within {PROB_SUM_TOL:g}); row {worst} "
                f"sums to {sums[worst]:.6g} (pass softmax probabilities, not logits)"
            )
        arrays.append(p)
    return np.stack(arrays)


def member_probabilities(members, X, predict_proba=predict_proba) -> np.ndarray:
    """Every member's probabilities on ``X``, stacked: shape (k, N, C)."""
    members = list(members)
    if len(members) < 1:
        raise ValueError("an ensemble needs k >= 1 members: members is empty")
    return _check_stack([predict_proba(model, X) for model in members])


def average_probabilities(probs) -> np.ndarray:
    r"""The ensemble's prediction :math:`\bar p = \frac1k \sum_i p_i`, shape (N, C).

    ``probs`` holds the k members' probabilities: a list of (N, C) arrays or
    one (k, N, C) array (a single (N, C) array is a one-member ensemble). Each
    row of each member must sum to 1, so each row of the mean does too.
    """
    return _check_stack(probs).mean(axis=0)


def prefix_averages(probs) -> np.ndarray:
    r"""The ensembles of the first 1, 2, ..., k members at once, shape (k, N, C).

    Entry j - 1 is :math:`\frac1j \sum_{i=1}^{j} p_i` (a running mean). Train k
    members once; the curve "error against ensemble size" then costs no
    further training.
    """
    stack = _check_stack(probs)
    sizes = np.arange(1, len(stack) + 1, dtype=np.float64)[:, None, None]
    return np.cumsum(stack, axis=0) / sizes


# --- scores -----------------------------------------------------------------------------------


def _check_labels(y, n: int, n_classes: int) -> np.ndarray:
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"y must hold {n} integer labels, one per row of probs; got shape {y.shape}, "
            f"dtype {y.dtype}"
        )
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"labels must lie in [0, {n_classes - 1}], got [{y.min()}, {y.max()}]")
    return y


def probability_metrics(probs, y, n_bins: int = 15) -> dict[str, float]:
    r"""Scores of one (N, C) probability array against the labels ``y``.

    - ``acc``: fraction of rows whose largest probability is at the label;
    - ``nll``: the cross-entropy :math:`-\frac1N \sum_n \log p_{n, y_n}`
      (a probability below the smallest positive float64 counts as that number);
    - ``brier``: :math:`\frac1N \sum_n \lVert p_n - e_{y_n} \rVert^2`, between 0 and 2;
    - ``ece``: the expected calibration error with ``n_bins`` equal-width bins
      (:func:`regcourse.experiments.expected_calibration_error`).

    For an ensemble pass :func:`average_probabilities` of its members.
    """
    probs = _check_stack(probs)
    if len(probs) != 1:
        raise ValueError(
            f"probability_metrics scores one (N, C) array, got {len(probs)} members: "
            f"pass average_probabilities(probs) for their ensemble"
        )
    probs = probs[0]
    n, n_classes = probs.shape
    y = _check_labels(y, n, n_classes)
    p_label = probs[np.arange(n), y]
    onehot = np.eye(n_classes)[y]
    return {
        "acc": float(np.mean(probs.argmax(axis=1) == y)),
        "nll": float(-np.mean(np.log(np.maximum(p_label, np.finfo(np.float64).tiny)))),
        "brier": float(np.mean(np.sum((probs - onehot) ** 2, axis=1))),
        "ece": expected_calibration_error(probs, y, n_bins),
    }


class Ensemble:
    """k trained members and the function that reads their probabilities.

    ``Ensemble(members)`` works for ``regcourse.numpy`` and torch models;
    ``Ensemble(members, predict_proba=f)`` for anything else, with
    ``f(model, X) -> (N, C)`` probabilities.
    """

    def __init__(self, members, predict_proba=predict_proba):
        self.members = list(members)
        if len(self.members) < 1:
            raise ValueError("an ensemble needs k >= 1 members: members is empty")
        if not callable(predict_proba):
            raise ValueError("predict_proba must be a function (model, X) -> (N, C) array")
        self._predict_proba = predict_proba

    def __len__(self) -> int:
        return len(self.members)

    def member_probabilities(self, X) -> np.ndarray:
        """Shape (k, N, C): each member's probabilities."""
        return member_probabilities(self.members, X, self._predict_proba)

    def predict_proba(self, X) -> np.ndarray:
        """Shape (N, C): the mean of the members' probabilities."""
        return self.member_probabilities(X).mean(axis=0)

    def evaluate(self, X, y, n_bins: int = 15) -> dict[str, float]:
        """:func:`probability_metrics` of the ensemble on ``(X, y)``."""
        return probability_metrics(self.predict_proba(X), y, n_bins)

    def __repr__(self) -> str:
        return f"Ensemble(k={len(self)}, members={type(self.members[0]).__name__})"


# --- torch ------------------------------------------------------------------------------------


def torch_module(members):
    r"""Torch members as one ``torch.nn.Module``: ``forward(x)`` is :math:`\log \bar p(x)`.

    The outputs are log-probabilities, so they work wherever logits do: their
    softmax is :math:`\bar p` itself, their argmax is the ensemble's class and
    cross-entropy on them is the ensemble's cross-entropy. They are computed
    stably as ``logsumexp_i(log_softmax(z_i)) - log k``. ``eval()``/``train()``
    reach every member, so ``regcourse.torch.predict`` and ``evaluate`` work. The
    members are trained ones: the module comes back in evaluation mode.
    """
    members = list(members)
    if len(members) < 1:
        raise ValueError("an ensemble needs k >= 1 members: members is empty")
    for i, member in enumerate(members):
        if not _is_torch_module(member):
            raise ValueError(
                f"torch_module needs torch.nn.Modules; member {i} is a {type(member).__name__}"
            )
    return _probability_average_class()(members).eval()


@functools.cache
def _probability_average_class():
    """The module class, defined on first use so that this file does not import torch."""
    import torch
    from torch import nn

    class ProbabilityAverage(nn.Module):
        """An ensemble of classifiers as one module: log of the mean softmax of its members."""

        def __init__(self, members):
            super().__init__()
            self.members = nn.ModuleList(members)

        def forward(self, x):
            log_p = torch.stack([torch.log_softmax(m(x), dim=-1) for m in self.members])
            return torch.logsumexp(log_p, dim=0) - math.log(len(self.members))

    return ProbabilityAverage
