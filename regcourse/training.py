"""Pieces of the training loop that do not depend on NumPy or PyTorch.

Both ``regcourse.numpy.fit`` and ``regcourse.torch.fit`` use these, so the two
loops shuffle the data identically and stop at the same epoch.
"""

from __future__ import annotations

import sys

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


def check_fit_arguments(train, val, epochs, batch_size):
    """Validate the arguments shared by both ``fit`` functions."""
    check_split("train", train)
    check_split("val", val)
    positive_int("epochs", epochs)
    positive_int("batch_size", batch_size)


def is_penalized(name: str, shape) -> bool:
    """Weight penalties apply to weight matrices and kernels (2 or more dimensions).

    Biases and the scale/shift of normalization layers are 1-D and are not
    penalized: shrinking them towards zero does not limit what the network can
    represent in a useful way, and it can hurt.
    """
    return len(shape) >= 2


class EarlyStopping:
    """Stop when the validation loss has not improved for ``patience`` epochs.

    An epoch improves if its validation loss is below the best so far by more
    than ``min_delta``. With ``restore_best`` the model's weights are set back
    to those of the best epoch when training stops (or ends).
    """

    def __init__(self, patience: int = 10, min_delta: float = 0.0, restore_best: bool = True):
        self.patience = positive_int("patience", patience)
        self.min_delta = non_negative("min_delta", min_delta)
        self.restore_best = restore_best
        self.best_loss = np.inf
        self.best_state = None
        self.epochs_without_improvement = 0

    def reset(self):
        self.best_loss = np.inf
        self.best_state = None
        self.epochs_without_improvement = 0

    def improved(self, val_loss: float) -> bool:
        """Record one epoch's validation loss; True if it is a new best."""
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss = val_loss
            self.epochs_without_improvement = 0
            return True
        self.epochs_without_improvement += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.epochs_without_improvement >= self.patience

    def update(self, val_loss: float, model_state) -> bool:
        """Record one epoch: keep ``model_state()`` if it is the best so far; True if training should stop.

        ``model_state`` is a function returning a copy of the weights, called only on improvement.
        """
        if self.improved(val_loss):
            self.best_state = model_state()
        return self.should_stop

    def restore(self, load_state) -> None:
        """Give the best weights to ``load_state`` (e.g. ``model.load_state_dict``) if ``restore_best``."""
        if self.restore_best and self.best_state is not None:
            load_state(self.best_state)

    def __repr__(self):
        return f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, restore_best={self.restore_best})"


def report_progress(epoch: int, epochs: int, history) -> None:
    """Write one line of progress to stderr (kept out of the rendered book)."""
    print(
        f"\repoch {epoch + 1}/{epochs}  train loss {history.train_loss[-1]:.4f}  "
        f"val loss {history.val_loss[-1]:.4f}",
        end="" if epoch + 1 < epochs else "\n",
        file=sys.stderr,
    )
