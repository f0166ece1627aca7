"""Optimizers, step for step equal to ``torch.optim``'s."""

from __future__ import annotations

import numpy as np

from regcourse._checks import non_negative
from regcourse.numpy.core import Parameter


class Optimizer:
    """Holds a list of parameters; ``zero_grad()`` clears their gradients."""

    def __init__(self, params):
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        for p in self.params:
            if not isinstance(p, Parameter):
                raise ValueError(f"optimizer expects Parameter objects, got {type(p).__name__}")

    def zero_grad(self):
        for p in self.params:
            p.zero_grad()

    def step(self):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with momentum and (coupled) weight decay, as ``torch.optim.SGD``.

    For each parameter w with gradient g:

        g <- g + weight_decay * w                      (weight decay = L2 penalty lam/2 ||w||^2, lam = weight_decay)
        b <- g  (first step),  b <- momentum * b + g   (later steps; dampening 0)
        w <- w - lr * b                                (nesterov: w <- w - lr * (g + momentum * b))
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(params)
        self.lr = non_negative("lr", lr)
        self.momentum = non_negative("momentum", momentum)
        self.weight_decay = non_negative("weight_decay", weight_decay)
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov momentum needs momentum > 0")
        self.nesterov = nesterov
        self.buffers = [None] * len(self.params)

    def step(self):
        for i, p in enumerate(self.params):
            g = p.grad
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.momentum:
                if self.buffers[i] is None:
                    self.buffers[i] = np.array(g, copy=True)
                else:
                    self.buffers[i] = self.momentum * self.buffers[i] + g
                g = g + self.momentum * self.buffers[i] if self.nesterov else self.buffers[i]
            p.data -= self.lr * g
