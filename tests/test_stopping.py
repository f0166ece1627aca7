"""Stopping rules on recorded curves: patience and Prechelt's GL, PQ and UP criteria.

Every expected epoch below was computed by hand from the definitions (0-based
epochs; strips of k epochs end at the 1-based epochs k, 2k, ...).
"""

import math

import numpy as np
import pytest

from regcourse.stopping import (
    Stop,
    generalization_loss,
    stop_gl,
    stop_patience,
    stop_pq,
    stop_up,
    training_progress,
)
from regcourse.training import EarlyStopping

# --- the two quantities ------------------------------------------------------


def test_generalization_loss_is_the_rise_over_the_best_so_far_in_percent():
    # best so far: 2, 1, 1, 0.5, 0.5
    gl = generalization_loss([2.0, 1.0, 1.5, 0.5, 1.0])
    np.testing.assert_allclose(gl, [0.0, 0.0, 50.0, 0.0, 100.0])


def test_training_progress_per_mille_over_the_last_k_epochs():
    # k = 2: [4, 2] -> 6 / (2 * 2) - 1 = 0.5; [2, 1] -> 0.5; [1, 1] -> 0
    progress = training_progress([4.0, 2.0, 1.0, 1.0, 1.0], k=2)
    assert math.isnan(progress[0])
    np.testing.assert_allclose(progress[1:], [500.0, 500.0, 0.0, 0.0])
    # k = 3: [3, 2, 1] -> 6 / 3 - 1 = 1; [2, 1, 1] -> 4 / 3 - 1
    progress = training_progress([3.0, 2.0, 1.0, 1.0], k=3)
    assert np.isnan(progress[:2]).all()
    np.testing.assert_allclose(progress[2:], [1000.0, 1000.0 / 3])


# --- patience: the package's EarlyStopping, replayed -------------------------


def test_patience_replays_early_stopping():
    # 0.8 at epoch 1 is the best; epochs 2 and 3 do not beat it: stop after epoch 3
    stop = stop_patience([1.0, 0.8, 0.9, 0.85, 0.95, 1.1], patience=2)
    assert stop == Stop(epoch=3, fired=True, best_epoch=1)
    assert stop.epochs_run == 4


def test_patience_with_min_delta():
    # improvements must beat the best by more than 0.06: 0.95 does not beat 1.0,
    # 0.93 does (best = epoch 2), 0.90 and 0.91 do not beat 0.93: stop after epoch 4
    stop = stop_patience([1.0, 0.95, 0.93, 0.90, 0.91], patience=2, min_delta=0.06)
    assert stop == Stop(epoch=4, fired=True, best_epoch=2)


def test_patience_that_never_fires_runs_the_whole_record():
    assert stop_patience([3.0, 2.0, 1.0], patience=1) == Stop(epoch=2, fired=False, best_epoch=2)


def test_patience_agrees_with_feeding_early_stopping_by_hand():
    rng = np.random.default_rng(0)
    for _ in range(50):
        curve = np.cumsum(rng.normal(0.0, 1.0, size=30)) + 100.0
        for patience in (1, 3, 7):
            stopper = EarlyStopping(patience=patience)
            for loss in curve:
                if stopper.update(loss, lambda: None):
                    break
            stop = stop_patience(curve, patience)
            assert stop.epoch == stopper.epochs_seen - 1
            assert stop.best_epoch == stopper.best_epoch
            assert stop.fired == (stopper.stopped_epoch >= 0)


# --- GL_alpha ----------------------------------------------------------------


def test_gl_stops_after_the_first_epoch_over_alpha():
    val = [1.0, 0.9, 0.95, 1.0, 0.8]  # GL = 0, 0, 5.6, 11.1, 0
    assert stop_gl(val, alpha=10) == Stop(epoch=3, fired=True, best_epoch=1)
    assert stop_gl(val, alpha=5) == Stop(epoch=2, fired=True, best_epoch=1)
    assert stop_gl(val, alpha=20) == Stop(epoch=4, fired=False, best_epoch=4)


# --- PQ_alpha ----------------------------------------------------------------

TRAIN = [8.0, 4.0, 2.0, 1.5, 1.2, 1.1, 1.05, 1.02, 1.01, 1.0]
VAL = [1.0, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]
# k = 2, strip ends at 0-based epochs 1, 3, 5, 7, 9:
#   GL  = 0, 25, 50, 75, 100
#   P_2 = 500, 166.7, 45.5, 14.7, 5
#   GL / P_2 = 0, 0.15, 1.1, 5.1, 20


@pytest.mark.parametrize("alpha, epoch", [(0.1, 3), (1.0, 5), (2.0, 7), (10.0, 9)])
def test_pq_stops_at_the_first_strip_end_over_alpha(alpha, epoch):
    assert stop_pq(TRAIN, VAL, alpha, k=2) == Stop(epoch=epoch, fired=True, best_epoch=1)


def test_pq_that_never_fires():
    assert stop_pq(TRAIN, VAL, alpha=50.0, k=2) == Stop(epoch=9, fired=False, best_epoch=1)


def test_pq_only_looks_at_strip_ends():
    # GL is 100 at epoch 2, but with k = 2 only epochs 1 and 3 end a strip; at epoch 3
    # the validation error is back at its best (GL = 0), so the rule never fires
    train = [4.0, 3.0, 2.0, 1.0]
    assert stop_pq(train, [1.0, 1.0, 2.0, 1.0], alpha=0.01, k=2).fired is False


def test_pq_with_a_flat_training_error():
    # P_2 = 0 at both strip ends: epoch 1 has GL = 0 (no stop), epoch 3 has GL = 100 (stop)
    stop = stop_pq([1.0, 1.0, 1.0, 1.0], [2.0, 1.0, 2.0, 2.0], alpha=5.0, k=2)
    assert stop == Stop(epoch=3, fired=True, best_epoch=1)


# --- UP_s --------------------------------------------------------------------

RISING = [5.0, 4.0, 3.0, 4.5, 2.0, 4.6, 2.0, 4.7, 1.0, 1.0]
# k = 2: strip ends 1, 3, 5, 7, 9; compared with two epochs earlier from epoch 3 on:
#   epoch 3: 4.5 > 4.0, epoch 5: 4.6 > 4.5, epoch 7: 4.7 > 4.6, epoch 9: 1.0 < 4.7


@pytest.mark.parametrize("s, epoch, best", [(1, 3, 2), (2, 5, 4), (3, 7, 4)])
def test_up_stops_after_s_successive_rises(s, epoch, best):
    # the low values at epochs 4 and 6 fall between strip ends: UP does not see them,
    # but the weights kept are still those of the best epoch so far
    assert stop_up(RISING, s, k=2) == Stop(epoch=epoch, fired=True, best_epoch=best)


def test_up_counts_only_unbroken_runs_of_rises():
    assert stop_up(RISING, 4, k=2) == Stop(epoch=9, fired=False, best_epoch=8)
    # rise, fall, rise: never two in a row
    val = [3.0, 2.0, 2.0, 2.5, 2.0, 2.0, 2.0, 2.6]
    assert stop_up(val, 2, k=2).fired is False
    assert stop_up(val, 1, k=2).epoch == 3


# --- properties --------------------------------------------------------------


def test_slower_criteria_never_stop_earlier():
    rng = np.random.default_rng(1)
    for _ in range(30):
        val = np.exp(np.cumsum(rng.normal(0.0, 0.1, size=60)))
        train = np.exp(-0.1 * np.arange(60)) + 0.01
        epochs = [stop_gl(val, alpha).epoch for alpha in (1, 2, 5, 10)]
        assert epochs == sorted(epochs)
        epochs = [stop_up(val, s).epoch for s in (1, 2, 3, 4)]
        assert epochs == sorted(epochs)
        epochs = [stop_pq(train, val, alpha).epoch for alpha in (0.5, 1, 2, 5)]
        assert epochs == sorted(epochs)
        epochs = [stop_patience(val, p).epoch for p in (1, 2, 5, 10)]
        assert epochs == sorted(epochs)
        for stop in (stop_gl(val, 5), stop_up(val, 2), stop_patience(val, 5)):
            assert 0 <= stop.best_epoch <= stop.epoch < 60
            assert val[stop.best_epoch] == val[: stop.epoch + 1].min()


# --- bad arguments -----------------------------------------------------------


@pytest.mark.parametrize("alpha", [0, -1.0, math.nan, math.inf, True, "5"])
def test_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
        stop_gl([1.0, 2.0], alpha)
    with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
        stop_pq([1.0, 2.0], [1.0, 2.0], alpha)


@pytest.mark.parametrize("k", [0, 1, 2.5, True])
def test_bad_strip_length(k):
    with pytest.raises(ValueError, match="k must be"):
        stop_up([1.0, 2.0, 3.0], 1, k=k)
    with pytest.raises(ValueError, match="k must be"):
        training_progress([1.0, 2.0, 3.0], k=k)


@pytest.mark.parametrize("s", [0, -2, 1.5, None])
def test_bad_number_of_strips(s):
    with pytest.raises(ValueError, match="s must be a positive integer"):
        stop_up([1.0, 2.0, 3.0], s)


@pytest.mark.parametrize(
    "curve, message",
    [
        ([], "non-empty 1-D"),
        ([[1.0, 2.0]], "non-empty 1-D"),
        ([1.0, math.nan], "finite numbers"),
        ([1.0, math.inf], "finite numbers"),
        (["a", "b"], "sequence of numbers"),
    ],
)
def test_bad_curves(curve, message):
    for rule in (
        lambda v: stop_gl(v, 5),
        lambda v: stop_up(v, 1),
        lambda v: stop_patience(v, 2),
        generalization_loss,
    ):
        with pytest.raises(ValueError, match=message):
            rule(curve)


def test_relative_criteria_need_positive_errors():
    # an error rate of exactly 0 has no relative increase: GL would divide by zero
    with pytest.raises(ValueError, match="must be > 0"):
        stop_gl([0.2, 0.0, 0.1], 5)
    with pytest.raises(ValueError, match="must be > 0"):
        training_progress([1.0, 0.0, 0.5])
    # UP and patience only compare, so 0 and negative values are fine
    assert stop_up([0.0, -1.0, 0.0, 1.0], 1, k=2).epoch == 3


def test_pq_needs_one_training_error_per_validation_error():
    with pytest.raises(ValueError, match="one value per epoch"):
        stop_pq([1.0, 0.5, 0.4], [1.0, 1.1], 1.0)


@pytest.mark.parametrize("patience, min_delta", [(0, 0.0), (1.5, 0.0), (2, -0.1)])
def test_bad_patience_arguments(patience, min_delta):
    with pytest.raises(ValueError, match="patience|min_delta"):
        stop_patience([1.0, 2.0], patience, min_delta)
