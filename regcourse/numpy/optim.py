"""Optimizers, step for step equal to ``torch.optim``'s (with the options they share).

What ``torch.optim`` has and these do not (each class lists its own):

- no parameter groups (combine optimizers with ``Optimizers`` instead), no
  ``state_dict()``/``load_state_dict()`` for the optimizer's own state, no
  ``closure`` argument to ``step``, no ``maximize``/``foreach``/``fused``;
- ``lr`` must be given to ``SGD`` (torch's default is 1e-3) and must be a number;
- every ``Parameter`` always has a gradient (zeros after ``zero_grad``), so every
  parameter takes every step; torch skips a parameter whose ``.grad`` is None
  (one no backward pass reached since ``zero_grad()``): with momentum, weight
  decay or Adam such a parameter moves here and stays put in torch;
- the same ``Parameter`` listed twice is refused (torch only warns).
"""

from __future__ import annotations

import numpy as np

from regcourse._checks import check_betas, non_negative
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
        if len({id(p) for p in self.params}) < len(self.params):
            raise ValueError(
                "optimizer got the same Parameter more than once, so it would step it twice; "
                "pass each parameter once (model.parameters() lists each once)"
            )

    def zero_grad(self):
        for p in self.params:
            p.zero_grad()

    def step(self):
        raise NotImplementedError


class Optimizers:
    """Several optimizers used as one (``zero_grad`` and ``step`` reach them all).

    The NumPy side has no parameter groups; to give one layer its own learning
    rate or its own proximal step, make an optimizer per group and combine them:
    ``Optimizers(ProximalSGD(first_layer_params, ...), SGD(other_params, ...))``.
    """

    def __init__(self, *optimizers):
        if not optimizers:
            raise ValueError("Optimizers needs at least one optimizer")
        self.optimizers = list(optimizers)

    def zero_grad(self):
        for optimizer in self.optimizers:
            optimizer.zero_grad()

    def step(self):
        for optimizer in self.optimizers:
            optimizer.step()


class SGD(Optimizer):
    """Stochastic gradient descent with momentum and (coupled) weight decay, as ``torch.optim.SGD``.

    For each parameter w with gradient g:

        g <- g + weight_decay * w                      (weight decay = L2 penalty lam/2 ||w||^2,
                                                        lam = weight_decay)
        b <- g  (first step),  b <- momentum * b + g   (later steps; dampening 0)
        w <- w - lr * b                                (nesterov: w <- w - lr * (g + momentum * b))

    Differences from ``torch.optim.SGD``: ``lr`` has no default; no ``dampening``
    (always 0: the momentum buffer adds the full gradient); no ``maximize``,
    ``foreach``, ``fused`` or ``differentiable``; the momentum buffers live in
    ``.buffers`` (a list), not in a per-parameter ``state`` dict.
    """

    def __init__(
        self,
        params,
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ):
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


class Adam(Optimizer):
    """Adam with *coupled* L2, as ``torch.optim.Adam(weight_decay=...)``.

    With g <- g + weight_decay * w (the L2 gradient goes through the adaptive scaling):

        m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
        w <- w - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

    Adam and AdamW share this ``step``; the class attribute ``decoupled`` says
    where weight decay enters, and it is the ONLY difference between the two:

    - ``decoupled = False`` (Adam): coupled L2, g <- g + weight_decay * w;
    - ``decoupled = True`` (AdamW): the weights shrink directly,
      w <- w (1 - lr * weight_decay), and g is the plain loss gradient.

    ``regcourse.torch.Adam``/``AdamW`` are built the same way.

    Differences from ``torch.optim.Adam``: ONE step counter ``t`` for all
    parameters (torch keeps one per parameter; they agree because here every
    parameter takes every step, see the module docstring); no ``amsgrad``, no
    ``maximize``, ``foreach``, ``capturable``, ``fused`` or
    ``decoupled_weight_decay`` (use ``AdamW``); the moments live in the lists
    ``.m`` and ``.v`` (torch: ``state[p]["exp_avg"]``, ``["exp_avg_sq"]``).
    """

    decoupled = False

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(params)
        self.lr = non_negative("lr", lr)
        self.betas = check_betas(betas)
        self.eps = non_negative("eps", eps)
        self.weight_decay = non_negative("weight_decay", weight_decay)
        self.t = 0
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        self.t += 1
        b1, b2 = self.betas
        lr, wd = self.lr, self.weight_decay
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad
            if self.decoupled:
                p.data *= 1 - lr * wd  # AdamW: shrink the weights, outside the adaptive step
            elif wd:
                g = g + wd * p.data  # Adam: L2's gradient joins the loss gradient
            m[...] = b1 * m + (1 - b1) * g
            v[...] = b2 * v + (1 - b2) * g * g
            m_hat = m / (1 - b1**self.t)
            v_hat = v / (1 - b2**self.t)
            p.data -= lr * m_hat / (np.sqrt(v_hat) + self.eps)


class AdamW(Adam):
    """Adam with *decoupled* weight decay, as ``torch.optim.AdamW`` (Loshchilov & Hutter, 2019).

    The weights shrink directly, w <- w (1 - lr * weight_decay), and the Adam step
    uses the plain loss gradient: ``Adam.step`` with ``decoupled = True``.
    Default weight_decay 0.01, as torch's. The differences from
    ``torch.optim.AdamW`` are ``Adam``'s (one step counter, no ``amsgrad``, ...).
    """

    decoupled = True

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ):
        super().__init__(params, lr, betas, eps, weight_decay)


class ProximalSGD(Optimizer):
    """Proximal gradient descent: a plain SGD step on the loss, then the penalty's proximal step.

        w <- prox_{lr * penalty}(w - lr * grad)

    With ``L1`` this is soft-thresholding (ISTA), which puts weights at exactly
    zero. The proximal step is applied to weight matrices (2 or more dimensions)
    only; biases take the plain SGD step. Do not pass the penalty to ``fit`` as well.
    ``torch.optim`` has no counterpart; ``regcourse.torch.ProximalSGD`` is the twin.
    """

    def __init__(self, params, lr: float, penalty):
        super().__init__(params)
        self.lr = non_negative("lr", lr)
        if not hasattr(penalty, "prox"):
            raise ValueError(
                f"ProximalSGD needs a penalty with a prox(w, step) method, got {penalty!r}"
            )
        self.penalty = penalty

    def step(self):
        for p in self.params:
            p.data -= self.lr * p.grad
            if p.data.ndim >= 2:
                p.data[...] = self.penalty.prox(p.data, self.lr)
