"""Parameter norm penalties on tensors: the twins of ``regcourse.numpy.penalties``.

``value(w)`` is a differentiable tensor (autograd gives its gradient in
``fit``); ``grad(w)`` and ``prox(w, step)`` are written out by hand, as on the
NumPy side. Results live on ``w``'s device.
"""

from __future__ import annotations

import torch

from regcourse._checks import check_max_norm, in_unit_interval, non_negative


def soft_threshold(w: torch.Tensor, t: float) -> torch.Tensor:
    """sign(w) * max(|w| - t, 0)."""
    t = non_negative("threshold t", t)
    return torch.sign(w) * torch.clamp(w.abs() - t, min=0.0)


class L2:
    """lam/2 * ||w||^2; gradient lam * w."""

    def __init__(self, lam: float):
        self.lam = non_negative("lam", lam)

    def value(self, w):
        return 0.5 * self.lam * (w * w).sum()

    def grad(self, w):
        return self.lam * w

    def prox(self, w, step: float):
        return w / (1.0 + non_negative("step", step) * self.lam)

    def __repr__(self):
        return f"L2(lam={self.lam})"


class L1:
    """lam * ||w||_1; subgradient lam * sign(w); prox = soft-thresholding by step * lam."""

    def __init__(self, lam: float):
        self.lam = non_negative("lam", lam)

    def value(self, w):
        return self.lam * w.abs().sum()

    def grad(self, w):
        return self.lam * torch.sign(w)

    def prox(self, w, step: float):
        return soft_threshold(w, non_negative("step", step) * self.lam)

    def __repr__(self):
        return f"L1(lam={self.lam})"


class ElasticNet:
    """lam * (l1_ratio * ||w||_1 + (1 - l1_ratio)/2 * ||w||^2)."""

    def __init__(self, lam: float, l1_ratio: float = 0.5):
        self.lam = non_negative("lam", lam)
        self.l1_ratio = in_unit_interval("l1_ratio", l1_ratio)

    def value(self, w):
        return self.lam * (
            self.l1_ratio * w.abs().sum() + 0.5 * (1 - self.l1_ratio) * (w * w).sum()
        )

    def grad(self, w):
        return self.lam * (self.l1_ratio * torch.sign(w) + (1 - self.l1_ratio) * w)

    def prox(self, w, step: float):
        step = non_negative("step", step)
        return soft_threshold(w, step * self.lam * self.l1_ratio) / (
            1.0 + step * self.lam * (1 - self.l1_ratio)
        )

    def __repr__(self):
        return f"ElasticNet(lam={self.lam}, l1_ratio={self.l1_ratio})"


class MaxNorm:
    """Max-norm constraint: rescale each unit's incoming weight vector to norm <= max_norm."""

    def __init__(self, max_norm: float):
        self.max_norm = check_max_norm(max_norm)

    def project(self, w):
        norms = w.reshape(len(w), -1).norm(dim=1)
        scale = torch.clamp(self.max_norm / torch.clamp(norms, min=1e-12), max=1.0)
        return w * scale.reshape((-1,) + (1,) * (w.ndim - 1))

    def __repr__(self):
        return f"MaxNorm(max_norm={self.max_norm})"
