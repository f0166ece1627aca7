"""Parameter norm penalties, each with ``value(w)``, ``grad(w)`` and ``prox(w, step)``.

Conventions (stated in the chapters and tested):

- ``L2(lam)``:  lam/2 * sum w^2, gradient lam * w — so SGD on loss + L2 is SGD
  with ``weight_decay=lam``;
- ``L1(lam)``:  lam * sum |w|, subgradient lam * sign(w) (0 at w = 0);
- ``ElasticNet(lam, l1_ratio)``:  lam * (l1_ratio * sum |w| + (1 - l1_ratio)/2 * sum w^2).

``prox(w, step)`` is the proximal step  argmin_v  penalty(v) + ||v - w||^2 / (2 step):
the exact minimizer that proximal gradient descent applies after a plain
gradient step. For L1 it is soft-thresholding, which sets small weights to
exactly zero; the subgradient never does.
"""

from __future__ import annotations

import numpy as np

from regcourse._checks import check_max_norm, in_unit_interval, non_negative


def soft_threshold(w, t):
    """sign(w) * max(|w| - t, 0): shrink every entry towards 0 by t, and clip at 0."""
    t = non_negative("threshold t", t)
    w = np.asarray(w, dtype=np.float64)
    return np.sign(w) * np.maximum(np.abs(w) - t, 0.0)


class L2:
    """lam/2 * ||w||^2 (half the SQUARED Euclidean norm, not the norm itself)."""

    def __init__(self, lam: float):
        self.lam = non_negative("lam", lam)

    def value(self, w) -> float:
        return 0.5 * self.lam * float(np.sum(np.square(w)))

    def grad(self, w):
        return self.lam * np.asarray(w)

    def prox(self, w, step: float):
        """argmin_v lam/2 ||v||^2 + ||v - w||^2/(2 step) = w / (1 + step * lam)."""
        return np.asarray(w) / (1.0 + non_negative("step", step) * self.lam)

    def __repr__(self):
        return f"L2(lam={self.lam})"


class L1:
    """lam * ||w||_1; subgradient lam * sign(w); proximal step = soft-thresholding by step * lam."""

    def __init__(self, lam: float):
        self.lam = non_negative("lam", lam)

    def value(self, w) -> float:
        return self.lam * float(np.sum(np.abs(w)))

    def grad(self, w):
        return self.lam * np.sign(w)

    def prox(self, w, step: float):
        return soft_threshold(w, non_negative("step", step) * self.lam)

    def __repr__(self):
        return f"L1(lam={self.lam})"


class ElasticNet:
    """lam * (l1_ratio * ||w||_1 + (1 - l1_ratio)/2 * ||w||^2): l1_ratio=1 is L1,
    l1_ratio=0 is L2."""

    def __init__(self, lam: float, l1_ratio: float = 0.5):
        self.lam = non_negative("lam", lam)
        self.l1_ratio = in_unit_interval("l1_ratio", l1_ratio)

    def value(self, w) -> float:
        w = np.asarray(w)
        return self.lam * (
            self.l1_ratio * float(np.sum(np.abs(w)))
            + 0.5 * (1 - self.l1_ratio) * float(np.sum(w**2))
        )

    def grad(self, w):
        w = np.asarray(w)
        return self.lam * (self.l1_ratio * np.sign(w) + (1 - self.l1_ratio) * w)

    def prox(self, w, step: float):
        """Soft-threshold by step*lam*l1_ratio, then shrink by 1/(1 + step*lam*(1 - l1_ratio))."""
        step = non_negative("step", step)
        return soft_threshold(w, step * self.lam * self.l1_ratio) / (
            1.0 + step * self.lam * (1 - self.l1_ratio)
        )

    def __repr__(self):
        return f"ElasticNet(lam={self.lam}, l1_ratio={self.l1_ratio})"


class MaxNorm:
    """Max-norm constraint (Srivastava et al. 2014): every unit's incoming weight vector
    has Euclidean norm at most ``max_norm``.

    Not a penalty but a projection applied after each optimizer step: a row
    w_i of a weight matrix (out, in) — or a kernel's slice for one output
    channel — with ||w_i|| > c is rescaled to c * w_i / ||w_i||. Pass it to
    ``fit(..., constraint=MaxNorm(c))``.
    """

    def __init__(self, max_norm: float):
        self.max_norm = check_max_norm(max_norm)

    def project(self, w):
        w = np.asarray(w)
        norms = np.sqrt((w.reshape(len(w), -1) ** 2).sum(axis=1))
        scale = np.minimum(1.0, self.max_norm / np.maximum(norms, 1e-12))
        return w * scale.reshape((-1,) + (1,) * (w.ndim - 1))

    def __repr__(self):
        return f"MaxNorm(max_norm={self.max_norm})"
