"""Optimizers written by hand on tensors; ``torch.optim`` is their test oracle."""

from __future__ import annotations

import torch

from regcourse._checks import non_negative


class SGD(torch.optim.Optimizer):
    """SGD with momentum and coupled weight decay, the update of ``torch.optim.SGD``:

        g <- g + weight_decay * w;  b <- g (first step) or momentum * b + g;  w <- w - lr * b
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False):
        lr = non_negative("lr", lr)
        momentum = non_negative("momentum", momentum)
        weight_decay = non_negative("weight_decay", weight_decay)
        if nesterov and momentum == 0:
            raise ValueError("nesterov momentum needs momentum > 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                      nesterov=nesterov))

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
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


def _check_betas(betas):
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"betas[{i}] must lie in [0, 1), got {beta!r}")
    return tuple(float(b) for b in betas)


class Adam(torch.optim.Optimizer):
    """Adam with coupled L2 (g <- g + weight_decay * w), the update of ``torch.optim.Adam``."""

    decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        defaults = dict(
            lr=non_negative("lr", lr), betas=_check_betas(betas), eps=non_negative("eps", eps),
            weight_decay=non_negative("weight_decay", weight_decay),
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
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
                    p.mul_(1 - lr * wd)
                elif wd:
                    g = g + wd * p
                m.mul_(b1).add_((1 - b1) * g)
                v.mul_(b2).add_((1 - b2) * g * g)
                m_hat = m / (1 - b1**t)
                v_hat = v / (1 - b2**t)
                p.sub_(lr * m_hat / (v_hat.sqrt() + group["eps"]))
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (w <- w (1 - lr * weight_decay)),
    as ``torch.optim.AdamW``."""

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2):
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
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                p.sub_(group["lr"] * p.grad)
                if p.ndim >= 2:
                    p.copy_(self.penalty.prox(p, group["lr"]))
        return loss
