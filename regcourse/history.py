"""The record of one training run, shared by the NumPy and the PyTorch ``fit``."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field


@dataclass
class History:
    """Per-epoch metrics of one training run.

    Every list has one entry per completed epoch. Losses are the *data* loss
    (cross-entropy or MSE, without any penalty term) of the whole split,
    measured in evaluation mode at the end of the epoch, so training and
    validation numbers are computed the same way and can be compared.
    Accuracies are ``nan`` for regression.

    ``best_epoch`` is the 0-based index of the epoch ``fit`` counts as best
    (-1 until there is one):

    - without early stopping, the epoch with the lowest validation loss (the
      first one on ties; a ``nan`` loss is never the lowest);
    - with early stopping, the early stopper's ``best_epoch``: the last epoch
      that beat the best loss so far by more than its ``min_delta``.

    ``restored_epoch`` is the epoch whose weights the returned model holds
    when early stopping restored them (then it equals ``best_epoch``), and
    None when the model keeps the weights of its last epoch.
    ``stopped_early`` is True when early stopping ended training before
    ``epochs``.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False
    restored_epoch: int | None = None

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.train_loss)

    def record(self, train_loss, val_loss, train_acc=math.nan, val_acc=math.nan):
        """Append one epoch's metrics and update ``best_epoch`` (lowest val loss, never nan)."""
        self.train_loss.append(float(train_loss))
        self.val_loss.append(float(val_loss))
        self.train_acc.append(float(train_acc))
        self.val_acc.append(float(val_acc))
        loss = self.val_loss[-1]
        if not math.isnan(loss) and (self.best_epoch < 0 or loss < self.val_loss[self.best_epoch]):
            self.best_epoch = self.epochs - 1

    def as_dict(self) -> dict:
        """The history as a plain dictionary (for saving or printing)."""
        result = asdict(self)
        result["epochs"] = self.epochs
        return result

    def __repr__(self) -> str:
        if not self.epochs:
            return "History(no epochs)"
        last = self.epochs - 1
        return (
            f"History(epochs={self.epochs}, best_epoch={self.best_epoch}, "
            f"train_loss={self.train_loss[last]:.4f}, val_loss={self.val_loss[last]:.4f}, "
            f"train_acc={self.train_acc[last]:.4f}, val_acc={self.val_acc[last]:.4f})"
        )
