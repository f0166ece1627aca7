"""Losses with the mean reduction of ``torch.nn``: ``loss = fn(pred, target)``,
then ``fn.backward()`` returns d loss / d pred."""

from __future__ import annotations

import numpy as np

from regcourse._checks import check_label_smoothing
from regcourse.numpy.core import DTYPE, Module


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax along the last axis, computed stably (subtract the row maximum)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities exp(z_c) / sum_k exp(z_k) along the last axis, computed stably."""
    return np.exp(log_softmax(np.asarray(logits, dtype=DTYPE)))


def _scalar_upstream(dout, loss: Module) -> float:
    """A loss is a scalar, so its upstream gradient d total / d loss must be one number."""
    if np.ndim(dout) != 0:
        raise ValueError(
            f"{type(loss).__name__}.backward expects a scalar dout (d total / d loss, "
            f"the loss being one number), got shape {np.shape(dout)}"
        )
    return float(dout)


def check_class_range(target: np.ndarray, n_classes: int) -> None:
    """Raise ValueError unless every class index lies in [0, n_classes - 1]."""
    if target.size == 0:
        return
    low, high = int(target.min()), int(target.max())
    if low < 0 or high >= n_classes:
        raise ValueError(
            f"target classes must lie in [0, {n_classes - 1}], got range [{low}, {high}]"
        )


class CrossEntropyLoss(Module):
    """Softmax cross-entropy on logits, averaged over the batch.

    With p = softmax(z) and target distribution q (one-hot, or with label
    smoothing eps: q = (1 - eps) onehot + eps / C, torch's convention),

        loss = -(1/N) sum_n sum_c q_nc log p_nc,     d loss / d z = (p - q) / N.

    ``label_smoothing`` eps must lie in [0, 1): eps = 1 makes every target the
    uniform distribution, so the loss would ignore the labels.
    """

    classification = True  # read by regcourse.training.is_classification

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = check_label_smoothing(label_smoothing)
        self._cache = None

    def forward(self, logits, target):
        logits = np.asarray(logits, dtype=DTYPE)
        target = np.asarray(target)
        if logits.ndim != 2:
            raise ValueError(
                f"CrossEntropyLoss expects logits of shape (batch, classes), got {logits.shape}"
            )
        n, n_classes = logits.shape
        if target.shape != (n,):
            raise ValueError(
                f"target must have shape ({n},) to match logits {logits.shape}, got {target.shape}"
            )
        if not np.issubdtype(target.dtype, np.integer):
            raise ValueError(f"target must hold integer class indices, got dtype {target.dtype}")
        if n == 0:
            raise ValueError("CrossEntropyLoss got an empty batch")
        check_class_range(target, n_classes)
        log_p = log_softmax(logits)
        q = np.full_like(log_p, self.label_smoothing / n_classes)
        q[np.arange(n), target] += 1.0 - self.label_smoothing
        self._cache = (np.exp(log_p), q)
        return float(-(q * log_p).sum() / n)

    def __call__(self, logits, target):
        return self.forward(logits, target)

    def backward(self, dout: float = 1.0):
        if self._cache is None:
            raise RuntimeError(
                "CrossEntropyLoss.backward called before forward: compute the loss first"
            )
        p, q = self._cache
        return _scalar_upstream(dout, self) * (p - q) / p.shape[0]

    def extra_repr(self):
        return f"label_smoothing={self.label_smoothing}"


class MSELoss(Module):
    """Mean squared error: loss = mean((pred - target)^2);
    d loss / d pred = 2 (pred - target) / numel."""

    classification = False  # read by regcourse.training.is_classification

    def __init__(self):
        self._diff = None

    def forward(self, pred, target):
        pred = np.asarray(pred, dtype=DTYPE)
        target = np.asarray(target, dtype=DTYPE)
        if pred.shape != target.shape:
            raise ValueError(
                f"MSELoss needs pred and target of the same shape, "
                f"got {pred.shape} and {target.shape} "
                "(reshape the target, e.g. y.reshape(-1, 1))"
            )
        if pred.size == 0:
            raise ValueError("MSELoss got an empty batch")
        self._diff = pred - target
        return float(np.mean(self._diff**2))

    def __call__(self, pred, target):
        return self.forward(pred, target)

    def backward(self, dout: float = 1.0):
        if self._diff is None:
            raise RuntimeError("MSELoss.backward called before forward: compute the loss first")
        return _scalar_upstream(dout, self) * 2.0 * self._diff / self._diff.size
