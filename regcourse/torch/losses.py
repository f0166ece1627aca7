"""Losses from tensor operations, mean reduction, as ``torch.nn``'s."""

from __future__ import annotations

import torch
from torch import nn

from regcourse._checks import check_label_smoothing


def log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """log softmax along the last dimension, computed stably."""
    shifted = logits - logits.max(dim=-1, keepdim=True).values.detach()
    return shifted - torch.log(torch.exp(shifted).sum(dim=-1, keepdim=True))


def softmax(logits: torch.Tensor) -> torch.Tensor:
    """Probabilities exp(z_c) / sum_k exp(z_k) along the last dimension, computed stably."""
    return torch.exp(log_softmax(logits))


def check_class_range(target: torch.Tensor, n_classes: int) -> None:
    """Raise ValueError unless every class index lies in [0, n_classes - 1].

    Skipped on the meta device, whose tensors hold no values to check.
    """
    if target.device.type == "meta" or target.numel() == 0:
        return
    low, high = int(target.min()), int(target.max())
    if low < 0 or high >= n_classes:
        raise ValueError(
            f"target classes must lie in [0, {n_classes - 1}], got range [{low}, {high}]"
        )


class CrossEntropyLoss(nn.Module):
    """Softmax cross-entropy on logits: -(1/N) sum_n sum_c q_nc log p_nc,
    q = (1 - eps) onehot + eps / C with ``label_smoothing`` eps in [0, 1)
    (eps = 1 would make every target uniform and ignore the labels)."""

    classification = True  # read by regcourse.training.is_classification

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__()
        self.label_smoothing = check_label_smoothing(label_smoothing)

    def forward(self, logits, target):
        if logits.ndim != 2:
            raise ValueError(
                "CrossEntropyLoss expects logits of shape (batch, classes), "
                f"got {tuple(logits.shape)}"
            )
        n, n_classes = logits.shape
        if tuple(target.shape) != (n,):
            raise ValueError(
                f"target must have shape ({n},) to match logits {tuple(logits.shape)}, "
                f"got {tuple(target.shape)}"
            )
        if target.dtype.is_floating_point or target.dtype.is_complex or target.dtype == torch.bool:
            raise ValueError(f"target must hold integer class indices, got dtype {target.dtype}")
        if n == 0:
            raise ValueError("CrossEntropyLoss got an empty batch")
        check_class_range(target, n_classes)
        log_p = log_softmax(logits)
        onehot = torch.zeros_like(log_p).scatter_(1, target.long().unsqueeze(1), 1.0)
        q = (1.0 - self.label_smoothing) * onehot + self.label_smoothing / n_classes
        return -(q * log_p).sum() / n

    def extra_repr(self):
        return f"label_smoothing={self.label_smoothing}"


class MSELoss(nn.Module):
    """mean((pred - target)^2)."""

    classification = False  # read by regcourse.training.is_classification

    def forward(self, pred, target):
        if pred.shape != target.shape:
            raise ValueError(
                f"MSELoss needs pred and target of the same shape, "
                f"got {tuple(pred.shape)} and {tuple(target.shape)} "
                "(reshape the target, e.g. y.reshape(-1, 1))"
            )
        if pred.numel() == 0:
            raise ValueError("MSELoss got an empty batch")
        return ((pred - target) ** 2).mean()
