"""Pieces of the training loop that do not depend on NumPy or PyTorch.

Both ``regcourse.numpy.fit`` and ``regcourse.torch.fit`` use these, so the two
loops shuffle the data identically, draw the same mixup pairs and stop at the
same epoch. Checkpoints are written in a neutral format (NumPy's ``.npz``),
which either twin can load.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import tempfile

import numpy as np

from regcourse._checks import non_negative, positive_int


def minibatches(n_samples: int, batch_size: int, rng: np.random.Generator):
    """Yield index arrays of a random permutation of ``range(n_samples)``, ``batch_size`` at a time.

    The last batch is smaller when ``batch_size`` does not divide ``n_samples``.
    """
    order = rng.permutation(n_samples)
    for start in range(0, n_samples, batch_size):
        yield order[start : start + batch_size]


def check_split(name: str, split):
    """Check that ``split`` is an ``(X, y)`` pair of equal, non-zero length; return it."""
    try:
        X, y = split
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an (X, y) pair, got {type(split).__name__}") from None
    if len(X) == 0:
        raise ValueError(f"{name} is empty: it needs at least one sample")
    if len(X) != len(y):
        raise ValueError(f"{name}: X has {len(X)} samples but y has {len(y)}")
    return X, y


def check_fit_arguments(
    train, val, epochs, batch_size, transform=None, mixup=None, classification=True
):
    """Validate the arguments shared by both ``fit`` functions."""
    check_split("train", train)
    check_split("val", val)
    positive_int("epochs", epochs)
    positive_int("batch_size", batch_size)
    if transform is not None and not callable(transform):
        raise ValueError(
            f"transform must be a function transform(X_batch, rng) -> X_batch or None, "
            f"got {type(transform).__name__}"
        )
    if mixup is not None and not isinstance(mixup, Mixup):
        raise ValueError(f"mixup must be a Mixup(alpha) or None, got {type(mixup).__name__}")
    if mixup is not None and not classification:
        raise ValueError(
            "mixup mixes class labels, so it needs a cross-entropy loss and integer labels; "
            "it does not apply to a regression loss such as MSELoss"
        )


def is_classification(loss_fn) -> bool:
    """True if ``loss_fn`` is a classification loss: then ``fit`` tracks accuracy, casts the
    labels to class indices, and allows mixup.

    The one test both ``fit`` functions (and both ``evaluate``) use. Our losses say
    it themselves: every loss class of ``regcourse.numpy`` and ``regcourse.torch``
    has a class attribute ``classification`` (True for ``CrossEntropyLoss``, False
    for ``MSELoss``), so a new loss declares what it is. A loss without the
    attribute (``torch.nn.CrossEntropyLoss``, say) counts as classification when its
    class name contains "CrossEntropy".
    """
    declared = getattr(type(loss_fn), "classification", None)
    if isinstance(declared, bool):
        return declared
    return "CrossEntropy" in type(loss_fn).__name__


def is_penalized(name: str, shape) -> bool:
    """Weight penalties apply to weight matrices and kernels (2 or more dimensions).

    Biases and the scale/shift of normalization layers are 1-D and are not
    penalized: shrinking them towards zero does not limit what the network can
    represent in a useful way, and it can hurt.
    """
    return len(shape) >= 2


def check_transformed(batch, transformed):
    """Check that a ``transform`` returned an array or tensor of the batch's shape; return it."""
    if not hasattr(transformed, "shape"):
        raise ValueError(
            f"transform must return an array or tensor, got {type(transformed).__name__}"
        )
    if tuple(transformed.shape) != tuple(batch.shape):
        raise ValueError(
            f"transform must keep the shape of the batch: it got {tuple(batch.shape)} "
            f"and returned {tuple(transformed.shape)}"
        )
    return transformed


class Mixup:
    """mixup (Zhang et al. 2018): train on convex combinations of pairs of examples.

    For each mini-batch ``(x, y)`` draw a mixing weight and a pairing,

        lam ~ Beta(alpha, alpha),     pi = a random permutation of the batch,

    and train on the mixed inputs with the mixed loss

        x~ = lam x + (1 - lam) x[pi],
        loss = lam L(f(x~), y) + (1 - lam) L(f(x~), y[pi]).

    For cross-entropy this is the loss against the mixed target distribution
    lam onehot(y) + (1 - lam) onehot(y[pi]), since cross-entropy is linear in
    the target. Small ``alpha`` puts lam near 0 or 1 (little mixing);
    ``alpha = 1`` draws lam uniformly from [0, 1]. Mixup applies to
    classification with integer labels only.

    Both ``fit`` functions draw lam and pi from their own seeded NumPy
    generator (after any ``transform``), so the twins mix the same pairs.
    """

    def __init__(self, alpha: float):
        is_number = isinstance(alpha, numbers.Real) and not isinstance(alpha, bool)
        if not (is_number and 0 < alpha < math.inf):
            raise ValueError(f"Mixup alpha must be a finite number > 0, got {alpha!r}")
        self.alpha = float(alpha)

    def draw(self, batch_size: int, rng: np.random.Generator):
        """(lam, pi) for one batch: lam ~ Beta(alpha, alpha), pi a permutation of the batch."""
        lam = float(rng.beta(self.alpha, self.alpha))
        return lam, rng.permutation(batch_size)

    def __repr__(self):
        return f"Mixup(alpha={self.alpha})"


# --- checkpoints -------------------------------------------------------------


def as_numpy(value) -> np.ndarray:
    """A NumPy copy of an array or tensor (tensors via ``.detach().cpu().numpy()``)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    array = np.array(value, copy=True)
    if array.dtype == object:
        raise ValueError(f"a checkpoint holds numeric arrays only, got {type(value).__name__}")
    return array


def save_checkpoint(state: dict, path) -> None:
    """Write ``state`` (names -> arrays or tensors) to ``path`` as an ``.npz`` file, atomically.

    Every value is stored as a NumPy array (no pickle). The file is first
    written to a temporary file in the same directory, flushed to disk, and
    then renamed onto ``path`` in one step (``os.replace``): a reader sees the
    old checkpoint or the new one, never half a file. If anything fails, the
    temporary file is removed, the previous checkpoint is left as it was and
    the error is raised again. ``path`` is used as given (no suffix is added).
    """
    if not isinstance(state, dict):
        raise ValueError(f"state must be a dict of arrays, got {type(state).__name__}")
    arrays = {str(name): as_numpy(value) for name, value in state.items()}
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"cannot write checkpoint {path!r}: no directory {directory!r}")
    tmp = tempfile.NamedTemporaryFile(
        dir=directory, prefix=".checkpoint-", suffix=".tmp", delete=False
    )
    try:
        with tmp:
            np.savez(tmp, **arrays)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp.name, path)
    except BaseException:
        if os.path.exists(tmp.name):
            os.remove(tmp.name)
        raise


def load_checkpoint(path) -> dict[str, np.ndarray]:
    """The state saved by ``save_checkpoint``: a dict of NumPy arrays, in the saved order.

    A NumPy model loads it with ``model.load_state_dict(state)``; a torch model
    with ``regcourse.torch.load_numpy_state(model, state)``.
    """
    with np.load(os.fspath(path), allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


# --- early stopping ----------------------------------------------------------


class EarlyStopping:
    """Stop when the validation loss has not improved for ``patience`` epochs.

    Epoch t (0-based) *improves* if its validation loss beats the best so far
    by more than ``min_delta``:

        val_loss[t] < best_loss - min_delta.

    A ``nan`` loss never improves. After each epoch it records

    - ``best_epoch``: the last epoch that improved (-1 before any did), whose
      loss is ``best_loss`` and whose weights are kept in ``best_state``;
    - ``stopped_epoch``: the epoch after which ``patience`` epochs in a row
      had not improved, so training stopped (-1 while it has not).

    With ``restore_best`` (the default) ``fit`` ends with the weights of
    ``best_epoch``; without it, with those of the last epoch trained. With a
    ``checkpoint_path`` every improvement also writes the weights to that file
    (see ``save_checkpoint``), so the best model survives an interrupted run.
    """

    def __init__(
        self,
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best: bool = True,
        checkpoint_path=None,
    ):
        self.patience = positive_int("patience", patience)
        self.min_delta = non_negative("min_delta", min_delta)
        if not isinstance(restore_best, bool):
            raise ValueError(f"restore_best must be True or False, got {restore_best!r}")
        self.restore_best = restore_best
        if checkpoint_path is not None and not isinstance(checkpoint_path, (str, os.PathLike)):
            raise ValueError(
                f"checkpoint_path must be a file path or None, got {type(checkpoint_path).__name__}"
            )
        self.checkpoint_path = checkpoint_path
        self.reset()

    def reset(self):
        """Forget every epoch seen (``fit`` calls this before training)."""
        self.best_loss = math.inf
        self.best_epoch = -1
        self.best_state = None
        self.stopped_epoch = -1
        self.epochs_seen = 0
        self.epochs_without_improvement = 0

    def improved(self, val_loss: float) -> bool:
        """Record one epoch's validation loss; True if it is a new best (never for nan)."""
        epoch = self.epochs_seen
        self.epochs_seen += 1
        if val_loss < self.best_loss - self.min_delta:  # False for nan
            self.best_loss = float(val_loss)
            self.best_epoch = epoch
            self.epochs_without_improvement = 0
            return True
        self.epochs_without_improvement += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.epochs_without_improvement >= self.patience

    def update(self, val_loss: float, model_state) -> bool:
        """Record one epoch; True if training should stop.

        ``model_state`` is a function returning a copy of the weights; it is
        called only when the epoch improves, and its result is kept (and
        written to ``checkpoint_path``, if any).
        """
        if self.improved(val_loss):
            self.best_state = model_state()
            if self.checkpoint_path is not None:
                save_checkpoint(self.best_state, self.checkpoint_path)
        if self.should_stop and self.stopped_epoch < 0:
            self.stopped_epoch = self.epochs_seen - 1
        return self.should_stop

    def restore(self, load_state):
        """Give the best weights to ``load_state`` (e.g. ``model.load_state_dict``).

        Only with ``restore_best`` and once some epoch has improved. Returns the
        epoch restored, or None if the weights were left alone.
        """
        if not self.restore_best or self.best_state is None:
            return None
        load_state(self.best_state)
        return self.best_epoch

    def __repr__(self):
        path = "" if self.checkpoint_path is None else f", checkpoint_path={self.checkpoint_path!r}"
        return (
            f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, "
            f"restore_best={self.restore_best}{path})"
        )


def finish_early_stopping(early_stopping, history, load_state) -> None:
    """After the last epoch: restore the best weights if asked, and make ``history`` agree.

    ``history.best_epoch`` becomes ``early_stopping.best_epoch`` (its
    ``min_delta`` rule), and ``history.restored_epoch`` the epoch whose weights
    the model now holds, or None if it keeps those of the last epoch.
    """
    history.restored_epoch = early_stopping.restore(load_state)
    history.best_epoch = early_stopping.best_epoch


def report_progress(epoch: int, epochs: int, history) -> None:
    """Write one line of progress to stderr (kept out of the rendered book)."""
    print(
        f"\repoch {epoch + 1}/{epochs}  train loss {history.train_loss[-1]:.4f}  "
        f"val loss {history.val_loss[-1]:.4f}",
        end="" if epoch + 1 < epochs else "\n",
        file=sys.stderr,
    )
