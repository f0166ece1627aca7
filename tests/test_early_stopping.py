"""Early stopping: the rule on scripted losses, restoring inside fit, and atomic checkpoints."""

import math
import os

import numpy as np
import pytest
import torch

import regcourse.numpy as rnp
import regcourse.torch as rt
from regcourse.history import History
from regcourse.training import (
    EarlyStopping,
    finish_early_stopping,
    load_checkpoint,
    save_checkpoint,
)

nan = math.nan


def feed(stopper, losses):
    """Feed ``losses`` to ``update`` until it says stop; the state of epoch t is {"epoch": t}.

    Returns the number of epochs fed.
    """
    stopper.reset()
    for epoch, loss in enumerate(losses):
        if stopper.update(loss, lambda: {"epoch": np.array(epoch)}):
            return epoch + 1
    return len(losses)


class Loader:
    """Stands in for ``model.load_state_dict``: remembers what it was given."""

    def __init__(self):
        self.loaded = None

    def __call__(self, state):
        self.loaded = state


# --- the rule, on scripted validation losses ---------------------------------


def test_patience_two_stops_after_two_epochs_without_improvement():
    stopper = EarlyStopping(patience=2)
    epochs = feed(stopper, [1.0, 0.8, 0.9, 0.85, 0.95, 1.1])
    # epoch 1 (0.8) is the best; epochs 2 and 3 do not beat it, so we stop after epoch 3
    assert epochs == 4 and stopper.stopped_epoch == 3 and stopper.should_stop
    assert stopper.best_epoch == 1 and stopper.best_loss == 0.8
    assert stopper.best_state == {"epoch": 1}
    loader = Loader()
    assert stopper.restore(loader) == 1 and loader.loaded == {"epoch": 1}


def test_no_stop_while_the_loss_keeps_improving():
    stopper = EarlyStopping(patience=1)
    assert feed(stopper, [3.0, 2.0, 1.0]) == 3
    assert stopper.stopped_epoch == -1 and stopper.best_epoch == 2 and not stopper.should_stop


def test_a_tie_is_not_an_improvement():
    stopper = EarlyStopping(patience=1)
    assert feed(stopper, [1.0, 1.0, 0.5]) == 2
    assert stopper.best_epoch == 0 and stopper.stopped_epoch == 1


def test_min_delta_an_improvement_must_beat_the_best_by_more_than_min_delta():
    # 0.85 beats 1.0 by 0.15 > 0.1; 0.84 and 0.83 beat 0.85 by less; 0.7 by 0.15 again
    losses = [1.0, 0.95, 0.92, 0.85, 0.84, 0.83, 0.7]
    stopper = EarlyStopping(patience=3, min_delta=0.1)
    assert feed(stopper, losses) == 7
    assert stopper.best_epoch == 6 and stopper.stopped_epoch == -1
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    assert feed(stopper, losses) == 3 and stopper.best_epoch == 0 and stopper.stopped_epoch == 2
    # without min_delta every decrease counts
    stopper = EarlyStopping(patience=2)
    assert feed(stopper, losses) == 7 and stopper.best_epoch == 6


def test_min_delta_best_epoch_is_not_the_lowest_loss():
    """The best epoch is the last one that improved by min_delta, not the argmin."""
    stopper = EarlyStopping(patience=5, min_delta=0.1)
    feed(stopper, [1.0, 0.5, 0.45, 0.6])
    assert stopper.best_epoch == 1 and stopper.best_loss == 0.5


def test_nan_is_never_an_improvement_but_counts_towards_patience():
    stopper = EarlyStopping(patience=3)
    assert feed(stopper, [nan, 1.0, nan, 0.9]) == 4
    assert stopper.best_epoch == 3
    stopper = EarlyStopping(patience=2)
    assert feed(stopper, [1.0, nan, nan, 0.1]) == 3 and stopper.best_epoch == 0


def test_only_nan_losses_leave_nothing_to_restore():
    stopper = EarlyStopping(patience=2)
    assert feed(stopper, [nan, nan, nan]) == 2
    assert stopper.best_epoch == -1 and stopper.best_state is None and stopper.stopped_epoch == 1
    loader = Loader()
    assert stopper.restore(loader) is None and loader.loaded is None


def test_restore_best_false_leaves_the_weights_alone():
    stopper = EarlyStopping(patience=2, restore_best=False)
    feed(stopper, [1.0, 0.8, 0.9, 0.85])
    loader = Loader()
    assert stopper.restore(loader) is None and loader.loaded is None
    assert stopper.best_epoch == 1  # still recorded


def test_reset_forgets_everything():
    stopper = EarlyStopping(patience=1)
    feed(stopper, [1.0, 2.0])
    stopper.reset()
    assert (stopper.best_epoch, stopper.stopped_epoch, stopper.best_state) == (-1, -1, None)
    assert stopper.best_loss == math.inf and not stopper.should_stop


def test_history_best_epoch_skips_nan():
    h = History()
    for loss in [nan, 2.0, 1.0, nan]:
        h.record(0.5, loss)
    assert h.best_epoch == 2
    h = History()
    h.record(0.5, nan)
    assert h.best_epoch == -1


def test_finish_makes_history_agree_with_the_stopper():
    losses = [1.0, 0.5, 0.45, 0.6]
    history = History()
    for loss in losses:
        history.record(0.1, loss)
    assert history.best_epoch == 2  # History's own rule: the lowest loss
    stopper = EarlyStopping(patience=5, min_delta=0.1)
    feed(stopper, losses)
    loader = Loader()
    finish_early_stopping(stopper, history, loader)
    assert history.best_epoch == history.restored_epoch == 1 and loader.loaded == {"epoch": 1}
    stopper = EarlyStopping(patience=5, min_delta=0.1, restore_best=False)
    feed(stopper, losses)
    finish_early_stopping(stopper, history, Loader())
    assert history.best_epoch == 1 and history.restored_epoch is None


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(patience=0), "patience must be a positive integer"),
        (dict(patience=-2), "patience must be a positive integer"),
        (dict(patience=2.5), "patience must be a positive integer"),
        (dict(patience=True), "patience must be a positive integer"),
        (dict(patience="3"), "patience must be a positive integer"),
        (dict(min_delta=-0.1), "min_delta must be a number >= 0"),
        (dict(min_delta=nan), "min_delta must be a number >= 0"),
        (dict(restore_best=1), "restore_best must be True or False"),
        (dict(restore_best="yes"), "restore_best must be True or False"),
        (dict(restore_best=None), "restore_best must be True or False"),
        (dict(checkpoint_path=3), "checkpoint_path must be a file path or None"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EarlyStopping(**kwargs)


def test_repr_shows_the_settings(tmp_path):
    assert repr(EarlyStopping(3, 0.5)) == (
        "EarlyStopping(patience=3, min_delta=0.5, restore_best=True)"
    )
    assert "checkpoint_path=" in repr(EarlyStopping(checkpoint_path=tmp_path / "best.npz"))


# --- inside fit: the model ends with the weights of history.best_epoch ------


@pytest.fixture(scope="module")
def blobs_with_noisy_val():
    """Easy blobs, with shuffled validation labels so that the validation loss rises."""
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 4)) * 3
    y = rng.integers(0, 3, 240)
    X = centers[y] + rng.standard_normal((240, 4))
    return (X[:160], y[:160]), (X[160:], rng.permutation(y[160:]))


def numpy_run(data, epochs, early_stopping=None):
    rnp.manual_seed(0)
    model = rnp.mlp([4, 16, 3])
    opt = rnp.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = rnp.fit(
        model,
        rnp.CrossEntropyLoss(),
        opt,
        *data,
        epochs=epochs,
        batch_size=32,
        early_stopping=early_stopping,
        seed=1,
    )
    return model.state_dict(), history


def torch_run(data, epochs, early_stopping=None):
    torch.manual_seed(0)
    model = rt.mlp([4, 16, 3])
    opt = rt.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = rt.fit(
        model,
        rt.CrossEntropyLoss(),
        opt,
        *data,
        epochs=epochs,
        batch_size=32,
        early_stopping=early_stopping,
        seed=1,
    )
    return {k: v.numpy() for k, v in model.state_dict().items()}, history


@pytest.mark.parametrize("run", [numpy_run, torch_run], ids=["numpy", "torch"])
@pytest.mark.parametrize("min_delta", [0.0, 0.02])
def test_fit_ends_with_the_weights_of_history_best_epoch(run, min_delta, blobs_with_noisy_val):
    stopper = EarlyStopping(patience=3, min_delta=min_delta)
    state, history = run(blobs_with_noisy_val, 100, stopper)
    assert history.stopped_early and history.epochs < 100
    assert history.best_epoch == stopper.best_epoch == history.restored_epoch >= 0
    assert stopper.stopped_epoch == history.epochs - 1
    assert history.epochs == history.best_epoch + 1 + 3
    # the same run without early stopping, cut after the best epoch, ends with the same weights
    expected, _ = run(blobs_with_noisy_val, history.best_epoch + 1)
    for name, value in expected.items():
        np.testing.assert_array_equal(state[name], value, err_msg=name)


@pytest.mark.parametrize("run", [numpy_run, torch_run], ids=["numpy", "torch"])
def test_fit_without_restore_best_keeps_the_last_weights(run, blobs_with_noisy_val):
    stopper = EarlyStopping(patience=3, restore_best=False)
    state, history = run(blobs_with_noisy_val, 100, stopper)
    assert history.stopped_early and history.restored_epoch is None
    assert history.best_epoch == stopper.best_epoch == history.epochs - 1 - 3
    expected, _ = run(blobs_with_noisy_val, history.epochs)
    for name, value in expected.items():
        np.testing.assert_array_equal(state[name], value, err_msg=name)


def test_fit_without_early_stopping_restores_nothing(blobs_with_noisy_val):
    _, history = numpy_run(blobs_with_noisy_val, 5)
    assert history.restored_epoch is None and not history.stopped_early
    assert history.best_epoch == int(np.argmin(history.val_loss))


# --- checkpoints ---------------------------------------------------------------


def test_checkpoint_round_trips_numpy_arrays_and_tensors(tmp_path):
    path = tmp_path / "state.npz"
    state = {
        "0.weight": np.arange(6.0).reshape(2, 3),
        "0.bias": torch.tensor([1.5, -2.0]),
        "1.num_batches_tracked": torch.tensor(7),
    }
    save_checkpoint(state, path)
    loaded = load_checkpoint(path)
    assert list(loaded) == list(state)  # the order is kept
    np.testing.assert_array_equal(loaded["0.weight"], state["0.weight"])
    assert loaded["0.bias"].dtype == np.float32 and loaded["1.num_batches_tracked"] == 7
    assert os.listdir(tmp_path) == ["state.npz"]  # no temporary file left


def test_checkpoint_writes_exactly_the_given_path(tmp_path):
    save_checkpoint({"w": np.ones(2)}, tmp_path / "best")  # np.savez would add .npz to a name
    assert os.listdir(tmp_path) == ["best"]


def test_checkpoint_is_flushed_to_disk_before_it_replaces_the_old_one(tmp_path, monkeypatch):
    calls = []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append("replace"), replace(a, b))[1])
    save_checkpoint({"w": np.ones(2)}, tmp_path / "best.npz")
    assert calls == ["fsync", "replace"]


@pytest.mark.parametrize(
    "error", [OSError("disk full"), KeyboardInterrupt()], ids=["OSError", "KeyboardInterrupt"]
)
def test_an_interrupted_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch, error):
    path = tmp_path / "best.npz"
    stopper = EarlyStopping(patience=5, checkpoint_path=path)
    stopper.update(1.0, lambda: {"w": np.full(3, 1.0)})
    assert load_checkpoint(path)["w"].tolist() == [1.0, 1.0, 1.0]

    def savez_then_fail(file, **arrays):
        file.write(b"PK\x03\x04 half a zip file")  # some bytes reach the temporary file...
        raise error  # ...then the write is interrupted

    monkeypatch.setattr(np, "savez", savez_then_fail)
    with pytest.raises(type(error)):
        stopper.update(0.5, lambda: {"w": np.full(3, 2.0)})
    monkeypatch.undo()
    assert load_checkpoint(path)["w"].tolist() == [1.0, 1.0, 1.0]  # the old one, intact
    assert os.listdir(tmp_path) == ["best.npz"]  # and no temporary file behind


def test_checkpoint_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="numeric arrays only"):
        save_checkpoint({"w": np.array([None, 1])}, tmp_path / "x.npz")  # would need pickle
    with pytest.raises(ValueError, match="dict of arrays"):
        save_checkpoint([np.ones(2)], tmp_path / "x.npz")
    with pytest.raises(ValueError, match="no directory"):
        save_checkpoint({"w": np.ones(2)}, tmp_path / "missing" / "x.npz")
    assert os.listdir(tmp_path) == []


def test_every_improvement_writes_the_best_state(tmp_path):
    path = tmp_path / "best.npz"
    stopper = EarlyStopping(patience=2, checkpoint_path=str(path))
    feed(stopper, [1.0, 0.8, 0.9, 0.85])
    assert load_checkpoint(path)["epoch"] == 1


def test_numpy_fit_checkpoint_loads_into_both_twins(tmp_path, blobs_with_noisy_val):
    path = tmp_path / "best.npz"
    stopper = EarlyStopping(patience=3, checkpoint_path=path)
    state, history = numpy_run(blobs_with_noisy_val, 100, stopper)
    checkpoint = load_checkpoint(path)
    for name, value in state.items():  # the checkpoint holds the restored, best weights
        np.testing.assert_array_equal(checkpoint[name], value, err_msg=name)
    fresh = rnp.mlp([4, 16, 3])
    fresh.load_state_dict(checkpoint)
    X_val = blobs_with_noisy_val[1][0]
    loss = rnp.evaluate(fresh, rnp.CrossEntropyLoss(), *blobs_with_noisy_val[1])[0]
    assert loss == history.val_loss[history.best_epoch]
    twin = rt.load_numpy_state(rt.mlp([4, 16, 3]), checkpoint)  # float32, torch's default
    assert all(p.dtype == torch.float32 for p in twin.parameters())
    np.testing.assert_allclose(
        rt.predict(twin, torch.tensor(X_val, dtype=torch.float32)),
        rnp.predict(fresh, X_val),
        rtol=1e-5,
        atol=1e-5,
    )


def test_torch_fit_checkpoint_loads_into_both_twins(tmp_path, blobs_with_noisy_val):
    path = tmp_path / "best.npz"
    torch.manual_seed(0)
    model = rt.mlp([4, 16, 3], dtype=torch.float64)
    opt = rt.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rt.fit(
        model,
        rt.CrossEntropyLoss(),
        opt,
        *blobs_with_noisy_val,
        epochs=100,
        batch_size=32,
        early_stopping=EarlyStopping(patience=3, checkpoint_path=path),
    )
    checkpoint = load_checkpoint(path)
    assert all(v.dtype == np.float64 for v in checkpoint.values())
    twin = rt.load_numpy_state(rt.mlp([4, 16, 3], dtype=torch.float64), checkpoint)
    for name, value in model.state_dict().items():
        assert torch.equal(twin.state_dict()[name], value), name
    numpy_twin = rnp.mlp([4, 16, 3])
    numpy_twin.load_state_dict(checkpoint)
    X_val = blobs_with_noisy_val[1][0]
    expected = rt.predict(model, torch.tensor(X_val)).numpy()
    np.testing.assert_allclose(rnp.predict(numpy_twin, X_val), expected, rtol=1e-12)


def test_load_numpy_state_keeps_dtype_and_device_and_checks_names():
    model = rt.mlp([2, 3], dtype=torch.float64).to("meta")
    state = {"0.weight": np.ones((3, 2), dtype=np.float32), "0.bias": np.zeros(3)}
    rt.load_numpy_state(model, state)
    assert model[0].weight.device.type == "meta" and model[0].weight.dtype == torch.float64
    model = rt.mlp([2, 3])
    with pytest.raises(RuntimeError, match="Unexpected key"):
        rt.load_numpy_state(model, {**state, "extra": np.ones(1)})
    with pytest.raises(RuntimeError, match="size mismatch"):
        rt.load_numpy_state(model, {"0.weight": np.ones((2, 2)), "0.bias": np.zeros(3)})


# --- scripted validation losses inside fit: min_delta and a nan first epoch ---------

SCRIPTED_VAL = [nan, 1.0, 0.95, 0.5, 0.45, 0.6, 0.7, 0.8, 0.9, 1.0]
VAL_SIZE = 7  # no training batch has 7 samples, so the loss can tell the validation split


def scripted_losses(base):
    """A cross-entropy whose value on the validation split is read from SCRIPTED_VAL."""

    class ScriptedCrossEntropy(base):
        epoch = 0

        def forward(self, logits, target):
            loss = super().forward(logits, target)
            if len(target) != VAL_SIZE:
                return loss
            value = SCRIPTED_VAL[self.epoch]
            self.epoch += 1
            return value if base is rnp.CrossEntropyLoss else torch.tensor(value)

    return ScriptedCrossEntropy()


def scripted_run(side, data, epochs, early_stopping=None):
    (X, y), (X_val, y_val) = data
    val = (X_val[:VAL_SIZE], y_val[:VAL_SIZE])
    side.manual_seed(0) if side is rnp else torch.manual_seed(0)
    model = side.mlp([4, 16, 3])
    opt = side.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = side.fit(
        model,
        scripted_losses(side.CrossEntropyLoss),
        opt,
        (X, y),
        val,
        epochs=epochs,
        batch_size=32,
        early_stopping=early_stopping,
        seed=1,
    )
    state = {k: v.numpy() if side is rt else v for k, v in model.state_dict().items()}
    return state, history


@pytest.mark.parametrize("side", [rnp, rt], ids=["numpy", "torch"])
def test_with_min_delta_and_a_nan_first_epoch_best_epoch_is_the_returned_model(
    side, blobs_with_noisy_val
):
    # epoch 0 nan; 1 improves; 3 improves by more than 0.1; 4 is lower but not by 0.1
    stopper = EarlyStopping(patience=3, min_delta=0.1)
    state, history = scripted_run(side, blobs_with_noisy_val, 10, stopper)
    assert history.epochs == 7 and history.stopped_early
    assert int(np.nanargmin(history.val_loss)) == 4  # the lowest loss ...
    assert history.best_epoch == history.restored_epoch == stopper.best_epoch == 3  # ... is not
    expected, _ = scripted_run(side, blobs_with_noisy_val, 4)  # cut after epoch 3
    for name, value in expected.items():
        np.testing.assert_array_equal(state[name], value, err_msg=name)


@pytest.mark.parametrize("side", [rnp, rt], ids=["numpy", "torch"])
def test_a_nan_first_epoch_is_never_best_without_early_stopping(side, blobs_with_noisy_val):
    _, history = scripted_run(side, blobs_with_noisy_val, 3)
    assert math.isnan(history.val_loss[0])
    assert history.best_epoch == 2 and history.restored_epoch is None
