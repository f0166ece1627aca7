"""Optimizers written by hand on tensors; ``torch.optim`` is their test oracle.

They subclass ``torch.optim.Optimizer``, so parameter groups, ``zero_grad``,
``state_dict`` and ``closure`` work as in torch, and a parameter whose ``.grad`` is
None is skipped, as torch does. What ``torch.optim``'s versions have and these do
not: ``maximize``, ``foreach``, ``fused``, ``differentiable``, ``capturable``;
tensor-valued ``lr``; a default ``lr`` for ``SGD`` (torch: 1e-3). Each class lists
its own differences; ``regcourse.numpy.optim`` lists those of the NumPy twins.
"""

from __future__ import annotations

import torch

from regcourse._checks import check_betas, non_negative


def _run_closure(closure):
    """The loss from ``closure`` (None without one), with autograd on, as torch.optim runs it.

    ``step`` runs under ``torch.no_grad()``; the closure recomputes the loss and calls
    ``backward``, which needs the graph, so it runs under ``torch.enable_grad()``.
    """
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


class SGD(torch.optim.Optimizer):
    """SGD with momentum and coupled weight decay, the update of ``torch.optim.SGD``:

        g <- g + weight_decay * w;  b <- g (first step) or momentum * b + g;  w <- w - lr * b

    (nesterov: w <- w - lr * (g + momentum * b)). Differences from ``torch.optim.SGD``:
    ``lr`` has no default, and there is no ``dampening`` (always 0).
    """

    def __init__(
        self,
        params,
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ):
        lr = non_negative("lr", lr)
        momentum = non_negative("momentum", momentum)
        weight_decay = non_negative("weight_decay", weight_decay)
        if nesterov and momentum == 0:
            raise ValueError("nesterov momentum needs momentum > 0")
        super().__init__(
            params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
        )

    @torch.no_grad()
    def step(self, closure=None):
        loss = _run_closure(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if group["weight_decay"]:
                    g = g + group["weight_decay"] * p
                if group["momentum"]:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = g.clone()
                    else:
                        state["momentum_buffer"].mul_(group["momentum"]).add_(g)
                    buf = state["momentum_buffer"]
                    g = g + group["momentum"] * buf if group["nesterov"] else buf
                p.sub_(group["lr"] * g)
        return loss


class Adam(torch.optim.Optimizer):
    """Adam with coupled L2 (g <- g + weight_decay * w), the update of ``torch.optim.Adam``.

    Adam and AdamW share this ``step``; the class attribute ``decoupled`` says
    where weight decay enters, and it is the ONLY difference between the two
    (as in ``regcourse.numpy.Adam``):

    - ``decoupled = False`` (Adam): coupled L2, g <- g + weight_decay * w;
    - ``decoupled = True`` (AdamW): the weights shrink directly,
      w <- w (1 - lr * weight_decay), and g is the plain loss gradient.

    Differences from ``torch.optim.Adam``: no ``amsgrad`` and no
    ``decoupled_weight_decay`` (use ``AdamW``); the per-parameter step counter is a
    Python int ``state[p]["step"]`` (torch: a tensor) and the moments are
    ``state[p]["m"]`` and ``["v"]`` (torch: ``"exp_avg"``, ``"exp_avg_sq"``), so the
    optimizer states cannot be loaded into each other. Unlike the NumPy ``Adam``,
    each parameter counts its own steps, as in torch.
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
        defaults = dict(
            lr=non_negative("lr", lr),
            betas=check_betas(betas),
            eps=non_negative("eps", eps),
            weight_decay=non_negative("weight_decay", weight_decay),
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = _run_closure(closure)
        for group in self.param_groups:
            b1, b2 = group["betas"]
            lr, wd = group["lr"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                state["step"] += 1
                t, m, v = state["step"], state["m"], state["v"]
                g = p.grad
                if self.decoupled:
                    p.mul_(1 - lr * wd)  # AdamW: shrink the weights, outside the adaptive step
                elif wd:
                    g = g + wd * p  # Adam: L2's gradient joins the loss gradient
                m.mul_(b1).add_((1 - b1) * g)
                v.mul_(b2).add_((1 - b2) * g * g)
                m_hat = m / (1 - b1**t)
                v_hat = v / (1 - b2**t)
                p.sub_(lr * m_hat / (v_hat.sqrt() + group["eps"]))
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW`` (Loshchilov & Hutter, 2019).

    The weights shrink directly, w <- w (1 - lr * weight_decay), and the Adam step
    uses the plain loss gradient: ``Adam.step`` with ``decoupled = True``.
    Default weight_decay 0.01, as torch's. The differences from
    ``torch.optim.AdamW`` are ``Adam``'s.
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


class ProximalSGD(torch.optim.Optimizer):
    """w <- prox_{lr * penalty}(w - lr * grad); the proximal step on weight matrices only."""

    def __init__(self, params, lr: float, penalty):
        if not hasattr(penalty, "prox"):
            raise ValueError(
                f"ProximalSGD needs a penalty with a prox(w, step) method, got {penalty!r}"
            )
        self.penalty = penalty
        super().__init__(params, dict(lr=non_negative("lr", lr)))

    @torch.no_grad()
    def step(self, closure=None):
        loss = _run_closure(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                p.sub_(group["lr"] * p.grad)
                if p.ndim >= 2:
                    p.copy_(self.penalty.prox(p, group["lr"]))
        return loss
