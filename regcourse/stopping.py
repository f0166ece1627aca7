"""Stopping rules read off recorded learning curves: patience and Prechelt's criteria.

A training run that records its per-epoch errors (a :class:`regcourse.History`)
contains everything a stopping rule looks at. Applied to such a record after
the fact, a rule tells at which epoch it *would* have stopped the run, and
which epoch's weights it would have kept. Because training is deterministic
given its seed, a run stopped at epoch ``t`` is exactly the first ``t + 1``
epochs of the full run, so one recorded run answers the question for every rule.

The rules (errors are any "lower is better" curve, e.g. the validation loss;
epochs are 0-based as in ``History``; every rule also stops at the end of the
recorded budget):

- :func:`stop_patience`: stop when ``patience`` epochs in a row have not
  improved on the best error so far; the rule of
  :class:`regcourse.training.EarlyStopping`, which it replays.
- :func:`stop_gl`: Prechelt's GL_alpha, stop when the *generalization loss*
  :func:`generalization_loss` exceeds ``alpha`` percent.
- :func:`stop_pq`: Prechelt's PQ_alpha, stop at the end of a strip of ``k``
  epochs when the generalization loss divided by the *training progress*
  :func:`training_progress` exceeds ``alpha``.
- :func:`stop_up`: Prechelt's UP_s, stop when the validation error rose in
  ``s`` successive strips of ``k`` epochs.

Each returns a :class:`Stop`: the last epoch trained, whether the rule fired,
and the epoch with the lowest validation error up to then (the weights that
early stopping keeps). Reference: L. Prechelt, "Early stopping - but when?",
in Neural Networks: Tricks of the Trade, LNCS 1524, Springer (1998).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from regcourse._checks import positive_int
from regcourse.training import EarlyStopping

__all__ = [
    "Stop",
    "generalization_loss",
    "training_progress",
    "stop_patience",
    "stop_gl",
    "stop_pq",
    "stop_up",
]


@dataclass(frozen=True)
class Stop:
    """Where a stopping rule ends a recorded run (all epochs 0-based).

    - ``epoch``: the last epoch trained: the one after which the rule fired,
      or the last recorded epoch if it never did;
    - ``fired``: False when the rule never fired and the run used its whole budget;
    - ``best_epoch``: the epoch with the lowest validation error among epochs
      ``0 .. epoch`` (the first one on ties): the weights early stopping keeps.
      For ``stop_patience`` with ``min_delta`` > 0 it is ``EarlyStopping``'s best
      epoch, the last one that beat the best so far by more than ``min_delta``.
    """

    epoch: int
    fired: bool
    best_epoch: int

    @property
    def epochs_run(self) -> int:
        """Number of epochs trained (the compute spent), ``epoch + 1``."""
        return self.epoch + 1


def _curve(name: str, values, positive: bool = False) -> np.ndarray:
    """``values`` as a non-empty 1-D float array of finite numbers (> 0 if ``positive``)."""
    try:
        curve = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers, one per epoch") from None
    if curve.ndim != 1 or curve.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D sequence (one number per epoch), "
            f"got shape {curve.shape}"
        )
    if not np.isfinite(curve).all():
        raise ValueError(f"{name} must hold finite numbers (no nan or inf), got {curve.tolist()}")
    if positive and not (curve > 0).all():
        raise ValueError(
            f"{name} must be > 0 at every epoch: Prechelt's criteria divide by the best "
            f"error so far (an error rate of exactly 0 has no relative loss)"
        )
    return curve


def _threshold(name: str, value) -> float:
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (is_number and 0 < value < math.inf):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _strip_length(k) -> int:
    k = positive_int("k", k)
    if k < 2:
        raise ValueError(
            f"k must be at least 2: a strip of one epoch has no training progress, got {k}"
        )
    return k


def _stop(val: np.ndarray, epoch: int | None) -> Stop:
    """A Stop at ``epoch``, or at the end of the record when ``epoch`` is None."""
    fired = epoch is not None
    last = int(epoch) if fired else len(val) - 1
    return Stop(epoch=last, fired=fired, best_epoch=int(np.argmin(val[: last + 1])))


def generalization_loss(val_errors) -> np.ndarray:
    r"""Prechelt's generalization loss at every epoch, in percent.

    .. math:: GL(t) = 100 \left( \frac{E_\text{va}(t)}{E_\text{opt}(t)} - 1 \right),
              \qquad E_\text{opt}(t) = \min_{t' \le t} E_\text{va}(t'),

    the relative increase of the validation error over the lowest one so far:
    0 at every new best, and larger the further the curve has climbed since.
    """
    val = _curve("val_errors", val_errors, positive=True)
    return 100.0 * (val / np.minimum.accumulate(val) - 1.0)


def training_progress(train_errors, k: int = 5) -> np.ndarray:
    r"""Prechelt's training progress over the last ``k`` epochs, in per mille.

    .. math:: P_k(t) = 1000 \left( \frac{\sum_{t'=t-k+1}^{t} E_\text{tr}(t')}
              {k \cdot \min_{t-k+1 \le t' \le t} E_\text{tr}(t')} - 1 \right),

    how much larger the strip's mean training error is than its minimum: large
    while the training error still falls quickly, near 0 once it has levelled
    off (and never negative). ``nan`` for the first ``k - 1`` epochs, which have
    no full strip behind them.
    """
    train = _curve("train_errors", train_errors, positive=True)
    k = _strip_length(k)
    progress = np.full(len(train), np.nan)
    for t in range(k - 1, len(train)):
        strip = train[t - k + 1 : t + 1]
        progress[t] = 1000.0 * (strip.sum() / (k * strip.min()) - 1.0)
    return progress


def stop_patience(val_errors, patience: int, min_delta: float = 0.0) -> Stop:
    """Where :class:`regcourse.training.EarlyStopping` (``patience``, ``min_delta``) stops.

    The epochs are fed to an ``EarlyStopping`` one by one, exactly as ``fit``
    feeds it: the rule is the package's own, not a copy.
    """
    val = _curve("val_errors", val_errors)
    stopper = EarlyStopping(patience=patience, min_delta=min_delta)  # checks both
    for error in val:
        if stopper.update(float(error), lambda: None):
            break
    fired = stopper.stopped_epoch >= 0
    last = stopper.epochs_seen - 1
    return Stop(epoch=last, fired=fired, best_epoch=stopper.best_epoch)


def stop_gl(val_errors, alpha: float) -> Stop:
    """GL_alpha: stop after the first epoch whose generalization loss exceeds ``alpha`` (%)."""
    alpha = _threshold("alpha", alpha)
    val = _curve("val_errors", val_errors, positive=True)
    fired = np.flatnonzero(generalization_loss(val) > alpha)
    return _stop(val, fired[0] if fired.size else None)


def _strip_ends(n_epochs: int, k: int, first: int = 1) -> range:
    """0-based indices of the epochs that end a strip: 1-based epochs k, 2k, 3k, ... ."""
    return range(first * k - 1, n_epochs, k)


def stop_pq(train_errors, val_errors, alpha: float, k: int = 5) -> Stop:
    """PQ_alpha: stop after the first end-of-strip epoch with GL(t) / P_k(t) > ``alpha``.

    Strips are the 1-based epochs 1..k, k+1..2k, ... A strip whose training
    error did not change at all has P_k = 0; it stops the run if the
    generalization loss is positive (an infinite quotient), and not if it is 0.
    """
    alpha = _threshold("alpha", alpha)
    k = _strip_length(k)
    train = _curve("train_errors", train_errors, positive=True)
    val = _curve("val_errors", val_errors, positive=True)
    if len(train) != len(val):
        raise ValueError(
            f"train_errors and val_errors need one value per epoch each, "
            f"got {len(train)} and {len(val)}"
        )
    gl, progress = generalization_loss(val), training_progress(train, k)
    for t in _strip_ends(len(val), k):
        if gl[t] > 0 and (progress[t] == 0 or gl[t] / progress[t] > alpha):
            return _stop(val, t)
    return _stop(val, None)


def stop_up(val_errors, s: int, k: int = 5) -> Stop:
    """UP_s: stop at the end of the ``s``-th strip in a row whose validation error rose.

    At the end of each strip (1-based epochs 2k, 3k, ...) the validation error
    is compared with the one k epochs earlier; the rule fires after ``s``
    successive increases, ``E(t) > E(t - k) > ... > E(t - s k)``.
    """
    s = positive_int("s", s)
    k = _strip_length(k)
    val = _curve("val_errors", val_errors)
    rises = 0
    for t in _strip_ends(len(val), k, first=2):
        rises = rises + 1 if val[t] > val[t - k] else 0
        if rises >= s:
            return _stop(val, t)
    return _stop(val, None)
